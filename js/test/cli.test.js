// The learner-sync CLI, run as a user runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
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
