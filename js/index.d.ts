// Types of the learner-sync JS API (every runtime entry exports the same API).

/** A learning platform. */
export type Platform = 'foundry' | 'learnifier' | 'scim';

/** A learner field the planner compares and writes. */
export type Field = 'ssoId' | 'employeeId' | 'studentId' | 'email' | 'firstName' | 'lastName';

/** A field that can be a matching key. */
export type MatchKey = 'ssoId' | 'employeeId' | 'studentId' | 'email';

/**
 * What happens to a platform user no learner matches: `review` (listed, nothing sent; the
 * default), `deactivate` (on Learnifier: lock with hardLock), or `delete` (Learnifier and SCIM).
 */
export type OrphanPolicy = 'review' | 'deactivate' | 'delete';

/** How the `active` field is read from a source column. */
export interface ActiveColumnRule {
  column: string;
  /** Values (trimmed, without case) that mean active. */
  activeValues?: string[];
  /**
   * Values that mean inactive. With both lists, any other value makes the row invalid; with
   * only `activeValues`, any other non-empty value means inactive.
   */
  inactiveValues?: string[];
}

/**
 * Source column for each field. Unmapped fields use their own names (matched without case).
 * Example: `{ssoId: "Employee SSO", active: {column: "Status", activeValues: ["Active"]}}`.
 */
export type Mapping = Partial<Record<Field, string>> & { active?: string | ActiveColumnRule };

/** Options for a plan. */
export interface PlanOptions {
  platform: Platform;
  /**
   * Matching keys, most trusted first (default `["ssoId"]`). A learner found only by a later
   * key (e.g. `email` on a first sync) gives a `link` that writes the first key onto the user.
   */
  match?: MatchKey[];
  /**
   * First sync (default `true`): a learner that matches nobody by `match` is linked to a
   * platform user with no primary key and the same email, as if `email` were the last key.
   * `false` turns it off: such a learner is then a `keyTaken` conflict naming both, never a
   * create the platform would refuse.
   */
  linkByEmail?: boolean;
  orphans?: OrphanPolicy;
  mapping?: Mapping;
  /** Further role or rule-set names that mark a platform user as an administrator. */
  adminRoles?: string[];
  /** Keys or platform IDs that orphan handling must never touch. */
  protect?: string[];
  /** SCIM: where the matching key travels (default `externalId`) and what `userName` holds (default the email). */
  scim?: { key?: 'externalId' | 'userName'; userName?: 'email' | 'key' };
  guards?: Guards;
}

/** The safety guards (on by default). */
export interface Guards {
  /** Hold a plan that deactivates or deletes more than this % of managed users (default 5)… */
  maxDeactivatePercent?: number;
  /** …or more than this many, whichever is larger (default 50). */
  maxDeactivateCount?: number;
  /** The held fingerprint of a plan an administrator approved (`plan.held.fingerprint`). */
  approve?: string;
  /** Learners the last good run read: a source far smaller withholds every deactivation. */
  expectedLearners?: number;
  /** How much smaller counts as far smaller (default 0.1: 10%). */
  sourceTolerance?: number;
  /** The host knows a source page failed to load: withhold every deactivation. */
  sourceIncomplete?: boolean;
}

/** A page: text, bytes, or (for JSON pages) a value to serialise. */
export type Page = string | Uint8Array | ArrayBuffer | ArrayBufferView | unknown[] | Record<string, unknown>;

export type SourceFormat = 'auto' | 'csv' | 'json';
export type TargetFormat = 'auto' | 'foundry' | 'learnifier' | 'scim' | 'normalised';

export interface PageOptions<F> {
  /** Default `auto`: JSON for `[`/`{`, CSV otherwise (source); the platform's list format (target). */
  format?: F;
  /** The name the page goes by in the plan and in errors (e.g. the file name). A `format` or `label` that is not a string is INVALID_INPUT. */
  label?: string;
  /**
   * Source pages only: the CSV delimiter, `","`, `";"` or `"tab"` (also `"comma"`,
   * `"semicolon"`, `"\t"`). Default: read from the header row, outside quotes; a header with
   * two of them is MALFORMED_SOURCE (ambiguous). Anything else is INVALID_OPTIONS.
   */
  delimiter?: string;
  /**
   * Source pages only: the text encoding when the page has no byte-order mark (a BOM says
   * UTF-8, UTF-16LE or UTF-16BE and wins): `"utf-8"` (the default), `"windows-1252"` (also
   * `"latin1"`, `"iso-8859-1"`, `"cp1252"`: the WHATWG labels of it), `"utf-16le"` or
   * `"utf-16be"`. Bytes that are not UTF-8 without it are MALFORMED_SOURCE naming the row and
   * column; any other label is INVALID_OPTIONS (save the export as UTF-8).
   */
  encoding?: string;
}

/** What one page held. */
export interface PageStats {
  label: string;
  /** Records read (for a source page, usable learners). */
  records: number;
  /** Source rows that cannot be used; each is an `invalid` action in the plan. */
  invalid: number;
  /** Whether the platform says more pages follow (absent where the body does not say). */
  hasMore?: boolean;
}

export interface Change<T> {
  from: T | null;
  to: T | null;
}

/** Fields written by an action: every change, and only those. */
export type Changes = Partial<Record<Field, Change<string>>> & { active?: Change<boolean> };

/** Field values of a user. */
export type Values = Partial<Record<Field, string>> & { active?: boolean };

export interface RowRef {
  source: string;
  row: number;
}

export type ActionKind =
  | 'invalid'
  | 'conflict'
  | 'create'
  | 'link'
  | 'update'
  | 'reactivate'
  | 'deactivate'
  | 'delete'
  | 'review';

export type ConflictKind =
  | 'duplicateLearnerKey'
  | 'duplicatePlatformKey'
  | 'multipleMatches'
  | 'sharedUser'
  | 'keyMismatch'
  /** An active learner matches nobody, but a listed user holds one of its keys or its email. */
  | 'keyTaken'
  /** Users share a key value that decided nothing: reported beside, each planned on its own. */
  | 'sharedPlatformKey'
  /** The platform listed one user ID twice with different content: nothing is done to it. */
  | 'listedTwice';

interface ActionBase {
  /** The primary matching key's value (the learner's, or the orphan's). */
  key?: string;
  /** The source page the learner came from, and its row (CSV: spreadsheet row, header = 1). */
  source?: string;
  row?: number;
}

/** An active learner with no platform user. */
export interface CreateAction extends ActionBase {
  action: 'create';
  fields: Values;
}

/** A matched pair whose fields differ. */
export interface UpdateAction extends ActionBase {
  action: 'update';
  platformId: string;
  changes: Changes;
  /** The platform user's values before the write (who this is about). */
  user?: Values;
}

/** An active learner whose user is inactive (changes include `active`). */
export interface ReactivateAction extends ActionBase {
  action: 'reactivate';
  platformId: string;
  changes: Changes;
  /** The platform user's values before the write (who this is about). */
  user?: Values;
}

/** A learner found only by a later key: writes the primary key (and changes) onto the user. */
export interface LinkAction extends ActionBase {
  action: 'link';
  platformId: string;
  matchedBy: MatchKey;
  changes: Changes;
  /** The platform user's values before the write (who this is about). */
  user?: Values;
}

/** A leaver, or an orphan under the deactivate policy (`orphan: true`). */
export interface DeactivateAction extends ActionBase {
  action: 'deactivate';
  platformId: string;
  changes: { active: Change<boolean> };
  orphan?: true;
  matchedBy?: MatchKey;
  user?: Values;
  /** Withheld by the source-completeness guard (`plan.withheld` says why): not sent. */
  withheld?: true;
}

/** An orphan under the delete policy. */
export interface DeleteAction extends ActionBase {
  action: 'delete';
  platformId: string;
  orphan: true;
  user: Values;
  /** Withheld by the source-completeness guard (`plan.withheld` says why): not sent. */
  withheld?: true;
}

/**
 * Listed for an administrator; nothing is sent. An orphan under the review policy
 * (`orphan: true`, with `user`); a leaver matched to an administrator, or a learner matched to
 * a user made by hand (the learner's `row`, and the reason says what was not sent); or a user no
 * learner was matched to that shares a key value (`field`, `value`) with a learner decided
 * otherwise (`user`).
 */
export interface ReviewAction extends ActionBase {
  action: 'review';
  platformId: string;
  orphan?: true;
  user?: Values;
  matchedBy?: MatchKey;
  field?: string;
  value?: string;
  reason: string;
}

/**
 * Records whose keys collide; nothing is done to any of them (but `sharedPlatformKey`, a note
 * whose users are planned on their own, and the holder named by `keyTaken`).
 */
export interface ConflictAction extends ActionBase {
  action: 'conflict';
  conflict: ConflictKind;
  field?: string;
  value?: string;
  rows?: RowRef[];
  platformIds?: string[];
  reason: string;
}

/** A source row that cannot be used. */
export interface InvalidAction extends ActionBase {
  action: 'invalid';
  source: string;
  row: number;
  field: string;
  value?: string;
  reason: string;
}

export type Action =
  | CreateAction
  | UpdateAction
  | ReactivateAction
  | LinkAction
  | DeactivateAction
  | DeleteAction
  | ReviewAction
  | ConflictAction
  | InvalidAction;

export interface Summary {
  create: number;
  update: number;
  deactivate: number;
  reactivate: number;
  link: number;
  review: number;
  delete: number;
  conflict: number;
  invalid: number;
  /** Matched pairs with nothing to change. */
  unchanged: number;
  /** Left alone for another reason (inactive with no user, inactive orphans, users of invalid rows). */
  untouched: number;
  /** Orphans orphan handling may not touch (administrators, unmanaged users, the protect list). */
  protected: number;
  learners: number;
  platformUsers: number;
  /** Deactivations and deletions withheld by the source-completeness guard. */
  withheld: number;
}

/** What a sync must do, and only that. Deterministic: the same inputs give the same JSON. */
export interface Plan {
  /** Sorted by key, platform ID, source row. */
  actions: Action[];
  summary: Summary;
  options: PlanOptions;
  /** A hash of the platform state the plan saw (16 hex digits), independent of page order. */
  fingerprint: string;
  /** The plan format version. */
  format: number;
  /** The mass-change guard holds the plan: nothing is applied without `guards.approve` naming `fingerprint`. */
  held?: Held;
  /** The source-completeness guard withheld deactivations. */
  withheld?: Withheld;
}

export interface Held {
  reason: string;
  /** Deactivations and deletions planned, and the most the guard allows. */
  deactivations: number;
  limit: number;
  /** Managed platform users (administrators and unmanaged users left out). */
  managedUsers: number;
  /** Pass as `guards.approve` (CLI: `--approve`) to apply this plan. */
  fingerprint: string;
}

export interface Withheld {
  reason: string;
  count: number;
}

/** Stable error codes. */
export type ErrorCode =
  /** Options that are not an object, cannot become JSON, or name what does not exist. */
  | 'INVALID_OPTIONS'
  /** Input that cannot be used: a page that is not text or bytes, a page spec whose `label` or `format` is not a string, pages not in an array, a step answer to a request not in flight or with a status outside 100-599. */
  | 'INVALID_INPUT'
  | 'MALFORMED_PAGE'
  | 'MALFORMED_SOURCE'
  | 'MISSING_COLUMN'
  | 'TOO_LARGE'
  | 'AUTH_FAILED'
  /**
   * A checkpoint (or step state) that cannot be read or resumed as it is: damaged, or edited so
   * that it would wedge or mislead the run (a rate limit of 0, an HTTP status outside 100-599,
   * write counts or waits that disagree with the actions, a request queued twice or for an
   * action the run does not send, a retry dated past its 429 pause and more than a day past the
   * host's clock).
   */
  | 'INVALID_CHECKPOINT'
  /** A checkpoint made for another run (other plan options, base URL, mode or paging); a base URL the host did not name. */
  | 'CHECKPOINT_MISMATCH'
  /**
   * A plan given to apply (`host.plan`, `sync --plan FILE`) asks for what the planner never
   * plans: its held fingerprint is not the one its own actions give (it was edited), or it
   * deactivates or deletes an administrator, an unmanaged or a protected user as an orphan, or
   * orphans against its own policy. Nothing of it is sent. Also a sync report's `error.code`
   * when the platform's listing shows it (an administrator the plan would deactivate).
   */
  | 'PLAN_REFUSED'
  /** A `Planner` used, or freed again, after `free()`. */
  | 'INVALID_STATE'
  /** A bug inside the engine (a wasm trap). */
  | 'INTERNAL';

/** An error from learner-sync. Branch on `code`, not on the message. */
export class LearnerSyncError extends Error {
  readonly name: 'LearnerSyncError';
  readonly code: ErrorCode;
  /** The page the error is about. */
  readonly label?: string;
  /** For MISSING_COLUMN: the field and the column expected. */
  readonly field?: string;
  readonly column?: string;
}

/** Collects pages of the system of record and of the platform, then plans. */
export class Planner {
  /** @throws LearnerSyncError INVALID_OPTIONS */
  constructor(options: PlanOptions);
  /**
   * Adds a page of the system of record (CSV with a header row, or a JSON array of objects).
   * Bad rows become `invalid` actions; a page that cannot be read at all throws and leaves the
   * planner as it was.
   * @throws LearnerSyncError MALFORMED_SOURCE, MISSING_COLUMN
   */
  addSource(page: Page, options?: PageOptions<SourceFormat>): PageStats;
  /**
   * Adds a page of platform users: the raw body of a list call (Foundry JSON:API page,
   * Learnifier array, SCIM ListResponse) or a normalised JSON array.
   * @throws LearnerSyncError MALFORMED_PAGE
   */
  addTarget(page: Page, options?: PageOptions<TargetFormat>): PageStats;
  /** The plan as JSON text. */
  finishJson(): string;
  /** The plan as an object. */
  finish(): Plan;
  /** Frees the planner's wasm memory now. Any use after it, a second `free()` included, throws INVALID_STATE. */
  free(): void;
}

/** A page with its options, for `plan()`. */
export interface PageSpec<F> extends PageOptions<F> {
  page: Page;
}

/** Plans in one call. */
export function plan(
  options: PlanOptions,
  pages: { sources?: Array<Page | PageSpec<SourceFormat>>; targets?: Array<Page | PageSpec<TargetFormat>> },
): Plan;

/**
 * The plan as CSV text for a spreadsheet (for example a "download as CSV" button): a header
 * row, then one row per action in plan order. RFC 4180 (comma, `"` quoting, CRLF line ends),
 * no byte-order mark, and the same plan always gives the same text.
 *
 * Columns: `action, key, platformId, email, firstName, lastName, ssoId, employeeId,
 * studentId, active, changes, reason, orphan, withheld, matchedBy, conflict, field, value,
 * source, row, rows, platformIds, held` (`held`: `yes` on every write of a held plan).
 * - `email` … `active`: the user's values after the action, as far as the plan knows them (a
 *   create's fields, an orphan's values on the platform, each changed field's new value).
 * - `changes`: every field written, old to new, e.g. `lastName: Smith → Smith-Evans; active:
 *   true → false` (`(none)` for no value; an ambiguous value is written as a JSON string).
 * - `orphan`, `withheld`: `yes` or empty. `rows`: a conflict's learners, `hr.csv:3, hr.csv:9`.
 *
 * Source data is untrusted: a cell a spreadsheet could run as a formula (starting with `=`,
 * `+`, `-`, `@`, a tab or a line break) gets a leading `'`, except plain numbers such as `-5`.
 * So the CSV is for reading; the JSON plan is the exact record. Excel guesses UTF-8 only with a
 * byte-order mark: `new Blob(['\ufeff', planToCsv(plan)], { type: 'text/csv' })`.
 * @throws LearnerSyncError INVALID_INPUT when `plan` is not a plan (or its JSON text)
 */
export function planToCsv(plan: Plan | string): string;

/**
 * A sync report's outcomes as CSV text, one row per planned action, in the same format as
 * {@link planToCsv}. Columns: `action, key, platformId, state, status, error, reason,
 * attempts, source, row`. The run's figures (counts, requests, created IDs) stay in the report.
 * @throws LearnerSyncError INVALID_INPUT when `report` is not a report (or its JSON text)
 */
export function reportToCsv(report: SyncReport | string): string;

/** Platform credentials. Missing ones are read from FOUNDRY_CLIENT_ID / FOUNDRY_CLIENT_SECRET,
 * LEARNIFIER_KEY / LEARNIFIER_SECRET or SCIM_TOKEN. They never appear in reports or errors. */
export interface Credentials {
  clientId?: string;
  clientSecret?: string;
  key?: string;
  secret?: string;
  token?: string;
}

/** A request budget: at most `limit` requests in any `windowMs`, of which this client uses `share`. */
/**
 * The platform's request budget: requests are spread at `limit` per `windowMs` (times `share`),
 * a few back to back at most (about `concurrency`). The rate adapts: a run of 429s lowers it
 * once, to the budget it measures (what was accepted in the window), a 429's `Retry-After`
 * teaches the platform's window, it grows back about every second, and `RateLimit-*` /
 * `X-RateLimit-*` headers, when the platform sends them, set it. It never exceeds the
 * configured budget.
 */
export interface RateConfig {
  /** Requests allowed per window, for the whole organisation. */
  limit: number;
  windowMs: number;
  /** In (0, 1]; default 1. Leave room for other clients of the same organisation. */
  share?: number;
}

/** How failed requests are retried; a setting left out takes its default. */
export interface RetryConfig {
  /** Attempts per request on 5xx and network failures, the first included (default 6). */
  maxAttempts?: number;
  /** 429 answers tolerated for one request (default 20). */
  maxRateLimited?: number;
  /** Backoff base and cap in ms (default 1000 and 60000); jittered. */
  baseMs?: number;
  maxMs?: number;
  /**
   * The longest pause a 429's `Retry-After` may impose within one invocation, in ms (default
   * 900000, 15 minutes). A longer one ends the invocation suspended, with `error.code`
   * RATE_LIMITED and a `checkpoint` that resumes once the pause is over.
   */
  maxWaitMs?: number;
}

/** Settings of a sync run, beside the plan options. */
export interface SyncOptions extends PlanOptions {
  /**
   * The API root: https, or plain http on loopback only (`127.x.y.z` as four decimal numbers,
   * `localhost`, `[::1]`). Plain ASCII, no user information, query or fragment, written as the
   * WHATWG URL parser reads it; anything else is INVALID_OPTIONS with nothing sent.
   */
  baseUrl: string;
  /** `full` (default): list the platform, plan, apply. `delta`: apply changed rows by their `platformId`. */
  mode?: 'full' | 'delta';
  credentials?: Credentials;
  /**
   * Default: Foundry 200 per 60 s; none known for Learnifier and SCIM. Also as text, as in the
   * config file: `"200/60s"` (requests/window, the window in ms, s or m; share 1).
   */
  rate?: RateConfig | string;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  retry?: RetryConfig;
  /** Users per list page (default: the platform's maximum). */
  pageSize?: number;
  /** Read the platform and plan; send no write. The plan is in `report.planned`. */
  dryRun?: boolean;
  /** Seeds the retry jitter. */
  seed?: number;
  /** Foundry: the learner rule set and role new users get (default cc_learner / default). */
  foundry?: { ruleSet: string; role: string };
  /** Learnifier: let an update take an email another user holds, clearing it there. */
  autoClearEmail?: boolean;
  /**
   * Stop this invocation when it is spent (a Worker's subrequest and time limits): no request
   * is sent past `requests`, and no wait begun that would end past `ms`. The report then has
   * `suspended: true` and a `checkpoint` to resume from.
   */
  budget?: { requests?: number; ms?: number };
  /**
   * With `host.saveCheckpoint`: writes claimed per saved checkpoint (default 25). A run killed
   * before its next checkpoint looks its claimed creates up instead of sending them again.
   */
  claimBatch?: number;
  /** The host signs every request itself (a low-code platform's connection): no credentials needed. */
  hostAuth?: boolean;
}

export type Phase = 'reading' | 'listing' | 'applying' | 'done';

export type SyncEvent =
  | { type: 'phase'; phase: Phase }
  /** While listing, `done` counts users read and `total` is absent. */
  | { type: 'progress'; phase: Phase; done: number; total?: number };

/** What happened to one planned action. */
export interface Outcome {
  action: ActionKind;
  key?: string;
  /** The user acted on; for a create, the new user's ID. */
  platformId?: string;
  source?: string;
  row?: number;
  /** For `invalid` and `conflict`: the field at fault, as in the plan. */
  field?: string;
  /** For `invalid` and `conflict`: the value at fault, as in the plan. */
  value?: string;
  state: 'done' | 'failed' | 'skipped';
  status?: number;
  /** The platform's error, for failures. */
  error?: string;
  /** Why it was skipped, or how it was settled. */
  reason?: string;
  attempts: number;
}

/**
 * Why a run stopped (in `SyncReport.error`; the run's actions not sent fail "not sent"):
 * - `AUTH_FAILED`: the platform refused the credentials, or every token it issued;
 * - `PLATFORM_UNAVAILABLE`: no access token after every retry (5xx, network);
 * - `PLATFORM_UNREACHABLE`: before the platform answered anything, its host could not be
 *   reached (the name does not resolve, the connection was refused, TLS failed): stopped at
 *   once, the message naming the host and why (a timeout is retried: the answer may have
 *   been lost; the message names the host when retries run out);
 * - `RATE_LIMITED`: the token endpoint answered 429 more than `retry.maxRateLimited` times;
 *   or, with `suspended`, a `Retry-After` longer than `retry.maxWaitMs`: resume from
 *   `checkpoint` once the pause the message names is over;
 * - `LISTING_FAILED`: the platform's users could not all be read;
 * - `PAGING_LOOP`: the listing does not end (a page seen before, an empty page that says more
 *   follow, more pages than the platform's total allows); nothing was written;
 * - `RESPONSE_TOO_LARGE`: an answer longer than 256 MiB (read no further); a write that met it
 *   failed, whether it took effect unknown;
 * - `REDIRECTED`: the platform answered a 3xx, never followed: check `baseUrl` (the message
 *   names the status and the target's host only);
 * - `PLAN_REFUSED`: a plan given to apply would deactivate or delete an administrator or
 *   unmanaged user the listing shows: nothing was sent;
 * - `INVALID_INPUT`: a resumed listing finished with no source pages given again;
 * - `BUDGET_FAILED` (with `suspended`): the host's `sharedBudget` threw or answered nonsense
 *   (the message says which): nothing more was sent, the answers in flight were awaited;
 *   resume from `checkpoint` once the budget can be consulted.
 */
export type RunErrorCode =
  | 'AUTH_FAILED'
  | 'PLATFORM_UNAVAILABLE'
  | 'PLATFORM_UNREACHABLE'
  | 'RATE_LIMITED'
  | 'LISTING_FAILED'
  | 'PAGING_LOOP'
  | 'RESPONSE_TOO_LARGE'
  | 'REDIRECTED'
  | 'PLAN_REFUSED'
  | 'INVALID_INPUT'
  | 'BUDGET_FAILED';

export interface SyncReport {
  mode: 'full' | 'delta';
  dryRun: boolean;
  finished: boolean;
  /**
   * A failure that stopped the run, or (with `suspended`) why this invocation stopped early.
   * See {@link RunErrorCode}.
   */
  error?: { code: RunErrorCode; message: string };
  /** The mass-change guard held the plan: no write was sent. */
  held?: Held;
  /** The source-completeness guard withheld deactivations. */
  withheld?: Withheld;
  counts: { done: number; failed: number; skipped: number };
  /** The plan's counts. */
  plan?: Summary;
  fingerprint?: string;
  requests: number;
  retries: number;
  rateLimited: number;
  pagesRead: number;
  elapsedMs: number;
  /** Users created, so the host can store their platform IDs. */
  created: Array<{ key?: string; platformId: string; source?: string; row?: number }>;
  /** One per planned action, in plan order. */
  outcomes: Outcome[];
  /** With `dryRun`: the plan. */
  planned?: Plan;
  /**
   * The invocation stopped before the run finished: at its `budget`, or (with `error.code`
   * RATE_LIMITED) at a pause longer than `retry.maxWaitMs`. Resume from `checkpoint`.
   */
  suspended?: boolean;
  /** Suspended because `host.signal` was aborted (Ctrl-C in the CLI): resume from `checkpoint`. */
  interrupted?: boolean;
  /** Suspended by a pause longer than `retry.maxWaitMs`: when it ends (epoch ms). Resuming earlier suspends again with nothing sent. */
  resumeAt?: number;
  /** Invocations the run has taken so far. */
  invocations: number;
  /** When suspended: the checkpoint (JSON text, no credentials) to pass back as `host.checkpoint`. */
  checkpoint?: string;
}

/**
 * What the engine passes to the host's `fetch`: a `RequestInit` that globalThis.fetch accepts
 * under the DOM lib and @types/node alike (header pairs, and a body on an `ArrayBuffer` of its
 * own, never a shared one). Needs TypeScript 5.7 or later (`Uint8Array<ArrayBuffer>`).
 */
export interface FetchInit {
  method: string;
  /** `[name, value]` pairs, lower-case names; `authorization` is a credential (never log it). */
  headers: [string, string][];
  body?: Uint8Array<ArrayBuffer>;
  redirect: 'manual';
  signal: AbortSignal;
}

/** A Response-like value: what `fetch` resolves to. */
export interface FetchResponse {
  status: number;
  /** `'opaqueredirect'` for a redirect a browser would not show. */
  type?: string;
  headers: { forEach(cb: (value: string, name: string) => void): void };
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** An access token kept by the host, outside any state or checkpoint text. */
export interface CachedToken {
  /** The token itself: a credential (never log it). */
  value: string;
  /** When it expires, in ms since the Unix epoch (the host's clock). */
  expiresAt: number;
}

/**
 * Where a host that runs a sync across invocations (`stepSync`, a resumed `sync`, a Worker)
 * keeps the access token (Foundry), so that each invocation does not fetch one: the state and
 * checkpoints never hold it. `get` gives the token kept (or undefined); the engine checks it as
 * any token (an expired one is not used, one the platform refuses with a 401 is dropped and a
 * new one fetched) and calls `set` with each token it fetches. An entry of another shape is
 * not used. Store it as you store the credentials (a secret store, KV under its own key).
 */
export interface TokenCache {
  get(): CachedToken | undefined | null | Promise<CachedToken | undefined | null>;
  set(token: CachedToken): void | Promise<void>;
}

/** What a sync asks its `SharedBudget` for, with what happened since it last asked. */
export interface BudgetAsk {
  /** Requests it would send now: from 1 to its free concurrency. */
  want: number;
  /** Its requests answered (or failed with no answer) since it last asked. */
  answered: number;
  /** Of those, how many the platform refused with 429: slow every sync of the organisation. */
  rateLimited: number;
  /** The longest `Retry-After` of those 429s, in ms, when one said it. */
  retryAfterMs?: number;
}

/** The shared budget's answer: how many may go now, or when to ask again. */
export interface BudgetGrant {
  /** A whole number from 0 to `want`: that many requests go now, each counted by you against the budget. */
  granted: number;
  /** With `granted` 0: when to ask again, in ms from now (waits are capped at a minute, then it asks again). */
  retryAfterMs?: number;
}

/**
 * The organisation's rate budget shared by several syncs (two scheduled jobs, a manual run
 * beside the nightly one): before the engine's requests go, the sync asks `acquire` and sends
 * at most what it grants, telling it each answer and 429 as it asks again; `release` is told
 * when the sync ends, with the grants it did not use. Your hook keeps one ledger for every
 * sync of the organisation (`SharedBudgetLedger` does the counting: never past the limit
 * together, a fair share each, a 429 any sync meets pausing all) wherever they can all reach it:
 * a lock and a file, a Durable Object (the example Worker), a row in a database.
 *
 * A hook that throws or rejects, or answers anything but a whole `granted` from 0 to `want`
 * (with a number `retryAfterMs` when 0), stops the invocation: nothing more is sent, the answers
 * in flight are awaited, and the report is `suspended` with `error.code` `BUDGET_FAILED` (the
 * message, without any credential, says what the hook did) and a `checkpoint`: nothing is lost,
 * and no request ever goes without a grant. A `release` that fails is ignored (the grants it
 * would hand back count until they expire: the others send less, never more). May be async.
 */
export interface SharedBudget {
  acquire(ask: BudgetAsk): BudgetGrant | Promise<BudgetGrant>;
  release?(last: { unused: number; answered: number; rateLimited: number; retryAfterMs?: number }): void | Promise<void>;
}

/** A ledger of grants, as `SharedBudgetLedger` reads and changes it (store it as `JSON.stringify(ledger)`). */
export type BudgetLedger = { learnerSyncBudget: number } & Record<string, unknown>;

/**
 * The counting behind a `SharedBudget`, for hosts that keep the ledger themselves. Each call
 * takes the ledger's clock (`now`, ms; the same clock for every sync of the ledger) and the
 * budget the syncs are configured with (`rate`, e.g. Foundry's `{limit: 200, windowMs: 60000}`).
 */
export const SharedBudgetLedger: {
  /** Ledger format this version writes; a newer one is refused. */
  readonly format: number;
  /**
   * Reads a stored ledger (JSON text, or undefined for none). Text that cannot be used gives a
   * fresh ledger that grants nothing for a window and a second, with `lost` saying why; a
   * ledger of a newer format throws (never overwrite it). Times past `now` plus what a grant
   * may count (a clock that went back) are brought back within it.
   */
  read(text: string | undefined | null, now: number, rate: { limit: number; windowMs: number }): { ledger: BudgetLedger; lost: string | null };
  /** Sync `who` (an id of letters, digits, `-` and `_`) asks, as `SharedBudget.acquire`. Changes the ledger. */
  acquire(ledger: BudgetLedger, who: string, ask: BudgetAsk, now: number, rate: { limit: number; windowMs: number }): BudgetGrant;
  /** Sync `who` ends, as `SharedBudget.release`. Changes the ledger. */
  release(ledger: BudgetLedger, who: string, last: { unused: number; answered: number; rateLimited: number; retryAfterMs?: number }, now: number): void;
};

export interface SyncHost {
  /** The system of record's pages (CSV or JSON), or `{page, format, label}`. */
  sources?: Array<Page | PageSpec<SourceFormat>>;
  /**
   * Default globalThis.fetch. Called with `redirect: 'manual'`: a 3xx comes back as it is (an
   * opaque redirect in browsers) and stops the run with REDIRECTED; a fetch of your own must not
   * follow redirects either.
   */
  fetch?: (url: string, init: FetchInit) => Promise<FetchResponse>;
  /** Milliseconds since the Unix epoch (an HTTP-date `Retry-After` is read against it when the answer sends no believable `Date`); default Date.now. */
  now?: () => number;
  /** Never asked for more than `retry.maxWaitMs` by the engine; the default sleeps in steps a timer takes (2^31-1 ms). */
  sleep?: (ms: number) => Promise<void>;
  onEvent?: (event: SyncEvent) => void;
  /** Per-request timeout in ms (default 30000). */
  timeoutMs?: number;
  /**
   * Aborting it interrupts the run: no new request is sent, the answers in flight are awaited,
   * and the report comes back `suspended` and `interrupted` with a `checkpoint` (also given to
   * `saveCheckpoint`) that `checkpoint` resumes from. Not an AbortSignal: INVALID_OPTIONS.
   */
  signal?: AbortSignal;
  /** Where missing credentials are read from (default process.env where there is one). */
  env?: Record<string, string | undefined>;
  /**
   * A plan made earlier (object or JSON) to apply, each action checked against the platform
   * first. The plan is untrusted: the guards are recomputed from its actions with the
   * options' `guards` (never the plan's own `held`, `withheld`, `summary` or guard settings),
   * the options' `protect` and `adminRoles` are added to its own, and a plan that contradicts
   * itself or would touch an administrator or unmanaged user as an orphan is refused
   * (`PLAN_REFUSED`, nothing sent).
   */
  plan?: Plan | string;
  /**
   * Carry on from this checkpoint (a suspended report's `checkpoint`). The options must be the
   * ones the run started with (else CHECKPOINT_MISMATCH), `baseUrl` included: it is never taken
   * from the checkpoint (INVALID_OPTIONS without it), nor are `hostAuth` and the credentials.
   * Give the sources again: a run stopped while listing reads them when it plans. A checkpoint
   * whose counters, queues or rate bucket could wedge or mislead the run is INVALID_CHECKPOINT.
   */
  checkpoint?: string | Uint8Array;
  /**
   * Saves a checkpoint (e.g. to KV). Called before each batch of writes and when the run
   * suspends; the writes wait until it resolves. Makes the run durable (see `claimBatch`).
   */
  saveCheckpoint?: (checkpoint: string) => Promise<void>;
  /**
   * Keeps the access token between invocations (see `TokenCache`): the run starts with the one
   * kept and stores each one it fetches. A `get` that fails rejects the call before anything is
   * sent; a `set` that fails is ignored (the run goes on; the next one fetches a token).
   */
  tokenCache?: TokenCache;
  /**
   * Shares the organisation's rate budget with its other syncs (see `SharedBudget`): no request
   * goes without its grant. A hook that fails suspends the run with BUDGET_FAILED.
   */
  sharedBudget?: SharedBudget;
}

/** Runs a sync through the host's fetch. Resolves to the report; rejects only on bad options or sources. */
export function sync(options: SyncOptions, host?: SyncHost): Promise<SyncReport>;

/** The credentials the environment holds for a platform. */
export function credentialsFromEnv(platform: Platform, env?: Record<string, string | undefined>): Credentials;

/** A request for the host's own HTTP step to send. */
export interface StepRequest {
  id: number;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  /** Lower-case names; `authorization` is a credential unless `hostAuth` (never log it). */
  headers: Record<string, string>;
  /** JSON text, where the request has a body. */
  body?: string;
  /**
   * Always `'manual'`: do not follow redirects (the request carries a credential that must not
   * reach another address). Hand a 3xx answer back as it came: the run stops with REDIRECTED.
   */
  redirect: 'manual';
}

/** The answer to a `StepRequest`, or why none came. */
export type StepAnswer =
  | { id: number; status: number; headers?: Record<string, string> | string[][]; body?: string | Uint8Array | object }
  /** `redirect`: the HTTP step met a redirect it did not follow and cannot show it (stops the run with REDIRECTED). */
  | { id: number; error: 'timeout' | 'network' | 'redirect'; message?: string };

export interface StepResult {
  /** The run so far, as JSON text (no credentials, no token): pass it to the next step. */
  state: string;
  /** Send these, then call `stepSync` with their answers. */
  requests: StepRequest[];
  done: boolean;
  events: SyncEvent[];
  /** With no requests: call `stepSync` again at this time (epoch ms; a rate-limit pause). */
  wakeAt?: number;
  /**
   * When done; also when not done but suspended by a pause longer than `retry.maxWaitMs`
   * (`report.error.code` RATE_LIMITED, `report.resumeAt` = `wakeAt`): nothing is sent before then.
   */
  report?: SyncReport;
}

/**
 * Starts a run in the stateless style (hosted low-code platforms). With `plan` (from `plan()`
 * on pages the host fetched itself), applies it as it stands, without listing the platform:
 * both guards are recomputed from its actions with the options' `guards` (and `approve`), and
 * a plan whose held fingerprint is not its own is refused (`PLAN_REFUSED`). With no listing,
 * administrators and unmanaged users cannot be told apart, and the mass-change share is taken
 * of the plan's own count of platform users. Otherwise reads `sources` and lists the platform
 * (full) or not (delta).
 */
export function beginSync(options: SyncOptions, host?: BeginHost & { tokenCache?: undefined }): StepResult;
/** With a token cache (see `StepHost.tokenCache`): the same, as a Promise. */
export function beginSync(options: SyncOptions, host: BeginHost & { tokenCache: TokenCache }): Promise<StepResult>;
export function beginSync(options: SyncOptions, host?: BeginHost): StepResult | Promise<StepResult>;

/** What `beginSync` is told by its host. */
export interface BeginHost {
  sources?: Array<Page | PageSpec<SourceFormat>>;
  plan?: Plan | string;
  approve?: string;
  now?: number;
  env?: Record<string, string | undefined>;
  /** Keeps the access token outside the state (see `StepHost.tokenCache`); the call then returns a Promise. */
  tokenCache?: TokenCache;
}

/** What each `stepSync` is told by its host: never taken from the state. */
export interface StepHost {
  /**
   * The options given to `beginSync`, again (recommended): they supply `baseUrl`, `hostAuth`
   * and `credentials` where those are not given here, and the state's plan options must equal
   * theirs (a state edited to `orphans: 'delete'` or looser guards is CHECKPOINT_MISMATCH).
   */
  options?: SyncOptions;
  /**
   * The platform's base URL, as `beginSync` was given it (required, here or in `options`). The
   * state passes through the host's storage, so it is never trusted with where requests (and
   * credentials) go: a state made for another base URL is CHECKPOINT_MISMATCH, a step without
   * one INVALID_OPTIONS.
   */
  baseUrl?: string;
  /** The host's HTTP step signs requests itself (as given to `beginSync`); default false. */
  hostAuth?: boolean;
  /** Without `hostAuth`: the credentials (else read from `env`). Never kept in the state. */
  credentials?: Credentials;
  env?: Record<string, string | undefined>;
  now?: number;
  /** While a full sync lists the platform: the source pages, at every step. */
  sources?: Array<Page | PageSpec<SourceFormat>>;
  /**
   * Keeps the access token between steps, outside the state (see `TokenCache`): without it, a
   * step that signs with `credentials` on Foundry fetches a token each time. With it, the call
   * returns a Promise; an error of the cache rejects it (step again with the same state and
   * answers: nothing is lost).
   */
  tokenCache?: TokenCache;
}

/**
 * One step: the previous state and the answers to its requests (a request left unanswered is
 * taken as lost). While a full sync lists the platform, pass `sources` at every step.
 * `baseUrl` and the credentials (or `hostAuth`) come with each step, never from the state.
 * An answer naming a request that is not in flight, or with a status outside 100-599, is
 * INVALID_INPUT; a state that cannot be resumed safely (edited counters, queues or rate
 * window) is INVALID_CHECKPOINT.
 */
export function stepSync(
  state: string | Uint8Array,
  answers: StepAnswer[],
  host: StepHost & { tokenCache?: undefined } & ({ baseUrl: string } | { options: SyncOptions }),
): StepResult;
/** With a token cache: the same, as a Promise. */
export function stepSync(
  state: string | Uint8Array,
  answers: StepAnswer[],
  host: StepHost & { tokenCache: TokenCache } & ({ baseUrl: string } | { options: SyncOptions }),
): Promise<StepResult>;
export function stepSync(
  state: string | Uint8Array,
  answers: StepAnswer[],
  host: StepHost & ({ baseUrl: string } | { options: SyncOptions }),
): StepResult | Promise<StepResult>;

/**
 * `text` with every credential of `credentials` removed, in any encoding a platform may echo it
 * in (raw, URL-encoded, JSON-escaped, base64 of `key:secret`, or cut part-way), for hosts that
 * log or show what the platform said. `extra`: other secrets (an access token).
 */
export function redactSecrets(text: string, credentials?: Partial<Record<keyof Credentials, unknown>>, extra?: string[]): string;
