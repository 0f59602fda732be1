#!/usr/bin/env node
// learner-sync command-line tool.
//   learner-sync plan --platform foundry --source learners.csv --target users-1.json ...
//   learner-sync sync --platform foundry --base-url https://api.fifoundry.net --source learners.csv
// Exit codes: 0 ok, 1 some actions failed (or the run stopped), 2 bad input or configuration,
// 3 stopped by a safety guard.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Planner, LearnerSyncError, sync } from '../node.js';
import { formatTable } from './table.js';
import { progressReporter } from './progress.js';

const PLAN_FLAGS = `  --platform NAME      foundry, learnifier or scim (required)
  --source FILE        the system of record: CSV, or a JSON array (repeatable: one file a page)
  --match KEYS         matching keys in order of precedence, comma-separated (default: ssoId)
                       e.g. ssoId,email links users found only by email on a first sync
  --orphans POLICY     review (default), deactivate, or delete (not on Foundry)
  --map FILE           JSON mapping of fields to source columns, e.g.
                       {"ssoId": "Employee SSO", "active": {"column": "Status", "activeValues": ["Active"]}}
  --protect IDS        keys or platform IDs orphan handling must never touch, comma-separated
  --approve FP         apply a plan the mass-change guard held (FP: its held fingerprint)
  --expected-learners N  learners the last good run read: a source far smaller withholds
                       every deactivation (creates and updates go ahead)`;

const USAGE = {
  main: `learner-sync: keeps learning-platform learners in step with a system of record

Usage: learner-sync <command> [options]

Commands:
  plan    print what a sync would do, from exported files (nothing is sent)
  sync    carry out a sync against the platform's API

Run "learner-sync <command> --help" for a command's options.
Exit codes: 0 ok, 1 some actions failed, 2 bad input or configuration,
3 stopped by a safety guard (a held plan: see --approve).`,
  plan: `Usage: learner-sync plan --platform foundry|learnifier|scim --source FILE --target FILE [options]

Prints the plan as JSON (or a table) on stdout.

${PLAN_FLAGS}
  --target FILE        a raw list-response body of the platform, or a normalised JSON array
                       (repeatable: one file a page)
  --format FORMAT      json (default) or table
  -h, --help           this help`,
  sync: `Usage: learner-sync sync --platform foundry|learnifier|scim --base-url URL --source FILE [options]

Carries out a sync through the platform's API, with progress on stderr, and prints the report's
summary. Credentials come from the environment: FOUNDRY_CLIENT_ID and FOUNDRY_CLIENT_SECRET,
LEARNIFIER_KEY and LEARNIFIER_SECRET, or SCIM_TOKEN. They never appear in output.

${PLAN_FLAGS}
  --base-url URL       the platform's API root (https; http only on loopback)
  --mode MODE          full (default: list the platform, plan, apply) or delta (apply the
                       changed rows by their platformId column, creating rows without one)
  --dry-run            read the platform and print the plan (as "plan" does); send no write
  --report FILE        write the full report as JSON to FILE
  --rate N/Ws          request budget, e.g. 200/60s (Foundry's default); --rate-share 0.5
                       leaves half of it to other clients of the organisation
  --rate-share F       the share of the budget this client may use (default 1)
  --concurrency N      requests in flight at once (default 4)
  --plan FILE          apply a plan made earlier (by "plan" or the browser preview) instead of
                       planning: each action is checked against the platform first and skipped,
                       with the reason, where its user changed since; no --source is needed
  --format FORMAT      for --dry-run: json (default) or table
  -h, --help           this help`,
};

class UsageError extends Error {}

function readFile(path, what) {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
}

function list(v) {
  return v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
}

const PLAN_OPTIONS = {
  platform: { type: 'string' },
  source: { type: 'string', multiple: true },
  match: { type: 'string' },
  orphans: { type: 'string' },
  map: { type: 'string' },
  protect: { type: 'string' },
  approve: { type: 'string' },
  'expected-learners': { type: 'string' },
  format: { type: 'string', default: 'json' },
  help: { type: 'boolean', short: 'h' },
};

function planOptions(values, { sourceNeeded = true } = {}) {
  if (!values.platform) throw new UsageError('--platform is required (foundry, learnifier or scim)');
  if (!['json', 'table'].includes(values.format)) throw new UsageError(`--format must be json or table, not ${values.format}`);
  if (sourceNeeded && !values.source?.length) throw new UsageError('at least one --source FILE is needed');
  const options = { platform: values.platform };
  if (values.match) options.match = list(values.match);
  if (values.orphans) options.orphans = values.orphans;
  if (values.protect) options.protect = list(values.protect);
  if (values.approve || values['expected-learners']) {
    options.guards = {};
    if (values.approve) options.guards.approve = values.approve;
    if (values['expected-learners']) {
      const n = Number(values['expected-learners']);
      if (!Number.isInteger(n) || n < 0) throw new UsageError('--expected-learners must be a whole number');
      options.guards.expectedLearners = n;
    }
  }
  if (values.map) {
    const text = readFile(values.map, 'mapping file').toString('utf8');
    try {
      options.mapping = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`mapping file ${values.map} is not JSON: ${e.message}`);
    }
  }
  return options;
}

function sources(values) {
  return values.source.map((file) => ({ page: readFile(file, 'source file'), label: file }));
}

/** Prints the plan and lists invalid rows on stderr; returns the exit code. */
function printPlan(plan, json, format) {
  process.stdout.write(format === 'table' ? formatTable(plan) : json + '\n');
  const invalid = plan.actions.filter((a) => a.action === 'invalid');
  for (const a of invalid) {
    const value = a.value !== undefined ? ` (${JSON.stringify(a.value)})` : '';
    process.stderr.write(`${a.source}: row ${a.row}: ${a.field}${value} ${a.reason}\n`);
  }
  if (invalid.length) {
    process.stderr.write(`${invalid.length} source row(s) cannot be used; nothing is planned for them.\n`);
    return 2;
  }
  return 0;
}

function runPlan(args) {
  const { values } = parseArgs({ args, options: { ...PLAN_OPTIONS, target: { type: 'string', multiple: true } }, strict: true });
  if (values.help) {
    process.stdout.write(USAGE.plan + '\n');
    return 0;
  }
  const options = planOptions(values);
  if (!values.target?.length) throw new UsageError('at least one --target FILE is needed');
  const planner = new Planner(options);
  for (const s of sources(values)) planner.addSource(s.page, { label: s.label });
  for (const file of values.target) planner.addTarget(readFile(file, 'target file'), { label: file });
  const json = planner.finishJson();
  return printPlan(JSON.parse(json), json, values.format);
}

function parseRate(text, share) {
  const m = /^(\d+)\/(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text ?? '');
  if (!m) throw new UsageError(`--rate must look like 200/60s, not ${JSON.stringify(text)}`);
  const unit = { ms: 1, s: 1000, m: 60_000 }[m[3]];
  return { limit: Number(m[1]), windowMs: Math.round(Number(m[2]) * unit), share };
}

function summaryLine(report) {
  const c = report.counts;
  const secs = (report.elapsedMs / 1000).toFixed(1);
  return `${c.done} done, ${c.failed} failed, ${c.skipped} skipped; ${report.requests} requests, ${report.retries} retries, ${report.rateLimited} rate-limited (429), ${report.pagesRead} pages read, ${secs} s`;
}

async function runSync(args) {
  const { values } = parseArgs({
    args,
    options: {
      ...PLAN_OPTIONS,
      'base-url': { type: 'string' },
      mode: { type: 'string', default: 'full' },
      'dry-run': { type: 'boolean' },
      report: { type: 'string' },
      rate: { type: 'string' },
      'rate-share': { type: 'string' },
      concurrency: { type: 'string' },
      plan: { type: 'string' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE.sync + '\n');
    return 0;
  }
  let pinned;
  if (values.plan) {
    const text = readFile(values.plan, 'plan file').toString('utf8');
    try {
      pinned = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`plan file ${values.plan} is not JSON: ${e.message}`);
    }
    if (!Array.isArray(pinned?.actions) || !pinned?.options?.platform) throw new UsageError(`plan file ${values.plan} is not a learner-sync plan`);
    values.platform ??= pinned.options.platform;
    if (values.platform !== pinned.options.platform) throw new UsageError(`the plan is for ${pinned.options.platform}, not ${values.platform}`);
    values.source ??= [];
  }
  const options = planOptions(values, { sourceNeeded: !pinned });
  if (!values['base-url']) throw new UsageError('--base-url is required');
  if (!['full', 'delta'].includes(values.mode)) throw new UsageError(`--mode must be full or delta, not ${values.mode}`);
  Object.assign(options, { baseUrl: values['base-url'], mode: values.mode, dryRun: Boolean(values['dry-run']) });
  const share = values['rate-share'] === undefined ? 1 : Number(values['rate-share']);
  if (!(share > 0 && share <= 1)) throw new UsageError('--rate-share must be a number in (0, 1]');
  if (values.rate) options.rate = parseRate(values.rate, share);
  else if (values['rate-share']) options.rate = { ...parseRate('200/60s', share) };
  if (values.concurrency) {
    const n = Number(values.concurrency);
    if (!Number.isInteger(n) || n < 1) throw new UsageError('--concurrency must be a whole number of at least 1');
    options.concurrency = n;
  }
  const progress = progressReporter();
  const report = await sync(options, { sources: sources(values), plan: pinned, onEvent: (e) => progress.onEvent(e) });
  progress.end();
  if (values.report) writeFileSync(values.report, JSON.stringify(report, null, 2) + '\n');
  let code = 0;
  if (options.dryRun && report.planned) code = printPlan(report.planned, JSON.stringify(report.planned), values.format);
  for (const o of report.outcomes.filter((o) => o.state === 'failed').slice(0, 20)) {
    const where = o.source ? `${o.source}: row ${o.row}: ` : '';
    process.stderr.write(`failed: ${where}${o.action} ${o.key ?? ''} ${o.platformId ?? ''}: ${o.status ? `HTTP ${o.status} ` : ''}${o.error ?? ''}\n`);
  }
  if (report.error) process.stderr.write(`learner-sync: ${report.error.message} [${report.error.code}]\n`);
  if (report.held) {
    process.stderr.write(`learner-sync: plan held, nothing sent: ${report.held.reason}\n`);
    process.stderr.write(`  to apply it, run again with --approve ${report.held.fingerprint}\n`);
  }
  if (report.withheld) process.stderr.write(`learner-sync: ${report.withheld.count} ${report.withheld.reason}\n`);
  process.stderr.write(`${summaryLine(report)}\n`);
  if (report.error || report.counts.failed > 0) return 1;
  if (report.held) return 3;
  return code;
}

export async function main(argv) {
  const [command, ...rest] = argv;
  try {
    if (!command || command === '-h' || command === '--help' || command === 'help') {
      process.stdout.write(USAGE.main + '\n');
      return command ? 0 : 2;
    }
    if (command === 'plan') return runPlan(rest);
    if (command === 'sync') return await runSync(rest);
    throw new UsageError(`unknown command ${JSON.stringify(command)}; commands: plan, sync`);
  } catch (e) {
    if (e instanceof UsageError || e?.code?.startsWith?.('ERR_PARSE_ARGS')) {
      process.stderr.write(`learner-sync: ${e.message}\n`);
      return 2;
    }
    if (e instanceof LearnerSyncError) {
      process.stderr.write(`learner-sync: ${e.message} [${e.code}]\n`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));
