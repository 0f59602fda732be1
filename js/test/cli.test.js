// The learner-sync CLI, run as a user runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'js/cli/learner-sync.js');
const SOURCE = join(ROOT, 'examples/walkthrough/source.csv');
const FOUNDRY = join(ROOT, 'examples/walkthrough/foundry-users.json');

const run = (...args) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

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
  const { spawn } = await import('node:child_process');
  const runAsync = (args, env) =>
    new Promise((resolve) => {
      const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('exit', (status) => resolve({ status, stdout, stderr }));
    });
  const SECRET = 'cli-secret-8c1f';
  const env = { FOUNDRY_CLIENT_ID: 'sim-client', FOUNDRY_CLIENT_SECRET: SECRET };
  const seed = [{ id: 'dek-123', attributes: { sso_id: '33', first_name: 'Geoff', last_name: 'Smith', email: 'geoff.smith@example.org', active: true } }];
  const dir = mkdtempSync(join(tmpdir(), 'ls-sync-'));
  const sim = await startFoundry({ users: seed, clientSecret: SECRET, rate: { limit: 200, windowMs: 1000 } });
  try {
    const base = ['sync', '--platform', 'foundry', '--base-url', sim.url, '--source', SOURCE, '--rate', '200/1s'];
    const dry = await runAsync([...base, '--dry-run'], env);
    assert.equal(dry.status, 0, dry.stderr);
    assert.deepEqual(JSON.parse(dry.stdout).actions.map((a) => `${a.action} ${a.key}`), ['update 33', 'create 44', 'create 686']);
    assert.equal(sim.stats().created, 0, 'a dry run writes nothing');

    const report = join(dir, 'report.json');
    const ok = await runAsync([...base, '--report', report], env);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, /applying: 3\/3 \(100%\)/);
    assert.match(ok.stderr, /3 done, 0 failed, 0 skipped; \d+ requests/);
    const r = JSON.parse(readFileSync(report, 'utf8'));
    assert.equal(r.created.length, 2);

    writeFileSync(join(dir, 'more.csv'), 'ssoId,firstName,lastName,email,active\n99,New,Person,new@x.org,true\n');
    sim.setFaults({ error5xx: 1 });
    const failed = await runAsync([...base.slice(0, 6), join(dir, 'more.csv'), '--rate', '200/1s'], env);
    sim.setFaults({});
    assert.equal(failed.status, 1, failed.stderr);
    assert.match(failed.stderr, /could not get an access token: HTTP 503: Service Unavailable \[PLATFORM_UNAVAILABLE\]/);

    const wrong = await runAsync(base, { ...env, FOUNDRY_CLIENT_SECRET: 'wrong-secret-4242' });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /AUTH_FAILED/);
    for (const out of [dry, ok, failed, wrong]) {
      assert.ok(!(out.stdout + out.stderr).includes(SECRET) && !(out.stdout + out.stderr).includes('wrong-secret-4242'), 'a credential was printed');
    }
    assert.ok(!readFileSync(report, 'utf8').includes(SECRET));

    const insecure = await runAsync(['sync', '--platform', 'foundry', '--base-url', 'http://api.example.org', '--source', SOURCE], env);
    assert.equal(insecure.status, 2);
    assert.match(insecure.stderr, /must be https/);
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sync --plan applies a plan made earlier, skipping users that changed since', async () => {
  const { startFoundry } = await import('../sim/foundry.js');
  const { spawn } = await import('node:child_process');
  const runAsync = (args, env) =>
    new Promise((resolve) => {
      const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('exit', (status) => resolve({ status, stdout, stderr }));
    });
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
    const r = await runAsync(['sync', '--plan', join(dir, 'plan.json'), '--base-url', sim.url, '--rate', '200/1s', '--report', report], env);
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
