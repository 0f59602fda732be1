// The CLI on a bad day (issue 10, items 4 and 8): a real sync whose source has unusable rows
// lists them and exits 2 (the usable rows still sync); the list cannot drive the terminal; a
// report that cannot be written never loses the summary or the created IDs; a plan file edited
// or made by hand is held (3) or refused (2) with nothing sent; a CSV with an open quote, or
// with no usable learner, deactivates nobody.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFoundry } from '../sim/foundry.js';
import { startHostile } from './hostile.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'js/cli/learner-sync.js');
// Random-looking, as real secrets are: any 8 characters of it in a path would be redacted too.
const SECRET = 'Vb7q-s3cr-5e2a-Kw9';
const ENV = { FOUNDRY_CLIENT_ID: 'sim-client', FOUNDRY_CLIENT_SECRET: SECRET };
const HEADER = 'ssoId,firstName,lastName,email,active\n';
/** Text that would drive a terminal: a bidi override, a colour escape, a title-setting OSC. */
const HOSTILE = 'ye\u202es\u001b[31m\u001b]0;pwned\u0007';

function runAsync(args, env = {}, cwd = undefined) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...ENV, ...env }, cwd });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const TERMINAL_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

let sim;
let dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ls-cli-hostile-'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

async function withSim(fn, users = []) {
  sim = await startFoundry({ users, clientSecret: SECRET, rate: { limit: 200, windowMs: 1000 } });
  try {
    return await fn(['sync', '--platform', 'foundry', '--base-url', sim.url, '--rate', '200/1s']);
  } finally {
    await sim.close();
  }
}

test('a real sync with unusable source rows lists them as file: row N: field (value) reason, syncs the rest, and exits 2', async () => {
  const src = join(dir, 'rows.csv');
  writeFileSync(src, `${HEADER}1,Ann,Lee,ann@x.org,sometimes\n2,Bo,Ek,bo@x.org,true\n3,Cy,Ng,not-an-email,true\n4,Di,Ox,di@x.org,true\n`);
  await withSim(async (base) => {
    const r = await runAsync([...base, '--source', src]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`${escape(src)}: row 2: active \\("sometimes"\\) is not a true/false value`));
    assert.match(r.stderr, new RegExp(`${escape(src)}: row 4: email \\("not-an-email"\\) `));
    assert.match(r.stderr, /2 source row\(s\) cannot be used; nothing was sent for them\./);
    // The rest of the plan still ran: the two usable learners were created.
    assert.match(r.stderr, /2 done, 0 failed, 2 skipped;/);
    assert.equal(sim.stats().created, 2);
    assert.equal(r.stdout, '');
    assert.ok(!r.stderr.includes(SECRET));
  });
});

test('the list of unusable rows cannot drive the terminal: plan, --dry-run and a real sync print it sanitised', async () => {
  const src = join(dir, 'hostile.csv');
  writeFileSync(src, `${HEADER}1,Ann,Lee,ann@x.org,${HOSTILE}\n2,Bo,Ek,bo@x.org,true\n`);
  const target = join(dir, 'users.json');
  writeFileSync(target, '[]');
  const plan = await runAsync(['plan', '--platform', 'foundry', '--source', src, '--target', target]);
  await withSim(async (base) => {
    const dry = await runAsync([...base, '--source', src, '--dry-run']);
    const real = await runAsync([...base, '--source', src]);
    for (const [what, r] of Object.entries({ plan, dry, real })) {
      assert.equal(r.status, 2, `${what}: ${r.stderr}`);
      assert.match(r.stderr, /: row 2: active \(/, what);
      assert.ok(!TERMINAL_CONTROL.test(r.stderr), `${what}: a control character reached stderr: ${JSON.stringify(r.stderr)}`);
    }
  });
});

test('sync --report DIR is refused before anything is sent', async () => {
  const src = join(dir, 'ok.csv');
  writeFileSync(src, `${HEADER}1,Ann,Lee,ann@x.org,true\n`);
  await withSim(async (base) => {
    const r = await runAsync([...base, '--source', src, '--report', dir]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot write report file ${escape(dir)}: it is a folder`));
    assert.equal(sim.stats().requests, 0, 'nothing was sent');
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
});

test('a report that cannot be written (a full disk) goes to a fallback file named on stderr; the summary is printed; exit 1', async () => {
  const src = join(dir, 'full.csv');
  writeFileSync(src, `${HEADER}1,Ann,Lee,ann@x.org,true\n2,Bo,Ek,bo@x.org,true\n`);
  const fallbackDir = mkdtempSync(join(tmpdir(), 'ls-fallback-'));
  try {
    await withSim(async (base) => {
      const r = await runAsync([...base, '--source', src, '--report', '/dev/full'], { TMPDIR: fallbackDir });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /2 done, 0 failed, 0 skipped;/, 'the summary');
      assert.match(r.stderr, /learner-sync: could not write the report to \/dev\/full \(ENOSPC[^)]*\)/);
      const m = /the report was written to (\S+) instead/.exec(r.stderr);
      assert.ok(m, r.stderr);
      assert.ok(m[1].startsWith(fallbackDir), m[1]);
      const report = JSON.parse(readFileSync(m[1], 'utf8'));
      assert.equal(report.created.length, 2);
      assert.equal(sim.stats().created, 2);
      assert.doesNotMatch(r.stderr, /\n\s+at |Error: ENOSPC/, 'no stack trace');
      assert.ok(!readFileSync(m[1], 'utf8').includes(SECRET));
    });
  } finally {
    rmSync(fallbackDir, { recursive: true, force: true });
  }
});

test('when no fallback file can be written either, the created IDs are printed on stderr', async () => {
  const src = join(dir, 'nowhere.csv');
  writeFileSync(src, `${HEADER}1,Ann,Lee,ann@x.org,true\n2,Bo,Ek,bo@x.org,true\n`);
  await withSim(async (base) => {
    const r = await runAsync([...base, '--source', src, '--report', '/dev/full'], { TMPDIR: '/dev/null/not-a-folder' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /2 done, 0 failed, 0 skipped;/, 'the summary');
    assert.match(r.stderr, /could not write the report to \/dev\/full \(ENOSPC[^)]*\), nor to a fallback file/);
    const created = [...r.stderr.matchAll(/^created: (\S+) (\S+) \((.+): row (\d+)\)$/gm)].map((m) => [m[1], m[2], m[3], m[4]]);
    const users = sim.users().map((u) => [u.attributes.sso_id, u.id, src]);
    assert.equal(users.length, 2);
    assert.deepEqual(created.map((c) => c.slice(0, 3)).sort(), users.sort());
    assert.deepEqual(created.map((c) => c[3]).sort(), ['2', '3']);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.ok(!existsSync('/dev/null/not-a-folder'));
  });
});

/** `n` learners' users on Foundry (SSO IDs 0..n-1), and `extra` users after them. */
function seeded(n, extra = []) {
  const users = Array.from({ length: n }, (_, i) => ({ id: `u${i}`, sso_id: String(i), email: `p${i}@x.org`, first_name: 'F', last_name: 'L' }));
  return [...users, ...extra];
}

function roster(n) {
  let s = HEADER;
  for (let i = 0; i < n; i++) s += `${i},F,L,p${i}@x.org,true\n`;
  return s;
}

test('sync --plan with the held key deleted from a held plan is held again (exit 3) and sends nothing; --approve applies it', async () => {
  const users = seeded(100);
  const src = join(dir, 'forty.csv');
  writeFileSync(src, roster(40));
  const target = join(dir, 'hundred.json');
  writeFileSync(target, JSON.stringify({ data: users.map((u) => ({ id: u.id, type: 'users', attributes: { ...u, active: true } })), links: { next: null } }));
  const made = await runAsync(['plan', '--platform', 'foundry', '--orphans', 'deactivate', '--source', src, '--target', target]);
  const plan = JSON.parse(made.stdout);
  const fingerprint = plan.held.fingerprint;
  delete plan.held;
  plan.summary.deactivate = 0;
  const file = join(dir, 'unheld-plan.json');
  writeFileSync(file, JSON.stringify(plan));
  await withSim(async (base) => {
    const r = await runAsync([...base, '--plan', file]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /plan held, nothing sent: the plan deactivates or deletes 60 users, more than the limit of 50/);
    assert.match(r.stderr, new RegExp(`--approve ${fingerprint}`));
    assert.equal(sim.stats().updated + sim.stats().created, 0, 'nothing sent');
  }, users);
  await withSim(async (base) => {
    const r = await runAsync([...base, '--plan', file, '--approve', fingerprint]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sim.stats().updated, 60);
  }, users);
});

test('sync --plan with a hand-made plan deactivating a cc_admin user is refused (exit 2) with nothing sent', async () => {
  const admin = { id: 'adm-1', sso_id: '900', email: 'boss@x.org', first_name: 'B', last_name: 'Oss', user_rule_set_roles: [{ rule_set: 'cc_admin', role: 'default' }] };
  const plan = {
    actions: [{ action: 'deactivate', key: '900', platformId: 'adm-1', orphan: true, changes: { active: { from: true, to: false } } }],
    summary: { create: 0, update: 0, deactivate: 1, reactivate: 0, link: 0, review: 0, delete: 0, conflict: 0, invalid: 0, unchanged: 0, untouched: 0, protected: 0, learners: 3, platformUsers: 4 },
    options: { platform: 'foundry', orphans: 'deactivate' },
    fingerprint: '0000000000000000',
    format: 1,
  };
  const file = join(dir, 'hand-made-plan.json');
  writeFileSync(file, JSON.stringify(plan));
  await withSim(async (base) => {
    const r = await runAsync([...base, '--plan', file]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /the plan was refused: it would deactivate adm-1, an administrator, as an orphan.*\[PLAN_REFUSED\]/);
    assert.equal(sim.stats().updated, 0, 'nothing sent');
    assert.ok(sim.users().every((u) => u.attributes.active));
  }, seeded(3, [admin]));
});

test('sync --plan with a held fingerprint that is not its own is refused (exit 2) before any request', async () => {
  const plan = {
    actions: [{ action: 'deactivate', key: '1', platformId: 'u1', orphan: true, changes: { active: { from: true, to: false } } }],
    summary: { create: 0, update: 0, deactivate: 1, reactivate: 0, link: 0, review: 0, delete: 0, conflict: 0, invalid: 0, unchanged: 0, untouched: 0, protected: 0, learners: 3, platformUsers: 4 },
    options: { platform: 'foundry', orphans: 'deactivate' },
    fingerprint: '0000000000000000',
    format: 1,
    held: { reason: 'x', deactivations: 1, limit: 0, managedUsers: 4, fingerprint: '0000000000000000' },
  };
  const file = join(dir, 'wrong-held-plan.json');
  writeFileSync(file, JSON.stringify(plan));
  await withSim(async (base) => {
    const r = await runAsync([...base, '--plan', file, '--approve', '0000000000000000']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /is not the one its own actions give.*\[PLAN_REFUSED\]/);
    assert.equal(sim.stats().requests, 0, 'nothing sent');
  }, seeded(4));
});

test('a CSV with an unterminated quote is refused naming the row (exit 2) and sync --orphans deactivate deactivates nobody', async () => {
  const src = join(dir, 'open-quote.csv');
  const rows = roster(20).split('\n');
  rows[16] = '15,"Ann,L,p15@x.org,true'; // spreadsheet row 17: learners 16 to 19 would vanish
  writeFileSync(src, rows.join('\n'));
  await withSim(async (base) => {
    const r = await runAsync([...base, '--source', src, '--orphans', 'deactivate']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /open-quote\.csv: row 17: a quote opens here and is never closed.*\[MALFORMED_SOURCE\]/);
    assert.equal(sim.stats().requests, 0, 'nothing sent');
  }, seeded(20));
});

test('a header-only export with --orphans deactivate deactivates nobody and says why', async () => {
  const src = join(dir, 'header-only.csv');
  writeFileSync(src, HEADER);
  await withSim(async (base) => {
    const r = await runAsync([...base, '--source', src, '--orphans', 'deactivate']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /40 deactivations withheld: the source has no usable learner/);
    assert.equal(sim.stats().updated, 0);
    assert.ok(sim.users().every((u) => u.attributes.active));
  }, seeded(40));
});

test('a Retry-After of ten years ends the CLI at once: exit 1, RATE_LIMITED, and the date to run again after, in words a person reads', async () => {
  const src = join(dir, 'pause.csv');
  writeFileSync(src, `${HEADER}1,Ann,Lee,ann@x.org,true\n`);
  await withSim(async (base) => {
    const hostile = await startHostile(sim.url, { retryAfter: { value: String(10 * 365 * 86_400) } });
    try {
      const args = base.map((a) => (a === sim.url ? hostile.url : a));
      const r = await runAsync([...args, '--source', src]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /\[RATE_LIMITED\]/);
      const until = /left alone until (\d{4})-\d\d-\d\dT[\d:.]+Z: run the sync again after then/.exec(r.stderr);
      assert.ok(until, r.stderr);
      assert.ok(Number(until[1]) >= new Date().getUTCFullYear() + 9, 'the date is ten years ahead');
      assert.equal(hostile.log.length, 1, 'one request, answered 429; nothing sent after it');
    } finally {
      await hostile.close();
    }
  });
});
