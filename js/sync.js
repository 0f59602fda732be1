// @ts-check
// The sync driver: runs the engine's state machine with the host's fetch and clock.
// The engine decides what to send and when; this file only sends, waits and hands back.
import { RawSync, maxResponseBytes } from '../pkg/learner_sync.js';
import { checkBaseUrl } from './base-url.js';
import { LearnerSyncError, argObject, jsonText, pageSpecs, rethrow, toBytes } from './errors.js';
import { RATE_FORMS, parseRateText } from './rate.js';
import { redactError } from './redact.js';
import { cachedToken, keepToken, tokenCacheOf } from './token-cache.js';
import { AnswerTally, askBudget, budgetOf, releaseBudget } from './budget.js';

/** Option keys that belong to the plan; every other key is a sync setting. */
const PLAN_KEYS = new Set(['platform', 'match', 'linkByEmail', 'orphans', 'mapping', 'adminRoles', 'protect', 'scim', 'guards']);

/** Environment variables that hold each platform's credentials. */
const ENV = {
  foundry: { clientId: 'FOUNDRY_CLIENT_ID', clientSecret: 'FOUNDRY_CLIENT_SECRET' },
  learnifier: { key: 'LEARNIFIER_KEY', secret: 'LEARNIFIER_SECRET' },
  scim: { token: 'SCIM_TOKEN' },
};

/** Credentials for `platform` from an environment object (process.env, a Worker's env). */
export function credentialsFromEnv(platform, env = globalThis.process?.env ?? {}) {
  const out = {};
  for (const [key, name] of Object.entries(ENV[platform] ?? {})) if (env[name]) out[key] = env[name];
  return out;
}

/** Every platform's credentials in an environment object (for redacting what is printed). */
export function allCredentialsFromEnv(env) {
  return { ...credentialsFromEnv('foundry', env), ...credentialsFromEnv('learnifier', env), ...credentialsFromEnv('scim', env) };
}

/** Refuses credentials that are not an object of strings, naming the key, never the value. */
export function checkCredentials(credentials) {
  if (credentials === undefined || credentials === null) return;
  if (typeof credentials !== 'object' || Array.isArray(credentials)) {
    throw new LearnerSyncError('INVALID_OPTIONS', `credentials must be an object such as {clientId, clientSecret}, not ${Array.isArray(credentials) ? 'an array' : typeof credentials} (the value is not shown)`);
  }
  for (const [k, v] of Object.entries(credentials)) {
    if (v !== undefined && v !== null && typeof v !== 'string') {
      const name = ['clientId', 'clientSecret', 'key', 'secret', 'token'].includes(k) ? `credentials.${k}` : 'a credential';
      throw new LearnerSyncError('INVALID_OPTIONS', `${name} must be a string, not ${typeof v} (the value is not shown)`);
    }
  }
}

/**
 * Checks `options` and splits them into the plan options and the sync settings, with the
 * credentials the settings lack read from `env` (none where the host signs: `hostAuth`).
 * `platform` names the platform when the options do not (a pinned plan's).
 */
export function settings(options, env, platform) {
  if (!options || typeof options !== 'object') {
    throw new LearnerSyncError('INVALID_OPTIONS', 'options must be an object such as {platform: "foundry", baseUrl: "https://…"}');
  }
  const plan = {};
  const config = {};
  for (const [k, v] of Object.entries(options)) (PLAN_KEYS.has(k) ? plan : config)[k] = v;
  if (typeof config.rate === 'string') {
    // "200/1s", as in the config file: one parser for both.
    const rate = parseRateText(config.rate);
    if (!rate) throw new LearnerSyncError('INVALID_OPTIONS', `rate must be ${RATE_FORMS}`);
    config.rate = { ...rate, share: 1 };
  }
  // Where the credentials go, checked before anything reaches wasm (which checks it again).
  if (config.baseUrl !== undefined) checkBaseUrl(config.baseUrl);
  checkCredentials(config.credentials);
  if (!config.hostAuth) config.credentials = { ...credentialsFromEnv(plan.platform ?? platform, env), ...(config.credentials ?? {}) };
  return { plan, config };
}

/** A plan given as an object or as its JSON text, as JSON text. */
export const planText = (plan) => (typeof plan === 'string' ? plan : jsonText(plan, 'the plan', 'INVALID_INPUT'));

/** The fingerprint that approves a held plan, as text ('' for none). */
export function approvalText(approve) {
  if (approve === undefined || approve === null) return '';
  if (typeof approve !== 'string') throw new LearnerSyncError('INVALID_OPTIONS', 'guards.approve must be the fingerprint text a held plan printed');
  return approve;
}

/**
 * The host's plan options for a plan given to apply, as JSON text: their guards (thresholds
 * and `approve`), protect list and administrator roles apply, never the plan file's, which
 * anyone may have edited. The platform is the plan's when the options do not name one.
 */
export function hostOptionsText(planOptions, pinned, approve) {
  const platform = planOptions.platform ?? pinnedPlatform(pinned);
  const guards = { ...(planOptions.guards ?? {}) };
  const approval = approvalText(approve ?? guards.approve);
  if (approval) guards.approve = approval;
  else delete guards.approve;
  return jsonText({ ...planOptions, platform, guards }, 'the options');
}

function pinnedPlatform(pinned) {
  try {
    return (typeof pinned === 'string' ? JSON.parse(pinned) : pinned)?.options?.platform;
  } catch {
    return undefined; // the engine says what is wrong with the plan
  }
}

/**
 * Adds the source pages (each bytes, a string, or `{page, format?, label?, delimiter?,
 * encoding?}`) to a raw engine.
 */
export function addSources(raw, sources) {
  for (const spec of pageSpecs(sources, 'sources')) {
    raw.addSource(toBytes(spec.page, 'a source page'), spec.format ?? 'auto', spec.label ?? '', spec.delimiter ?? '', spec.encoding ?? '');
  }
}

/** The longest delay a timer takes (2^31-1 ms): a longer one fires at once, with a warning. */
const MAX_TIMER_MS = 2 ** 31 - 1;

let maxBody;
/** The longest body read from one answer: the engine's bound on a page (256 MiB), asked once the wasm is loaded. */
const bodyLimit = () => (maxBody ??= maxResponseBytes());

/** Sleeps `ms`, in steps no timer refuses (the engine caps its waits; a host's clock may not). */
async function defaultSleep(ms) {
  for (let left = ms; left > 0; left -= MAX_TIMER_MS) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(left, MAX_TIMER_MS)));
  }
}

/**
 * Reads a body, at most `limit` bytes: past it the stream is cancelled and null returned (a
 * body that never ends once grew to 7 GB). Response-likes without a stream are read whole.
 */
async function readLimited(res, limit = bodyLimit()) {
  const declared = Number(res.headers?.get?.('content-length'));
  if (declared > limit) {
    await res.body?.cancel?.().catch(() => {});
    return null;
  }
  if (!res.body?.getReader) {
    const whole = new Uint8Array(await res.arrayBuffer());
    return whole.byteLength > limit ? null : whole;
  }
  const reader = res.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return body;
}

/**
 * Why a request could not be sent, from the runtime's error code (Node's undici: `cause.code`):
 * "dns", "refused" and "tls" mean the platform was never reached (the engine stops at once
 * when nothing has answered yet, naming the host), anything else a lost connection (retried).
 */
export function failureKind(code) {
  if (/^(ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_FAIL|EAI_NODATA)$/.test(code)) return 'dns';
  if (code === 'ECONNREFUSED') return 'refused';
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|HOSTNAME_MISMATCH|ALTNAME/.test(code)) return 'tls';
  return 'network';
}

async function send(fetchFn, req, timeoutMs) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS));
  try {
    const res = await fetchFn(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      // Never followed: a runtime that follows may carry the credential to the target.
      redirect: 'manual',
      signal: controller.signal,
    });
    // A browser hides a manual redirect's status and target: the engine stops all the same.
    if (res.type === 'opaqueredirect') return { id: req.id, failure: 'redirect', message: 'redirect not followed' };
    const body = await readLimited(res);
    if (body === null) {
      return { id: req.id, failure: 'tooLarge', message: `the answer was longer than ${bodyLimit() >> 20} MiB` };
    }
    const headers = [];
    res.headers.forEach((value, name) => headers.push([name, value]));
    return { id: req.id, status: res.status, headers, body };
  } catch (e) {
    if (controller.signal.aborted) return { id: req.id, failure: 'timeout', message: `no answer within ${Math.round(timeoutMs / 1000)} s` };
    const err = /** @type {any} */ (e);
    const code = String(err?.cause?.code ?? err?.code ?? err?.message ?? err);
    return { id: req.id, failure: failureKind(code), message: code };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs a sync. `options` holds the plan options (platform, match, orphans, mapping…) and the
 * sync settings (baseUrl, mode, credentials, rate, concurrency, retry, dryRun, budget…).
 * Credentials missing from `options` are read from the environment (`env`, default process.env).
 * With `host.plan` (a plan object or its JSON), applies that plan instead of planning: each
 * action is checked against the platform first and skipped if its user changed.
 * With `budget`, the run stops when it is spent and the report carries a `checkpoint`; pass it
 * back as `host.checkpoint` to carry on. With `host.saveCheckpoint`, checkpoints are also
 * saved before each batch of writes (`claimBatch`, default 25), so a run killed between
 * them resumes from the last one without creating anyone twice.
 * With `host.tokenCache` (`{get(), set({value, expiresAt})}`), the run starts with the token
 * the cache holds (checked as any token) and stores each token it fetches there, never in a
 * checkpoint: a resumed run then fetches none while the kept one lasts. A cache whose `get`
 * fails rejects the call before anything is sent; one whose `set` fails mid-run is ignored
 * (the run goes on with its token, so its report is never lost; the next run fetches one).
 * With `host.sharedBudget` (`{acquire(ask), release?(last)}`, see js/budget.js), no request goes
 * without the hook's grant, so several syncs of one organisation share its budget: the hook
 * is told each sync's answers and 429s, and one that fails or answers nonsense suspends the
 * run (`BUDGET_FAILED`, with a checkpoint), never letting a request go ungranted.
 * With `host.signal` (an AbortSignal), aborting it interrupts the run: no new request is sent,
 * the answers in flight are awaited, and the report comes back `suspended` and `interrupted`
 * with a `checkpoint` (saved through `saveCheckpoint` too) that `host.checkpoint` resumes from.
 * Resolves to the report; rejects only for bad options, sources, checkpoints or token cache.
 */
export async function sync(options, host) {
  host = argObject(host, 'the host settings');
  const {
    sources = [],
    fetch: fetchFn = globalThis.fetch,
    now = () => Date.now(),
    sleep = defaultSleep,
    onEvent = () => {},
    timeoutMs = 30_000,
    env,
    checkpoint,
    saveCheckpoint,
    signal,
  } = host;
  if (signal !== undefined && typeof signal?.addEventListener !== 'function') {
    throw new LearnerSyncError('INVALID_OPTIONS', 'host.signal must be an AbortSignal (from an AbortController)');
  }
  const pinned = host.plan;
  const { plan, config } = settings(options, env, pinned?.options?.platform);
  const cache = tokenCacheOf(host.tokenCache);
  const budget = budgetOf(host.sharedBudget);
  const token = cache ? await cachedToken(cache, config.credentials) : undefined;
  const secrets = token ? [token.value] : [];
  if (saveCheckpoint && config.claimBatch === undefined) config.claimBatch = 25;
  if (config.claimBatch !== undefined && !saveCheckpoint) {
    throw new LearnerSyncError('INVALID_OPTIONS', 'claimBatch needs host.saveCheckpoint to save the checkpoints it asks for');
  }
  // Undefined until made below (else the call throws): typed as made, for the loop's sake.
  let raw = /** @type {RawSync} */ (/** @type {unknown} */ (undefined));
  /** @type {number | undefined} */
  let startedAt;
  try {
    if (checkpoint) {
      const planOptions = plan.platform ? jsonText(plan, 'the options') : '';
      raw = RawSync.resume(toBytes(checkpoint, 'the checkpoint'), jsonText(config, 'the options'), planOptions);
      raw.checkClock(now());
      // The invocation that sent what was in flight is gone: those answers never come.
      raw.abandonInFlight(now());
    } else if (pinned) {
      raw = RawSync.withPlan(planText(pinned), jsonText(config, 'the options'), hostOptionsText(plan, pinned));
    } else {
      raw = new RawSync(jsonText(plan, 'the options'), jsonText(config, 'the options'));
    }
    if (token) raw.useToken(token.value, token.expiresAt, now());
    if (raw.needsSource()) addSources(raw, sources);
    const start = now();
    startedAt = start;
    raw.start(start);
  } catch (e) {
    raw?.free();
    rethrow(redactError(e, config.credentials, secrets));
  }
  /** Stores the token the engine fetched, if any; a cache that fails costs a token later, never the run. */
  const keep = async () => {
    const fresh = cache && raw.takeNewToken();
    if (fresh) await keepToken(cache, fresh, config.credentials).catch(() => {});
  };
  // The shared budget: requests granted and not yet sent, the answers not yet told, and when
  // to ask again after a refusal.
  let granted = 0;
  const tally = new AnswerTally();
  let askAfter = 0;
  // This invocation's time budget (`budget.ms`), as the engine counts it from its start: a wait
  // for a grant ends there, and the engine, its budget spent, then sends nothing.
  const stopAt = Number.isFinite(config.budget?.ms) ? startedAt + config.budget.ms : Infinity;
  // Aborting `signal` (Ctrl-C in the CLI) interrupts the run: nothing new is sent, the answers
  // in flight are awaited, and the report comes back suspended with a checkpoint to resume from.
  let interrupted = false;
  let wakeOnAbort;
  const aborted = new Promise((resolve) => {
    wakeOnAbort = () => resolve(null);
    signal?.addEventListener('abort', wakeOnAbort, { once: true });
  });
  try {
    const inFlight = new Map();
    for (;;) {
      if (signal?.aborted && !interrupted) {
        interrupted = true;
        raw.interrupt();
      }
      while (!budget || granted > 0) {
        const req = raw.pollTransmit(now());
        if (!req) break;
        if (budget) granted -= 1;
        inFlight.set(req.id, send(fetchFn, req, timeoutMs));
      }
      for (let e = raw.pollEvent(); e; e = raw.pollEvent()) onEvent(e);
      if (raw.wantsCheckpoint()) {
        // The claimed writes go only once the checkpoint that claims them is saved.
        await saveCheckpoint(raw.checkpointJson());
        raw.checkpointSaved();
        continue;
      }
      // pollTransmit settled where the invocation stands; pollTimeout only looks.
      if (raw.isFinished() || raw.isSuspended()) break;
      let wake = raw.pollTimeout(now());
      if (budget && granted === 0 && wake !== undefined && wake <= now()) {
        // The engine would send now: not without the shared budget's grant.
        if (now() >= stopAt) {
          // Spent: the engine stops (it sends nothing once its budget is spent), awaiting answers.
          const req = raw.pollTransmit(now());
          if (req) raw.handleFailure(req.id, now(), 'network', 'not sent: the shared budget granted nothing before the time budget ended');
          continue;
        }
        if (askAfter > now()) wake = Math.min(askAfter, stopAt);
        else {
          const free = Math.max(1, (config.concurrency ?? 4) - inFlight.size);
          const answer = await askBudget(budget, free, tally);
          if (answer.failed) raw.suspendBudgetFailed(answer.failed);
          else if (answer.granted) granted = answer.granted;
          else askAfter = now() + answer.waitMs;
          continue;
        }
      }
      const waiting = [...inFlight.values()];
      if (wake !== undefined) waiting.push(sleep(Math.max(0, wake - now())).then(() => null));
      if (signal && !interrupted && waiting.length) waiting.push(aborted);
      if (waiting.length === 0) throw new LearnerSyncError('INTERNAL', 'the sync stalled: nothing in flight and nothing to wait for');
      const answer = await Promise.race(waiting);
      if (!answer) continue;
      inFlight.delete(answer.id);
      tally.note(answer.status, answer.headers, now());
      if (answer.failure) raw.handleFailure(answer.id, now(), answer.failure, answer.message);
      else raw.handleResponse(answer.id, now(), answer.status, answer.headers, answer.body);
      await keep();
    }
    const report = JSON.parse(raw.reportJson(now()));
    if (interrupted && report.suspended) report.interrupted = true;
    if (options.dryRun) {
      const planJson = raw.planJson();
      if (planJson) report.planned = JSON.parse(planJson);
    }
    if (report.suspended) {
      report.checkpoint = raw.checkpointJson();
      if (saveCheckpoint) await saveCheckpoint(report.checkpoint);
    }
    return report;
  } finally {
    if (budget) await releaseBudget(budget, granted, tally);
    signal?.removeEventListener('abort', wakeOnAbort);
    raw.free();
  }
}
