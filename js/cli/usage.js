// The CLI's flags and help texts, kept side by side so that the help lists every flag the
// parser takes (js/test/cli.test.js checks it), and the error that means "exit code 2".

/** A mistake in the command line, the config file or an input file: exit code 2. */
export class UsageError extends Error {}

/** Flags of both commands (node:util parseArgs shape). */
const COMMON = {
  config: { type: 'string' },
  platform: { type: 'string' },
  source: { type: 'string', multiple: true },
  delimiter: { type: 'string' },
  encoding: { type: 'string' },
  match: { type: 'string' },
  orphans: { type: 'string' },
  'no-link': { type: 'boolean' },
  map: { type: 'string' },
  protect: { type: 'string' },
  approve: { type: 'string' },
  'expected-learners': { type: 'string' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export const OPTIONS = {
  plan: { ...COMMON, target: { type: 'string', multiple: true } },
  sync: {
    ...COMMON,
    'base-url': { type: 'string' },
    mode: { type: 'string' },
    'dry-run': { type: 'boolean' },
    report: { type: 'string' },
    rate: { type: 'string' },
    'rate-share': { type: 'string' },
    'budget-dir': { type: 'string' },
    'no-shared-budget': { type: 'boolean' },
    concurrency: { type: 'string' },
    plan: { type: 'string' },
    checkpoint: { type: 'string' },
    resume: { type: 'string' },
  },
};

export const FORMATS = ['json', 'table', 'csv'];

const EXIT_CODES = `Exit codes:
  0  ok
  1  some actions failed, or the run stopped (credentials refused, platform unreachable,
     redirected, the shared budget unusable mid-run), or the report file could not be
     written (see stderr for where it went)
  2  bad input or configuration (a flag, the config file, a page or source rows that cannot
     be used: the rest of the plan is still printed or synced, the rows listed on stderr;
     a --plan file refused as PLAN_REFUSED, or the shared budget's state file unusable:
     nothing sent)
  3  stopped by a safety guard (a held plan, however its file was edited: run again with
     --approve FINGERPRINT)
  130  sync interrupted by Ctrl-C (SIGINT; 143 for SIGTERM): nothing new was sent, the answers
     in flight were awaited, the summary printed, the report and a checkpoint written: run
     the same command with --resume CHECKPOINT to carry on. A second Ctrl-C quits at once.`;

const CONFIG = `Config file: --config FILE, or ./learner-sync.json when present. A JSON object of what a
team keeps in its repository; flags override it. Keys:
  platform, baseUrl, match (["ssoId", "email"]), linkByEmail (true), orphans, mapping (an object, or the path of
  a mapping file relative to the config file), protect, adminRoles, scim ({key, userName}),
  guards ({maxDeactivatePercent, maxDeactivateCount, expectedLearners, sourceTolerance}),
  mode, rate ({limit, windowMs, share} or "200/60s"), concurrency, retry ({maxAttempts,
  maxRateLimited, baseMs, maxMs, maxWaitMs}), pageSize, foundry ({ruleSet, role}), autoClearEmail.
An unknown key, a wrong type, or a credential in the file is an error (exit code 2):
credentials come from the environment only.`;

const PLAN_FLAGS = `  --config FILE        the config file (default: ./learner-sync.json when present)
  --platform NAME      foundry, learnifier or scim (required, here or in the config file)
  --source FILE        the system of record: CSV, or a JSON array (repeatable: one file a page)
  --delimiter D        the CSV delimiter: "," ";" or tab (default: read from the header row;
                       a header with two of them is refused as ambiguous)
  --encoding NAME      the sources' encoding when they have no byte-order mark: utf-8 (the
                       default), windows-1252 (or latin1: Excel in much of Europe),
                       utf-16le or utf-16be
  --match KEYS         matching keys in order of precedence, comma-separated (default: ssoId)
  --no-link            do not link a learner that matches nobody to a user with no key and
                       the same email (first sync; on by default): such a learner is then a
                       keyTaken conflict, never a create the platform would refuse
  --orphans POLICY     review (default), deactivate, or delete (not on Foundry)
  --map FILE           JSON mapping of fields to source columns, e.g.
                       {"ssoId": "Employee SSO", "active": {"column": "Status", "activeValues": ["Active"]}}
  --protect IDS        keys or platform IDs orphan handling must never touch, comma-separated
  --approve FP         apply a plan the mass-change guard held (FP: its held fingerprint)
  --expected-learners N  learners the last good run read: a source far smaller withholds
                       every deactivation (creates and updates go ahead)`;

export const USAGE = {
  main: `learner-sync: keeps learning-platform learners in step with a system of record

Usage: learner-sync <command> [options]

Commands:
  plan    print what a sync would do, from exported files (nothing is sent)
  sync    carry out a sync against the platform's API

Run "learner-sync help <command>" or "learner-sync <command> --help" for a command's options,
"learner-sync --version" for the version. A FILE given as - is read from standard input
(one of them at most).

${CONFIG}

${EXIT_CODES}`,
  plan: `Usage: learner-sync plan --platform foundry|learnifier|scim --source FILE --target FILE [options]

Prints the plan on stdout: JSON (default), a table, or CSV for a spreadsheet (one row per
action). Invalid source rows are also listed on stderr.

${PLAN_FLAGS}
  --target FILE        a raw list-response body of the platform, or a normalised JSON array
                       (repeatable: one file a page)
  --format FORMAT      json (default), table or csv
  -h, --help           this help

${CONFIG}

${EXIT_CODES}`,
  sync: `Usage: learner-sync sync --platform foundry|learnifier|scim --base-url URL --source FILE [options]

Carries out a sync through the platform's API, with progress on stderr (a bar on a terminal,
plain lines otherwise), then failures and a summary on stderr. Credentials come from the
environment: FOUNDRY_CLIENT_ID and FOUNDRY_CLIENT_SECRET, LEARNIFIER_KEY and LEARNIFIER_SECRET,
or SCIM_TOKEN. They never appear in output.

${PLAN_FLAGS}
  --base-url URL       the platform's API root (https; http only on 127.x.y.z, localhost, [::1])
  --mode MODE          full (default: list the platform, plan, apply) or delta (apply the
                       changed rows by their platformId column, creating rows without one)
  --dry-run            read the platform and print the plan (as "plan" does); send no write
  --report FILE        write the full report to FILE as JSON, or, when FILE ends in .csv,
                       the outcomes as CSV (one row per planned action); if it cannot be
                       written after the run, a fallback file is named on stderr
  --rate N/Ws          request budget, e.g. 200/60s (Foundry's default); --rate-share 0.5
                       leaves half of it to other clients of the organisation
  --rate-share F       the share of the budget this client may use (default 1), set by hand:
                       no sharing through the state file then
  --budget-dir DIR     where syncs of one organisation share its budget: a state file per
                       base URL (its hash; no credential), so two syncs run at once never
                       exceed the budget together and each gets a fair share (default
                       $LEARNER_SYNC_BUDGET_DIR, else ~/.cache/learner-sync/budget)
  --no-shared-budget   pace this sync alone, as if no other sync of the organisation ran
  --concurrency N      requests in flight at once (default 4)
  --checkpoint FILE    keep a checkpoint in FILE, saved before each batch of writes, so that
                       even a run killed outright resumes from it without creating anyone
                       twice; removed when the run finishes. Without it, a checkpoint is
                       written only when the run is interrupted (Ctrl-C), to
                       ./learner-sync.checkpoint.json
  --resume FILE        carry on an interrupted run from its checkpoint (same command, same
                       platform and base URL; --source again if it stopped while listing);
                       FILE is kept up to date as --checkpoint and removed when done
  --plan FILE          apply a plan made earlier (by "plan" or the browser preview) instead of
                       planning: each action is checked against the platform first and skipped,
                       with the reason, where its user changed since; no --source is needed.
                       The file is untrusted: the guards of the config file and flags apply and
                       are recomputed from its actions (a held plan stays held, exit 3); one
                       that contradicts itself or would touch an administrator or unmanaged
                       user as an orphan is refused (exit 2); nothing is sent either way
  --format FORMAT      with --dry-run, the plan: json (default), table or csv. Without it,
                       the outcomes on stdout: json (the full report), table, or csv (one row
                       per planned action); stdout stays empty when no --format is given
  -h, --help           this help

${CONFIG}

${EXIT_CODES}`,
};
