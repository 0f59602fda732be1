#!/usr/bin/env node
// learner-sync command-line tool.
//   learner-sync plan --platform foundry --source learners.csv --target users-1.json ...
//   learner-sync sync --platform foundry --base-url https://api.fifoundry.net --source learners.csv
// Options come from the config file (config.js) with the flags over them (usage.js lists the
// flags). stdout carries only the requested output (plan, report), so it can be piped;
// progress, messages and errors go to stderr.
// Exit codes: 0 ok, 1 some actions failed (or the run stopped), 2 bad input or configuration,
// 3 stopped by a safety guard, 130 (143) a sync interrupted by SIGINT (SIGTERM): nothing new
// sent, the answers in flight awaited, the summary, report and a checkpoint written.
import { accessSync, constants, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Planner, LearnerSyncError, sync, planToCsv, reportToCsv, credentialsFromEnv, redactSecrets } from '../node.js';
import { formatTable, formatOutcomes, printable } from './table.js';
import { progressReporter } from './progress.js';
import { FORMATS, OPTIONS, USAGE, UsageError } from './usage.js';
import { loadConfig, parseJson, parseRate, readFile } from './config.js';
import { budgetDir, fileBudget } from './budget-file.js';

/** Every credential the environment holds, whichever platform the command is for. */
const CREDENTIALS = { ...credentialsFromEnv('foundry'), ...credentialsFromEnv('learnifier'), ...credentialsFromEnv('scim') };

/**
 * Nothing written on stderr carries a credential, in any encoding: a platform's error may echo
 * one back, and every message, failure and stack trace goes there. (stdout carries the plan or
 * the report, made by the engine, which redacts them itself.)
 */
function redactStderr() {
  if (Object.keys(CREDENTIALS).length === 0) return;
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = (chunk, ...rest) => write(typeof chunk === 'string' ? redactSecrets(chunk, CREDENTIALS) : chunk, ...rest);
}

function list(v) {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

function wholeNumber(text, flag, min) {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min) throw new UsageError(`${flag} must be a whole number${min ? ` of at least ${min}` : ''}`);
  return n;
}

/** The command's flags, the config file's options, or the help (`null`). */
function parse(command, args) {
  const { values } = parseArgs({ args, options: OPTIONS[command], strict: true });
  if (values.help) {
    process.stdout.write(USAGE[command] + '\n');
    return null;
  }
  if (values.format !== undefined && !FORMATS.includes(values.format)) {
    throw new UsageError(`--format must be ${FORMATS.join(', ')}, not ${JSON.stringify(values.format)}`);
  }
  const config = loadConfig(values.config);
  if (config.implicit) process.stderr.write(`learner-sync: using ${config.file} in the current directory\n`);
  return { values, config: config.options };
}

/** The plan options: the config file's, with the flags over them. */
function planOptions(values, config, { sourceNeeded = true } = {}) {
  const platform = values.platform ?? config.platform;
  if (!platform) throw new UsageError('--platform is required (foundry, learnifier or scim), as a flag or in the config file');
  if (sourceNeeded && !values.source?.length) throw new UsageError('at least one --source FILE is needed');
  const options = { platform };
  const match = values.match !== undefined ? list(values.match) : config.match;
  if (match) options.match = match;
  const linkByEmail = values['no-link'] ? false : config.linkByEmail;
  if (linkByEmail !== undefined) options.linkByEmail = linkByEmail;
  const orphans = values.orphans ?? config.orphans;
  if (orphans) options.orphans = orphans;
  const protect = values.protect !== undefined ? list(values.protect) : config.protect;
  if (protect) options.protect = protect;
  for (const key of ['adminRoles', 'scim']) if (config[key] !== undefined) options[key] = config[key];
  const guards = { ...config.guards };
  if (values.approve) guards.approve = values.approve;
  if (values['expected-learners'] !== undefined) guards.expectedLearners = wholeNumber(values['expected-learners'], '--expected-learners', 0);
  if (Object.keys(guards).length) options.guards = guards;
  const mapping = values.map ? parseJson(readFile(values.map, 'mapping file'), values.map, 'mapping file') : config.mapping;
  if (mapping) options.mapping = mapping;
  return options;
}

/** The sync settings: the config file's, with the flags over them. */
function syncSettings(values, config, platform) {
  const baseUrl = values['base-url'] ?? config.baseUrl;
  if (!baseUrl) throw new UsageError('--base-url is required, as a flag or as baseUrl in the config file');
  const mode = values.mode ?? config.mode ?? 'full';
  if (!['full', 'delta'].includes(mode)) throw new UsageError(`--mode must be full or delta, not ${JSON.stringify(mode)}`);
  const settings = { baseUrl, mode, dryRun: Boolean(values['dry-run']) };
  let rate = values.rate !== undefined ? { ...parseRate(values.rate, '--rate'), share: 1 } : config.rate;
  if (values['rate-share'] !== undefined) {
    const share = Number(values['rate-share']);
    if (!(share > 0 && share <= 1)) throw new UsageError('--rate-share must be a number in (0, 1]');
    if (!rate && platform !== 'foundry') throw new UsageError(`--rate-share needs --rate (or rate in the config file): no request budget is known for ${platform}`);
    rate = { ...(rate ?? parseRate('200/60s', '--rate')), share };
  }
  if (rate) settings.rate = rate;
  const concurrency = values.concurrency !== undefined ? wholeNumber(values.concurrency, '--concurrency', 1) : config.concurrency;
  if (concurrency !== undefined) settings.concurrency = concurrency;
  for (const key of ['retry', 'pageSize', 'foundry', 'autoClearEmail']) if (config[key] !== undefined) settings[key] = config[key];
  return settings;
}

/** The source files (`-`: standard input), each with the declared delimiter and encoding. */
function sources(values) {
  const text = {};
  if (values.delimiter !== undefined) text.delimiter = values.delimiter;
  if (values.encoding !== undefined) text.encoding = values.encoding;
  return (values.source ?? []).map((file) => ({ page: readFile(file, 'source file'), label: file === '-' ? 'stdin' : file, ...text }));
}

/**
 * Lists the source rows that cannot be used (the plan's `invalid` actions, or a report's
 * outcomes for them) on stderr, as `file: row N: field (value) reason`, each line made safe
 * for a terminal; returns the exit code (2 when there are any).
 */
function listInvalid(entries, after) {
  const invalid = entries.filter((a) => a.action === 'invalid');
  for (const a of invalid) {
    const value = a.value !== undefined ? ` (${JSON.stringify(a.value)})` : '';
    process.stderr.write(`${printable(`${a.source}: row ${a.row}: ${a.field}${value} ${a.reason}`)}\n`);
  }
  if (!invalid.length) return 0;
  process.stderr.write(`${invalid.length} source row(s) cannot be used; ${after}.\n`);
  return 2;
}

/**
 * Prints the plan, lists invalid rows on stderr, and says when the plan is held and the
 * fingerprint `--approve` takes; returns the exit code (3 for a held plan, as `sync` gives).
 */
function printPlan(plan, json, format = 'json') {
  process.stdout.write(format === 'table' ? formatTable(plan) : format === 'csv' ? planToCsv(json) : json + '\n');
  const code = listInvalid(plan.actions, 'nothing is planned for them');
  if (!plan.held) return code;
  process.stderr.write(printable(`learner-sync: plan held: ${plan.held.reason}`) + '\n');
  process.stderr.write(`  to apply it, run sync with --approve ${plan.held.fingerprint}\n`);
  return 3;
}

function runPlan(args) {
  const parsed = parse('plan', args);
  if (!parsed) return 0;
  const { values, config } = parsed;
  const options = planOptions(values, config);
  if (!values.target?.length) throw new UsageError('at least one --target FILE is needed');
  const planner = new Planner(options);
  try {
    for (const { page, ...spec } of sources(values)) planner.addSource(page, spec);
    for (const file of values.target) planner.addTarget(readFile(file, 'target file'), { label: file === '-' ? 'stdin' : file });
    const json = planner.finishJson();
    return printPlan(JSON.parse(json), json, values.format);
  } finally {
    planner.free();
  }
}

function summaryLine(report) {
  const c = report.counts;
  const secs = (report.elapsedMs / 1000).toFixed(1);
  return `${c.done} done, ${c.failed} failed, ${c.skipped} skipped; ${report.requests} requests, ${report.retries} retries, ${report.rateLimited} rate-limited (429), ${report.pagesRead} pages read, ${secs} s`;
}

/** The report file's text: the outcomes as CSV for a .csv file, else the report as JSON. */
function reportText(report, file) {
  return file.toLowerCase().endsWith('.csv') ? reportToCsv(report) : JSON.stringify(report, null, 2) + '\n';
}

const why = (e) => printable(String(e?.message ?? e));

/**
 * Writes the report to `file`. The writes were sent: whatever happens to the file, the created
 * users' IDs must reach the user. When `file` cannot be written (a full disk, a folder removed
 * meanwhile), the full report goes to a fresh file in the temporary folder, named on stderr;
 * when that fails too, the created users are listed on stderr. Returns whether `file` was written.
 */
function saveReport(report, file) {
  try {
    writeFileSync(file, reportText(report, file));
    return true;
  } catch (e) {
    const failed = `learner-sync: could not write the report to ${printable(file)} (${why(e)})`;
    const fallback = join(tmpdir(), `learner-sync-report-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.json`);
    try {
      // A fresh file only the user can read: the report holds learners' data.
      writeFileSync(fallback, JSON.stringify(report, null, 2) + '\n', { flag: 'wx', mode: 0o600 });
      process.stderr.write(`${failed}; the report was written to ${printable(fallback)} instead\n`);
    } catch (e2) {
      process.stderr.write(`${failed}, nor to a fallback file (${why(e2)}); the users created, to store their platform IDs:\n`);
      for (const c of report.created) {
        const where = c.source ? ` (${c.source}: row ${c.row})` : '';
        process.stderr.write(`${printable(`created: ${c.key ?? '-'} ${c.platformId}${where}`)}\n`);
      }
      if (!report.created.length) process.stderr.write('(none)\n');
    }
    return false;
  }
}

/** Refuses a path that cannot be written, before anything is sent (without creating it). */
function checkWritable(file, what) {
  let target = dirname(resolve(file));
  if (existsSync(file)) {
    if (statSync(file).isDirectory()) throw new UsageError(`cannot write ${what} ${file}: it is a folder`);
    target = file;
  }
  try {
    accessSync(target, constants.W_OK);
  } catch (e) {
    throw new UsageError(`cannot write ${what} ${file}: ${e.code === 'ENOENT' ? 'no such folder' : e.message}`);
  }
}

/** Where an interrupted run's checkpoint goes without --checkpoint. */
const DEFAULT_CHECKPOINT = 'learner-sync.checkpoint.json';

/**
 * Writes a checkpoint whole or not at all (a fresh file renamed over the old one), readable
 * by the user only: it holds learners' data (never a credential).
 */
function writeCheckpoint(file, text) {
  const fresh = `${file}.${process.pid}.tmp`;
  writeFileSync(fresh, text, { mode: 0o600 });
  renameSync(fresh, file);
}

/**
 * Saves a suspended run's checkpoint to `file`, or to a fresh file in the temporary folder
 * when it cannot be written; says where on stderr, with the command that resumes it.
 */
function saveCheckpoint(text, file) {
  let where = file;
  try {
    writeCheckpoint(file, text);
  } catch (e) {
    where = join(tmpdir(), `learner-sync-checkpoint-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.json`);
    try {
      writeFileSync(where, text, { flag: 'wx', mode: 0o600 });
      process.stderr.write(`learner-sync: could not write the checkpoint to ${printable(file)} (${why(e)})\n`);
    } catch (e2) {
      process.stderr.write(`learner-sync: could not write the checkpoint to ${printable(file)} (${why(e)}) nor to ${printable(where)} (${why(e2)}); a new run starts afresh\n`);
      return false;
    }
  }
  process.stderr.write(`learner-sync: checkpoint written to ${printable(where)}; to carry on, run the same command with --resume ${printable(where)}\n`);
  return true;
}

/**
 * Ctrl-C (SIGINT) and SIGTERM interrupt the sync through `controller`: nothing new is sent,
 * the answers in flight are awaited, then the summary, report and checkpoint are written. A
 * second signal quits at once. Returns a function that removes the handlers.
 */
function interruptOnSignals(controller, checkpointFile) {
  const handlers = {};
  for (const name of ['SIGINT', 'SIGTERM']) {
    handlers[name] = () => {
      const code = 128 + osConstants.signals[name];
      if (controller.signal.aborted) {
        const saved = checkpointFile ? `; ${printable(checkpointFile)} holds the last checkpoint saved` : '; no checkpoint was written';
        process.stderr.write(`\nlearner-sync: ${name} again: quitting at once, the answers in flight are lost${saved}\n`);
        process.exit(code);
      }
      controller.signalName = name;
      controller.exitCode = code;
      const what = name === 'SIGINT' ? 'interrupted (Ctrl-C)' : 'terminated (SIGTERM)';
      // On a terminal, the progress bar's line is cleared first, and the bar carries on below.
      const clear = process.stderr.isTTY ? '\r\x1b[2K' : '';
      process.stderr.write(`${clear}learner-sync: ${what}: sending nothing new, waiting for the answers in flight (again to quit at once)\n`);
      controller.abort();
    };
    process.on(name, handlers[name]);
  }
  return () => {
    for (const [name, handler] of Object.entries(handlers)) process.off(name, handler);
  };
}

function readPinnedPlan(file) {
  const pinned = parseJson(readFile(file, 'plan file'), file, 'plan file');
  if (!Array.isArray(pinned?.actions) || !pinned?.options?.platform) throw new UsageError(`plan file ${file} is not a learner-sync plan`);
  return pinned;
}

/**
 * The budget this sync shares with the organisation's other syncs on this machine (a state
 * file per base URL), or undefined: with --no-shared-budget, with a share set by hand
 * (--rate-share, or rate.share below 1), or when no budget is known (no rate on a platform
 * without a default). A state file that cannot be used is an error before anything is sent.
 */
async function openSharedBudget(values, options) {
  if (values['no-shared-budget']) return undefined;
  const rate = options.rate ?? (options.platform === 'foundry' ? parseRate('200/60s', '--rate') : undefined);
  if (!rate || (rate.share ?? 1) < 1) return undefined;
  const dir = budgetDir(values['budget-dir']);
  const warn = (text) => process.stderr.write(`${printable(`learner-sync: warning: ${text}`)}\n`);
  const budget = fileBudget({ dir, baseUrl: options.baseUrl, rate, warn });
  try {
    await budget.open();
  } catch (e) {
    throw new UsageError(`${e.message} (--budget-dir or LEARNER_SYNC_BUDGET_DIR places it; --no-shared-budget paces this sync alone)`);
  }
  return budget;
}

async function runSync(args) {
  const parsed = parse('sync', args);
  if (!parsed) return 0;
  const { values, config } = parsed;
  let pinned;
  if (values.plan) {
    pinned = readPinnedPlan(values.plan);
    const platform = values.platform ?? config.platform ?? pinned.options.platform;
    if (platform !== pinned.options.platform) throw new UsageError(`the plan is for ${pinned.options.platform}, not ${platform}`);
    values.platform = platform;
    values.source ??= [];
  }
  if (values.resume && pinned) throw new UsageError('--resume carries on the run its checkpoint holds: leave --plan out');
  const resumeFrom = values.resume ? readFile(values.resume, 'checkpoint file').toString('utf8') : undefined;
  // A resumed run keeps its checkpoint file up to date, so it can be resumed again.
  const checkpointFile = values.checkpoint ?? (values.resume && values.resume !== '-' ? values.resume : undefined);
  if (checkpointFile === '-') throw new UsageError('--checkpoint must name a file, not standard output');
  const options = planOptions(values, config, { sourceNeeded: !pinned && !resumeFrom });
  Object.assign(options, syncSettings(values, config, options.platform));
  if (values.report) checkWritable(values.report, 'report file');
  if (checkpointFile) checkWritable(checkpointFile, 'checkpoint file');
  const sharedBudget = await openSharedBudget(values, options);
  const progress = progressReporter();
  const controller = new AbortController();
  const host = { sources: sources(values), plan: pinned, onEvent: (e) => progress.onEvent(e), signal: controller.signal, sharedBudget };
  if (resumeFrom !== undefined) host.checkpoint = resumeFrom;
  if (checkpointFile) host.saveCheckpoint = (text) => writeCheckpoint(checkpointFile, text);
  const removeHandlers = interruptOnSignals(controller, checkpointFile);
  let report;
  try {
    report = await sync(options, host);
  } finally {
    removeHandlers();
    progress.end();
  }
  let code = 0;
  if (options.dryRun && report.planned) code = printPlan(report.planned, JSON.stringify(report.planned), values.format);
  else {
    if (values.format === 'json') process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else if (values.format === 'table') process.stdout.write(formatOutcomes(report));
    else if (values.format === 'csv') process.stdout.write(reportToCsv(report));
    // The usable rows were synced; the unusable ones are listed as plan and --dry-run list them.
    code = listInvalid(report.outcomes, 'nothing was sent for them');
  }
  for (const o of report.outcomes.filter((o) => o.state === 'failed').slice(0, 20)) {
    const where = o.source ? `${o.source}: row ${o.row}: ` : '';
    const detail = `${o.status ? `HTTP ${o.status} ` : ''}${o.error ?? ''}`;
    process.stderr.write(printable(`failed: ${where}${o.action} ${o.key ?? ''} ${o.platformId ?? ''}: ${detail}`) + '\n');
  }
  if (report.error) process.stderr.write(printable(`learner-sync: ${report.error.message} [${report.error.code}]`) + '\n');
  if (report.error?.code === 'RATE_LIMITED' && report.suspended && report.resumeAt !== undefined) {
    const when = new Date(report.resumeAt);
    const at = Number.isNaN(when.getTime()) ? `${report.resumeAt} ms after the Unix epoch` : when.toISOString();
    process.stderr.write(`  the platform asked to be left alone until ${at}: run the sync again after then\n`);
  }
  // A dry run's plan said it is held when it was printed.
  if (report.held && !(options.dryRun && report.planned)) {
    process.stderr.write(`learner-sync: plan held, nothing sent: ${report.held.reason}\n`);
    process.stderr.write(`  to apply it, run again with --approve ${report.held.fingerprint}\n`);
  }
  if (report.withheld) process.stderr.write(`learner-sync: ${report.withheld.count} ${report.withheld.reason}\n`);
  // The summary first: it reaches the user whatever happens to the report file.
  process.stderr.write(`${summaryLine(report)}\n`);
  const saved = values.report ? saveReport(report, values.report) : true;
  // Interrupted, the checkpoint is written wherever it goes; suspended otherwise (a long
  // Retry-After), only where --checkpoint (or --resume) says: a new run starts afresh.
  if (report.suspended && report.checkpoint && (report.interrupted || checkpointFile)) {
    saveCheckpoint(report.checkpoint, checkpointFile ?? DEFAULT_CHECKPOINT);
  }
  else if (checkpointFile && existsSync(checkpointFile)) {
    // The run is over: its checkpoint must not be resumed (a new run starts afresh).
    rmSync(checkpointFile, { force: true });
  }
  if (report.interrupted) return controller.exitCode;
  // A plan file that asks for what the planner never plans is bad input: nothing was sent.
  if (report.error?.code === 'PLAN_REFUSED') return 2;
  if (report.error || report.counts.failed > 0) return 1;
  if (report.held) return 3;
  return code || (saved ? 0 : 1);
}

/** The package's version, from its package.json. */
function version() {
  return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
}

export async function main(argv) {
  const [command, ...rest] = argv;
  try {
    if (command === '--version' || command === '-V' || command === 'version') {
      process.stdout.write(`learner-sync ${version()}\n`);
      return 0;
    }
    if (command === 'help' && rest.length) {
      // `help plan`: that command's help.
      if (!Object.hasOwn(USAGE, rest[0]) || rest[0] === 'main') throw new UsageError(`unknown command ${JSON.stringify(rest[0])}; commands: plan, sync`);
      process.stdout.write(USAGE[rest[0]] + '\n');
      return 0;
    }
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
    // A bug: Node prints the stack itself, past the stderr redaction, so redact it here.
    for (const field of ['message', 'stack']) if (typeof e?.[field] === 'string') e[field] = redactSecrets(e[field], CREDENTIALS);
    throw e;
  }
}

redactStderr();
process.exitCode = await main(process.argv.slice(2));
