// The learner-sync CLI, run as a user runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OPTIONS } from '../cli/usage.js';
import { progressReporter } from '../cli/progress.js';
import { formatOutcomes } from '../cli/table.js';
import { readCsvRecords } from './read-csv.js';
import { runCli } from './run-cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'js/cli/learner-sync.js');
const SOURCE = join(ROOT, 'examples/walkthrough/source.csv');
const FOUNDRY = join(ROOT, 'examples/walkthrough/foundry-users.json');

const run = (...args) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
const runIn = (cwd, ...args) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd });

/** A temporary folder with `files` ({name: text or JSON value}) written into it. */
function folder(files) {
  const dir = mkdtempSync(join(tmpdir(), 'ls-cli-'));
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}


test('plan prints the walkthrough plan as JSON', () => {
  const r = run('plan', '--platform', 'foundry', '--source', SOURCE, '--target', FOUNDRY);
  assert.equal(r.status, 0, r.stderr);
  const plan = JSON.parse(r.stdout);
  assert.deepEqual(plan.actions.map((a) => `${a.action} ${a.key}`), ['update 33', 'deactivate 55', 'create 686', 'review 787']);
  assert.equal(plan.actions[0].platformId, 'dek\u2011123');
});

test('plan --format table is readable', () => {
  const r = run('plan', '--platform', 'foundry', '--source', SOURCE, '--target', FOUNDRY, '--orphans', 'deactivate', '--format', 'table');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ACTION\s+KEY\s+PLATFORM ID\s+DETAIL/);
  assert.match(r.stdout, /update\s+33\s+dek\u2011123\s+lastName: "Smith" -> "Smith\u2011Evans"/);
  assert.match(r.stdout, /deactivate\s+787\s+qai\u2011928\s+orphan; active: true -> false/);
  assert.match(r.stdout, /summary: create 1, update 1, deactivate 2/);
});

test('plan says a held plan is held, prints the fingerprint --approve takes, marks held writes and exits 3 (issue 12)', () => {
  const dir = folder({ 'learner-sync.json': { guards: { maxDeactivatePercent: 0, maxDeactivateCount: 0 } } });
  try {
    const args = ['plan', '--platform', 'foundry', '--source', SOURCE, '--target', FOUNDRY, '--config', join(dir, 'learner-sync.json')];
    const json = run(...args);
    assert.equal(json.status, 3, json.stderr);
    const plan = JSON.parse(json.stdout);
    assert.ok(plan.held?.fingerprint, json.stdout);
    assert.notEqual(plan.held.fingerprint, plan.fingerprint, 'the approval names the users to deactivate too');
    assert.match(json.stderr, new RegExp(`plan held: .*\\n  to apply it, run sync with --approve ${plan.held.fingerprint}`));

    const table = run(...args, '--format', 'table');
    assert.equal(table.status, 3, table.stderr);
    assert.match(table.stdout, /deactivate\s+55\s+iux\u2011332\s+held; active: true -> false/);
    assert.match(table.stdout, /create\s+686\s+held; /);
    assert.match(table.stdout, /review\s+787\s+qai\u2011928\s+no learner/, 'a review sends nothing: not marked');
    assert.match(table.stdout, new RegExp(`\\nheld: .+\\napprove with: --approve ${plan.held.fingerprint}\\n$`));
    assert.doesNotMatch(table.stdout, new RegExp(plan.fingerprint), 'no fingerprint that would not approve it');

    const csv = run(...args, '--format', 'csv');
    assert.equal(csv.status, 3, csv.stderr);
    const { records } = readCsvRecords(csv.stdout);
    assert.deepEqual(records.map((r) => `${r.action} ${r.held}`), ['update yes', 'deactivate yes', 'create yes', 'review ']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a keyless user with the learner\'s email is linked by default; --no-link and linkByEmail: false make it a conflict (issue 12)', () => {
  const dir = folder({
    'hr.csv': 'ssoId,firstName,lastName,email,active\n686,Ellen,Cohen,ellen.cohen@example.org,true\n',
    'users.json': [{ id: 'u9', firstName: 'Ellen', lastName: 'Cohen', email: 'ellen.cohen@example.org', active: true }],
    'off.json': { linkByEmail: false },
  });
  try {
    const base = ['plan', '--platform', 'foundry', '--source', join(dir, 'hr.csv'), '--target', join(dir, 'users.json')];
    const on = run(...base);
    assert.equal(on.status, 0, on.stderr);
    assert.deepEqual(JSON.parse(on.stdout).actions.map((a) => `${a.action} ${a.platformId}`), ['link u9']);
    for (const off of [run(...base, '--no-link'), run(...base, '--config', join(dir, 'off.json'))]) {
      assert.equal(off.status, 0, off.stderr);
      const plan = JSON.parse(off.stdout);
      assert.deepEqual(plan.actions.map((a) => `${a.action} ${a.conflict ?? a.platformId} ${a.platformIds ?? a.field}`), ['review u9 email', 'conflict keyTaken u9']);
      assert.equal(plan.options.linkByEmail, false);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--map, --match and several target pages', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-cli-'));
  try {
    writeFileSync(join(dir, 'hr.csv'), 'Emp SSO,Given,Family,Mail,Status\n1,Ann,Lee,ann@x.org,Active\n2,Bo,Ek,bo@x.org,Left\n');
    writeFileSync(join(dir, 'map.json'), JSON.stringify({ ssoId: 'Emp SSO', firstName: 'Given', lastName: 'Family', email: 'Mail', active: { column: 'Status', activeValues: ['Active'] } }));
    writeFileSync(join(dir, 'p1.json'), JSON.stringify({ data: [{ id: 'u1', attributes: { active: true, email: 'ann@x.org', first_name: 'Ann', last_name: 'Lee', sso_id: null } }], links: { next: 'x' } }));
    writeFileSync(join(dir, 'p2.json'), JSON.stringify({ data: [{ id: 'u2', attributes: { active: true, email: 'bo@x.org', first_name: 'Bo', last_name: 'Ek', sso_id: '2' } }], links: { next: null } }));
    const r = run('plan', '--platform', 'foundry', '--source', join(dir, 'hr.csv'), '--map', join(dir, 'map.json'),
      '--match', 'ssoId,email', '--target', join(dir, 'p1.json'), '--target', join(dir, 'p2.json'));
    assert.equal(r.status, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    assert.deepEqual(plan.actions.map((a) => `${a.action} ${a.key} ${a.platformId}`), ['link 1 u1', 'deactivate 2 u2']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input exits 2 naming file, row and field; the plan is still printed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-cli-'));
  try {
    const src = join(dir, 'hr.csv');
    writeFileSync(src, 'ssoId,firstName,lastName,email,active\n1,Ann,Lee,ann@x.org,sometimes\n2,Bo,Ek,bo@x.org,true\n');
    const r = run('plan', '--platform', 'foundry', '--source', src, '--target', FOUNDRY);
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`${src.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: row 2: active \\("sometimes"\\) is not a true/false value`));
    assert.equal(JSON.parse(r.stdout).summary.create, 1);

    const bad = run('plan', '--platform', 'foundry', '--source', SOURCE, '--target', SOURCE);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /source\.csv: not a Foundry users page .*\[MALFORMED_PAGE\]/);
    assert.equal(bad.stdout, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('usage errors exit 2 with a message; --help exits 0', () => {
  for (const [args, re] of [
    [['plan', '--source', SOURCE, '--target', FOUNDRY], /--platform is required/],
    [['plan', '--platform', 'foundry', '--target', FOUNDRY], /--source FILE is needed/],
    [['plan', '--platform', 'foundry', '--source', '/nonexistent.csv', '--target', FOUNDRY], /cannot read source file \/nonexistent\.csv: no such file/],
    [['plan', '--platform', 'foundry', '--source', SOURCE, '--target', FOUNDRY, '--colour'], /Unknown option '--colour'/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ]) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  const help = run('plan', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--orphans POLICY/);
  assert.equal(run('--help').status, 0);
});

test('sync: progress on stderr, summary, report file, exit codes, no credential in any output', async () => {
  const { startFoundry } = await import('../sim/foundry.js');
  const SECRET = 'cli-secret-8c1f';
  const env = { FOUNDRY_CLIENT_ID: 'sim-client', FOUNDRY_CLIENT_SECRET: SECRET };
  const seed = [{ id: 'dek-123', attributes: { sso_id: '33', first_name: 'Geoff', last_name: 'Smith', email: 'geoff.smith@example.org', active: true } }];
  const dir = mkdtempSync(join(tmpdir(), 'ls-sync-'));
  const sim = await startFoundry({ users: seed, clientSecret: SECRET, rate: { limit: 200, windowMs: 1000 } });
  try {
    const base = ['sync', '--platform', 'foundry', '--base-url', sim.url, '--source', SOURCE, '--rate', '200/1s'];
    const dry = await runCli([...base, '--dry-run'], env);
    assert.equal(dry.status, 0, dry.stderr);
    assert.deepEqual(JSON.parse(dry.stdout).actions.map((a) => `${a.action} ${a.key}`), ['update 33', 'create 44', 'create 686']);
    assert.equal(sim.stats().created, 0, 'a dry run writes nothing');

    const report = join(dir, 'report.json');
    const ok = await runCli([...base, '--report', report], env);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, /applying: 3\/3 \(100%\)/);
    assert.match(ok.stderr, /3 done, 0 failed, 0 skipped; \d+ requests/);
    const r = JSON.parse(readFileSync(report, 'utf8'));
    assert.equal(r.created.length, 2);

    writeFileSync(join(dir, 'more.csv'), 'ssoId,firstName,lastName,email,active\n99,New,Person,new@x.org,true\n');
    sim.setFaults({ error5xx: 1 });
    const failed = await runCli([...base.slice(0, 6), join(dir, 'more.csv'), '--rate', '200/1s'], env);
    sim.setFaults({});
    assert.equal(failed.status, 1, failed.stderr);
    assert.match(failed.stderr, /could not get an access token: HTTP 503: Service Unavailable \[PLATFORM_UNAVAILABLE\]/);

    const wrong = await runCli(base, { ...env, FOUNDRY_CLIENT_SECRET: 'wrong-secret-4242' });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /AUTH_FAILED/);
    for (const out of [dry, ok, failed, wrong]) {
      assert.ok(!(out.stdout + out.stderr).includes(SECRET) && !(out.stdout + out.stderr).includes('wrong-secret-4242'), 'a credential was printed');
    }
    assert.ok(!readFileSync(report, 'utf8').includes(SECRET));

    const insecure = await runCli(['sync', '--platform', 'foundry', '--base-url', 'http://api.example.org', '--source', SOURCE], env);
    assert.equal(insecure.status, 2);
    assert.match(insecure.stderr, /must be https/);
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sync --plan applies a plan made earlier, skipping users that changed since', async () => {
  const { startFoundry } = await import('../sim/foundry.js');
  const page = JSON.parse(readFileSync(FOUNDRY, 'utf8'));
  const sim = await startFoundry({ users: page.data, rate: { limit: 200, windowMs: 1000 } });
  const dir = mkdtempSync(join(tmpdir(), 'ls-pinned-'));
  try {
    // Monday: the plan, from exports, approved in the preview.
    const planned = run('plan', '--platform', 'foundry', '--source', SOURCE, '--target', FOUNDRY);
    writeFileSync(join(dir, 'plan.json'), planned.stdout);
    // Tuesday: someone corrected 33's last name by hand before the sync ran.
    await fetch(`${sim.url}/oauth/token`, { method: 'POST', body: 'grant_type=client_credentials&client_id=sim-client&client_secret=sim-secret', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
      .then((r) => r.json())
      .then((t) =>
        fetch(`${sim.url}/v1/admin/registration_sets/${encodeURIComponent('dek\u2011123')}`, {
          method: 'PATCH',
          headers: { authorization: `Bearer ${t.access_token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ data: { type: 'registration_sets', id: 'dek\u2011123', attributes: { registrations: [{ rule_set: 'user_rule_set', last_name: 'Smyth' }] } } }),
        }),
      );
    const env = { FOUNDRY_CLIENT_ID: 'sim-client', FOUNDRY_CLIENT_SECRET: 'sim-secret' };
    const report = join(dir, 'report.json');
    const r = await runCli(['sync', '--plan', join(dir, 'plan.json'), '--base-url', sim.url, '--rate', '200/1s', '--report', report], env);
    assert.equal(r.status, 0, r.stderr);
    const outcomes = JSON.parse(readFileSync(report, 'utf8')).outcomes;
    assert.deepEqual(outcomes.map((o) => `${o.action} ${o.key} ${o.state}`), ['update 33 skipped', 'deactivate 55 done', 'create 686 done', 'review 787 skipped']);
    assert.match(outcomes[0].reason, /lastName of dek\u2011123 is now "Smyth", the plan saw "Smith"/);
    assert.equal(sim.users().find((u) => u.id === 'dek\u2011123').attributes.last_name, 'Smyth', 'the hand correction is kept');
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plan --format csv: the walkthrough plan as spreadsheet rows', () => {
  const r = run('plan', '--platform', 'foundry', '--source', SOURCE, '--target', FOUNDRY, '--format', 'csv');
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.endsWith('\r\n') && !r.stdout.startsWith('\uFEFF'));
  const { header, records } = readCsvRecords(r.stdout);
  assert.deepEqual(header.slice(0, 6), ['action', 'key', 'platformId', 'email', 'firstName', 'lastName']);
  assert.deepEqual(records.map((a) => `${a.action} ${a.key} ${a.platformId}`), ['update 33 dek\u2011123', 'deactivate 55 iux\u2011332', 'create 686 ', 'review 787 qai\u2011928']);
  const [update, leaver, create, orphan] = records;
  assert.equal(update.changes, 'lastName: Smith \u2192 Smith\u2011Evans');
  assert.equal(update.lastName, 'Smith\u2011Evans');
  assert.equal(leaver.changes, 'active: true \u2192 false');
  assert.deepEqual([create.email, create.firstName, create.lastName, create.active, create.source, create.row], ['ellen.cohen@example.org', 'Ellen', 'Cohen', 'true', SOURCE, '5']);
  assert.deepEqual([orphan.orphan, orphan.email, orphan.reason !== ''], ['yes', 'dan.dismayed@example.org', true]);
});

test('config file: picked up from the current directory, or from --config; flags override it', () => {
  const hr = 'Emp SSO,Given,Family,Mail,Status\n33,Geoff,Smith\u2011Evans,geoff.smith@example.org,Active\n44,Kate,Jones,kate.jones@example.org,Active\n';
  const dir = folder({
    'learner-sync.json': { platform: 'foundry', orphans: 'deactivate', match: ['ssoId', 'email'], mapping: 'mapping/hr.json', protect: ['iux\u2011332'] },
    'hr.csv': hr,
  });
  mkdirSync(join(dir, 'mapping'));
  writeFileSync(join(dir, 'mapping/hr.json'), JSON.stringify({ ssoId: 'Emp SSO', firstName: 'Given', lastName: 'Family', email: 'Mail', active: { column: 'Status', activeValues: ['Active'] } }));
  const elsewhere = mkdtempSync(join(tmpdir(), 'ls-cwd-'));
  try {
    // From the current directory: no --platform, the mapping file found beside the config.
    const fromCwd = runIn(dir, 'plan', '--source', 'hr.csv', '--target', FOUNDRY);
    assert.equal(fromCwd.status, 0, fromCwd.stderr);
    assert.match(fromCwd.stderr, /using learner-sync\.json in the current directory/);
    const plan = JSON.parse(fromCwd.stdout);
    assert.deepEqual(plan.options.match, ['ssoId', 'email']);
    assert.deepEqual(plan.actions.map((a) => `${a.action} ${a.key}`), ['update 33', 'deactivate 787'], 'the orphan 55 is protected');
    assert.equal(plan.actions[1].orphan, true, 'orphans deactivated by the config policy');
    assert.equal(plan.summary.protected, 1);

    // From --config, run in another folder: the mapping path is relative to the config file.
    const viaFlag = runIn(elsewhere, 'plan', '--config', join(dir, 'learner-sync.json'), '--source', join(dir, 'hr.csv'), '--target', FOUNDRY);
    assert.equal(viaFlag.status, 0, viaFlag.stderr);
    assert.equal(viaFlag.stdout, fromCwd.stdout.replaceAll('"hr.csv"', JSON.stringify(join(dir, 'hr.csv'))), 'the same plan, labelled by the path given');
    assert.doesNotMatch(viaFlag.stderr, /using/);

    // Flags override the file: --orphans, --match and --platform.
    const overridden = runIn(dir, 'plan', '--source', 'hr.csv', '--target', FOUNDRY, '--orphans', 'review', '--match', 'ssoId', '--format', 'table');
    assert.equal(overridden.status, 0, overridden.stderr);
    assert.match(overridden.stdout, /review\s+787\s+qai\u2011928/);
    assert.doesNotMatch(overridden.stdout, /\b55\b/, 'what no flag overrides still comes from the file: 55 stays protected');
    const otherPlatform = runIn(dir, 'plan', '--platform', 'learnifier', '--source', 'hr.csv', '--target', '/dev/null');
    assert.equal(otherPlatform.status, 2);
    assert.match(otherPlatform.stderr, /\/dev\/null/, 'read as a Learnifier page, not a Foundry one');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  }
});

test('config file mistakes exit 2 naming the file and the key; credentials are refused and never echoed', () => {
  const SECRET = 'cfg-secret-5e7d';
  const cases = [
    [{ platform: 'foundry', colour: 'blue' }, /learner-sync\.json: colour is not a known key \(known here: platform, baseUrl/],
    [{ platform: 'foundry', guards: { maxDeactivatePercnt: 5 } }, /learner-sync\.json: guards\.maxDeactivatePercnt is not a known key/],
    [{ platform: 'foundry', concurrency: '4' }, /learner-sync\.json: concurrency must be a whole number of at least 1/],
    [{ platform: 'foundry', match: 'ssoId' }, /learner-sync\.json: match must be a non-empty array/],
    [{ platform: 'foundry', match: ['ssoId', 'firstName'] }, /learner-sync\.json: match\[1\] must be one of/],
    [{ platform: 'moodle' }, /learner-sync\.json: platform must be one of "foundry", "learnifier", "scim"/],
    [{ platform: 'foundry', rate: '200 per minute' }, /learner-sync\.json: rate must look like "200\/60s"/],
    [{ platform: 'foundry', mapping: 'missing.json' }, /cannot read mapping file \(learner-sync\.json: mapping\) .*missing\.json: no such file/],
    [{ platform: 'foundry', mapping: { ssoid: 'SSO' } }, /learner-sync\.json: mapping\.ssoid is not a field/],
    [{ platform: 'foundry', guards: { approve: 'abc' } }, /learner-sync\.json: guards\.approve belongs on the command line/],
    [{ platform: 'foundry', clientSecret: SECRET }, /learner-sync\.json: clientSecret looks like a credential.*FOUNDRY_CLIENT_SECRET/],
    [{ platform: 'foundry', credentials: { clientId: 'x', clientSecret: SECRET } }, /learner-sync\.json: credentials looks like a credential/],
    [{ platform: 'scim', scim: { key: 'externalId', token: SECRET } }, /learner-sync\.json: scim\.token looks like a credential.*SCIM_TOKEN/],
    [{ platform: 'learnifier', password: SECRET }, /learner-sync\.json: password looks like a credential/],
    [{ platform: 'foundry', baseUrl: `https://svc:${SECRET}@api.fifoundry.net` }, /learner-sync\.json: baseUrl must not carry credentials/],
    [`{"platform": "foundry",\n "clientSecret": ${SECRET}}`, /config file learner-sync\.json is not valid JSON \(line 2, column 18\)/],
  ];
  for (const [config, re] of cases) {
    const dir = folder({ 'learner-sync.json': config });
    try {
      for (const args of [['plan', '--source', SOURCE, '--target', FOUNDRY], ['sync', '--source', SOURCE, '--base-url', 'https://api.fifoundry.net']]) {
        const r = runIn(dir, ...args);
        assert.equal(r.status, 2, `${JSON.stringify(config)}: ${r.stderr}`);
        assert.match(r.stderr, re);
        assert.equal(r.stdout, '');
        assert.ok(!r.stderr.includes(SECRET), `the secret was printed: ${r.stderr}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  // A missing --config file is an error too, not silently skipped.
  const missing = run('plan', '--config', '/nonexistent/learner-sync.json', '--source', SOURCE, '--target', FOUNDRY);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read config file \/nonexistent\/learner-sync\.json: no such file/);
});

test('--help for every command lists every flag; the main help lists the exit codes and the config file', () => {
  for (const command of ['plan', 'sync']) {
    for (const flag of ['--help', '-h']) {
      const r = run(command, flag);
      assert.equal(r.status, 0, r.stderr);
      for (const name of Object.keys(OPTIONS[command])) assert.match(r.stdout, new RegExp(`^\\s+(-h, )?--${name}\\b`, 'm'), `${command} --help: --${name}`);
      for (const needed of ['--config FILE', '--format FORMAT', 'json (default), table or csv', 'learner-sync.json', 'Exit codes:']) {
        assert.ok(r.stdout.includes(needed), `${command} --help: ${needed}`);
      }
    }
  }
  assert.ok(['--base-url', '--report', '--dry-run', '--plan', '--rate'].every((f) => f.slice(2) in OPTIONS.sync));
  const main = run('--help');
  assert.equal(main.status, 0);
  for (const line of [/^\s+0\s+ok/m, /^\s+1\s+some actions failed/m, /^\s+2\s+bad input or configuration/m, /^\s+3\s+stopped by a safety guard/m, /learner-sync\.json/]) {
    assert.match(main.stdout, line);
  }
  assert.equal(run().status, 2, 'no command is a usage error');
  const badFormat = run('plan', '--platform', 'foundry', '--source', SOURCE, '--target', FOUNDRY, '--format', 'xml');
  assert.equal(badFormat.status, 2);
  assert.match(badFormat.stderr, /--format must be json, table, csv, not "xml"/);
  const share = run('sync', '--platform', 'learnifier', '--base-url', 'https://acme.learnifier.test', '--source', SOURCE, '--rate-share', '0.5');
  assert.equal(share.status, 2);
  assert.match(share.stderr, /--rate-share needs --rate .*no request budget is known for learnifier/);
});

test('progress: a bar redrawn in place on a terminal, plain lines otherwise', () => {
  const events = [
    { type: 'phase', phase: 'listing' },
    ...[100, 200, 300].map((done) => ({ type: 'progress', phase: 'listing', done })),
    { type: 'phase', phase: 'applying' },
    ...Array.from({ length: 20 }, (_, i) => ({ type: 'progress', phase: 'applying', done: i + 1, total: 20 })),
    { type: 'phase', phase: 'done' },
  ];
  const feed = (isTTY) => {
    let out = '';
    const p = progressReporter({ isTTY, write: (s) => (out += s) });
    for (const e of events) p.onEvent(e);
    p.end();
    return out;
  };
  const plain = feed(false);
  assert.doesNotMatch(plain, /[\r\x1b]/, 'no carriage returns or escape codes in a log');
  const lines = plain.trimEnd().split('\n');
  assert.deepEqual(lines.slice(0, 2), ['listing…', 'listing: 100 users read']);
  assert.ok(lines.includes('applying: 2/20 (10%)') && lines.includes('applying: 20/20 (100%)'), plain);
  assert.equal(lines.filter((l) => l.startsWith('applying: ')).length, 11, 'one line a tenth (0% to 100%), not one per action');

  const bar = feed(true);
  assert.match(bar, /\r\x1b\[2Kapplying \[#{30}\] 100% 20\/20/);
  assert.ok(bar.split('\r').length > 20, 'redrawn in place');
});

test('sync from a config file: --format csv and table print the outcomes, --report FILE.csv writes them', async () => {
  const { startFoundry } = await import('../sim/foundry.js');
  const seed = [{ id: 'dek-123', attributes: { sso_id: '33', first_name: 'Geoff', last_name: 'Smith', email: 'geoff.smith@example.org', active: true } }];
  const sim = await startFoundry({ users: seed, clientSecret: 'sim-secret-77', rate: { limit: 200, windowMs: 1000 } });
  const dir = folder({});
  try {
    writeFileSync(join(dir, 'learner-sync.json'), JSON.stringify({ platform: 'foundry', baseUrl: sim.url, rate: '200/1s', concurrency: 2, retry: { maxAttempts: 3 } }));
    const env = { FOUNDRY_CLIENT_ID: 'sim-client', FOUNDRY_CLIENT_SECRET: 'sim-secret-77' };
    const dry = await runCli(['sync', '--source', SOURCE, '--dry-run', '--format', 'csv'], env, dir);
    assert.equal(dry.status, 0, dry.stderr);
    assert.deepEqual(readCsvRecords(dry.stdout).records.map((a) => `${a.action} ${a.key}`), ['update 33', 'create 44', 'create 686']);

    const r = await runCli(['sync', '--source', SOURCE, '--format', 'csv', '--report', 'report.csv'], env, dir);
    assert.equal(r.status, 0, r.stderr);
    const { header, records } = readCsvRecords(r.stdout);
    assert.deepEqual(header, ['action', 'key', 'platformId', 'state', 'status', 'error', 'reason', 'attempts', 'source', 'row']);
    assert.deepEqual(records.map((o) => `${o.action} ${o.key} ${o.state}`), ['update 33 done', 'create 44 done', 'create 686 done']);
    assert.ok(records[1].platformId, 'a create gives the new ID');
    assert.equal(readFileSync(join(dir, 'report.csv'), 'utf8'), r.stdout);
    assert.match(r.stderr, /3 done, 0 failed, 0 skipped/, 'the summary stays on stderr');
    assert.ok(!(r.stdout + r.stderr).includes('sim-secret-77'));

    writeFileSync(join(dir, 'more.csv'), 'ssoId,firstName,lastName,email,active\n99,New,Person,new@x.org,true\n');
    const table = await runCli(['sync', '--source', 'more.csv', '--format', 'table', '--concurrency', '1'], env, dir);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^ACTION\s+KEY\s+PLATFORM ID\s+STATE\s+DETAIL\n/);
    assert.match(table.stdout, /create\s+99\s+\S+\s+done/);
    assert.match(table.stdout, /counts: done 1, failed 0, skipped 3/);

    const unwritable = await runCli(['sync', '--source', 'more.csv', '--report', join(dir, 'no/such/folder/r.json')], env, dir);
    assert.equal(unwritable.status, 2);
    assert.match(unwritable.stderr, /cannot write report file .*r\.json: no such folder/);
    assert.equal(sim.stats().created, 3, 'refused before anything was sent');

    const quiet = await runCli(['sync', '--source', 'more.csv', '--base-url', 'http://127.0.0.1:1'], env, dir);
    assert.equal(quiet.stdout, '', 'without --format a sync prints nothing on stdout');
    assert.equal(quiet.status, 1, '--base-url overrides the config file: nothing listens there');
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the README's example config file is accepted as it stands", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### The config file'));
  const example = /```json\n([\s\S]*?)```/.exec(section)[1];
  const config = JSON.parse(example);
  const dir = folder({ 'learner-sync.json': example });
  try {
    mkdirSync(join(dir, dirname(config.mapping)), { recursive: true });
    writeFileSync(join(dir, config.mapping), JSON.stringify({ ssoId: 'ssoId' }));
    const r = run('plan', '--config', join(dir, 'learner-sync.json'), '--source', SOURCE, '--target', FOUNDRY);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).options.match, config.match);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the outcomes table: untrusted text cannot drive the terminal, and a large realm fits', () => {
  const hostile = { action: 'update', key: '1', platformId: 'u1\u202e', state: 'failed', status: 422, error: 'taken\x1b[2J\x1b]0;pwned\x07\r\nnext', attempts: 1 };
  const many = Array.from({ length: 200_000 }, (_, i) => ({ action: 'create', key: String(i), platformId: `p${i}`, state: 'done', attempts: 1 }));
  const text = formatOutcomes({ counts: { done: 200_000, failed: 1, skipped: 0 }, outcomes: [hostile, ...many] });
  const first = text.split('\n')[1];
  assert.doesNotMatch(text, /[\x1b\x07\r\u202e]/);
  assert.match(first, /^update\s+1\s+u1\uFFFD\s+failed\s+HTTP 422 taken\uFFFD\[2J\uFFFD\]0;pwned\uFFFD next$/);
  assert.match(text, /counts: done 200000, failed 1, skipped 0\n$/);
});
