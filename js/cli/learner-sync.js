#!/usr/bin/env node
// learner-sync command-line tool.
//   learner-sync plan --platform foundry --source learners.csv --target users-1.json ...
// Exit codes: 0 ok, 2 bad input or configuration (a page that cannot be read, bad options,
// or source rows that cannot be used: the plan is still printed, the rows listed on stderr).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Planner, LearnerSyncError } from '../node.js';
import { formatTable } from './table.js';

const USAGE = {
  main: `learner-sync: keeps learning-platform learners in step with a system of record

Usage: learner-sync <command> [options]

Commands:
  plan    print what a sync would do, from exported files (nothing is sent)

Run "learner-sync <command> --help" for a command's options.
Exit codes: 0 ok, 2 bad input or configuration.`,
  plan: `Usage: learner-sync plan --platform foundry|learnifier|scim --source FILE --target FILE [options]

Prints the plan as JSON (or a table) on stdout.

  --platform NAME      foundry, learnifier or scim (required)
  --source FILE        the system of record: CSV, or a JSON array (repeatable: one file a page)
  --target FILE        a raw list-response body of the platform, or a normalised JSON array
                       (repeatable: one file a page)
  --match KEYS         matching keys in order of precedence, comma-separated (default: ssoId)
                       e.g. ssoId,email links users found only by email on a first sync
  --orphans POLICY     review (default), deactivate, or delete (not on Foundry)
  --map FILE           JSON mapping of fields to source columns, e.g.
                       {"ssoId": "Employee SSO", "active": {"column": "Status", "activeValues": ["Active"]}}
  --protect IDS        keys or platform IDs orphan handling must never touch, comma-separated
  --format FORMAT      json (default) or table
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

function planOptions(values) {
  if (!values.platform) throw new UsageError('--platform is required (foundry, learnifier or scim)');
  const options = { platform: values.platform };
  if (values.match) options.match = list(values.match);
  if (values.orphans) options.orphans = values.orphans;
  if (values.protect) options.protect = list(values.protect);
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

function runPlan(args) {
  const { values } = parseArgs({
    args,
    options: {
      platform: { type: 'string' },
      source: { type: 'string', multiple: true },
      target: { type: 'string', multiple: true },
      match: { type: 'string' },
      orphans: { type: 'string' },
      map: { type: 'string' },
      protect: { type: 'string' },
      format: { type: 'string', default: 'json' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE.plan + '\n');
    return 0;
  }
  if (!['json', 'table'].includes(values.format)) throw new UsageError(`--format must be json or table, not ${values.format}`);
  if (!values.source?.length) throw new UsageError('at least one --source FILE is needed');
  if (!values.target?.length) throw new UsageError('at least one --target FILE is needed');
  const planner = new Planner(planOptions(values));
  for (const file of values.source) planner.addSource(readFile(file, 'source file'), { label: file });
  for (const file of values.target) planner.addTarget(readFile(file, 'target file'), { label: file });
  const json = planner.finishJson();
  const plan = JSON.parse(json);
  process.stdout.write(values.format === 'table' ? formatTable(plan) : json + '\n');
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

export function main(argv) {
  const [command, ...rest] = argv;
  try {
    if (!command || command === '-h' || command === '--help' || command === 'help') {
      process.stdout.write(USAGE.main + '\n');
      return command ? 0 : 2;
    }
    if (command === 'plan') return runPlan(rest);
    throw new UsageError(`unknown command ${JSON.stringify(command)}; commands: plan`);
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

process.exitCode = main(process.argv.slice(2));
