// The CLI's shared budget state file (js/cli/budget-file.js), hostile cases first: a state file
// cut short or overwritten, a lock left by a killed process, clocks that jump and files dated
// in the future, a file of a newer format, processes racing to create it. Each runs on a
// clock the test gives, in this process, except the races, which are real processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { budgetFile, fileBudget, LOCK_STALE_MS } from '../cli/budget-file.js';
import { IN_FLIGHT_HOLD_MS } from '../budget-ledger.js';

const BASE = 'https://api.fifoundry.net';
const RATE = { limit: 40, windowMs: 4000 };
const MODULE = fileURLToPath(new URL('../cli/budget-file.js', import.meta.url));

/** A clock the test moves. */
function clock(t = 1_000_000) {
  const c = () => t;
  c.set = (v) => (t = v);
  c.add = (ms) => (t += ms);
  return c;
}

function scratch() {
  return mkdtempSync(join(tmpdir(), 'ls-budget-'));
}

/** Asks `budget` for one request at a time until it refuses; returns how many it granted and the refusal. */
async function drain(budget, most = 1000) {
  let granted = 0;
  for (let i = 0; i < most; i++) {
    const g = await budget.acquire({ want: 1, answered: 0, rateLimited: 0 });
    if (!g.granted) return { granted, refusal: g };
    granted += g.granted;
  }
  return { granted, refusal: null };
}

test('a state file cut short or overwritten is moved aside, and nothing is granted for a window and a second', async () => {
  const dir = scratch();
  try {
    const now = clock();
    const warnings = [];
    const a = fileBudget({ dir, baseUrl: BASE, rate: RATE, now, warn: (w) => warnings.push(w) });
    await a.open();
    assert.equal((await drain(a)).granted, 40, 'a lone sync has the whole budget');
    const file = budgetFile(dir, BASE);
    const huge = `{"learnerSyncBudget":1,"entries":[${'["a",1,0],'.repeat(900_000)}["a",1,0]],"participants":{}}`;
    for (const hostile of [readFileSync(file, 'utf8').slice(0, 30), '\u0000\u0000garbage', '{"learnerSyncBudget":1,"entries":[["a",1,7]],"participants":{}}', '[]', huge]) {
      writeFileSync(file, hostile);
      warnings.length = 0;
      const g = await a.acquire({ want: 1, answered: 0, rateLimited: 0 });
      assert.equal(g.granted, 0, `nothing granted after ${JSON.stringify(hostile.slice(0, 80))}: what it held is unknown`);
      assert.ok(g.retryAfterMs >= RATE.windowMs && g.retryAfterMs <= RATE.windowMs + 1000, `waits a window and a second: ${g.retryAfterMs}`);
      assert.equal(readFileSync(`${file}.corrupt`, 'utf8'), hostile, 'kept aside for whoever wants to look');
      assert.match(warnings.join('\n'), /could not be read .*moved aside/);
      if (hostile === huge) assert.match(warnings.join('\n'), /larger than 8 MiB/, 'not read at all');
      now.add(RATE.windowMs + 1001);
      assert.equal((await a.acquire({ want: 1, answered: 0, rateLimited: 0 })).granted, 1, 'then grants again');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a state file of a newer format is refused before anything is sent, and left as it was', async () => {
  const dir = scratch();
  try {
    const file = budgetFile(dir, BASE);
    const newer = JSON.stringify({ learnerSyncBudget: 2, whatever: [1, 2, 3] });
    const b = fileBudget({ dir, baseUrl: BASE, rate: RATE, now: clock() });
    writeFileSync(file, newer);
    await assert.rejects(b.open(), /written by a newer learner-sync \(format 2; this one reads 1\)/);
    await assert.rejects(b.acquire({ want: 1, answered: 0, rateLimited: 0 }), /newer learner-sync/);
    assert.equal(readFileSync(file, 'utf8'), newer, 'never overwritten');
    assert.ok(!existsSync(`${file}.lock`), 'the lock is let go');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a lock left by a killed process is broken: its pid is gone, or it is too old, or dated in the future; a live fresh one is waited for', async () => {
  const dir = scratch();
  try {
    const now = clock();
    const b = fileBudget({ dir, baseUrl: BASE, rate: RATE, now, lockTimeoutMs: 300 });
    await b.open();
    const lock = `${budgetFile(dir, BASE)}.lock`;
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      for (const [why, held] of [
        ['its pid is gone', { pid: deadPid, at: now(), id: 'x' }],
        ['held longer than a lock is', { pid: sleeper.pid, at: now() - LOCK_STALE_MS - 1, id: 'x' }],
        ['dated in the future', { pid: sleeper.pid, at: now() + 10 * LOCK_STALE_MS, id: 'x' }],
        ['cut short', null],
      ]) {
        writeFileSync(lock, held ? JSON.stringify(held) : '{"pid":');
        const g = await b.acquire({ want: 1, answered: 0, rateLimited: 0 });
        assert.equal(g.granted, 1, `a lock ${why} is broken`);
        assert.ok(!existsSync(lock), 'and the lock let go after');
      }
      writeFileSync(lock, JSON.stringify({ pid: sleeper.pid, at: now(), id: 'x' }));
      await assert.rejects(b.acquire({ want: 1, answered: 0, rateLimited: 0 }), /held by another process/);
      assert.equal(JSON.parse(readFileSync(lock, 'utf8')).pid, sleeper.pid, 'a live holder keeps its lock');
    } finally {
      sleeper.kill();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a clock that went back, or a state file dated in the future, holds grants no longer than a window after the in-flight hold', async () => {
  const dir = scratch();
  try {
    const now = clock(5_000_000_000);
    const a = fileBudget({ dir, baseUrl: BASE, rate: RATE, now });
    await a.open();
    assert.equal((await drain(a)).granted, 40);
    // The machine rebooted (its monotonic clock starts again) or the file came from elsewhere.
    now.set(1_000);
    const b = fileBudget({ dir, baseUrl: BASE, rate: RATE, now });
    const { granted, refusal } = await drain(b);
    assert.equal(granted, 0, 'the grants dated in the future still count: nothing over the budget');
    assert.ok(refusal.retryAfterMs <= IN_FLIGHT_HOLD_MS + RATE.windowMs + 1, `not until the future: ${refusal.retryAfterMs} ms`);
    now.add(IN_FLIGHT_HOLD_MS + RATE.windowMs + 2);
    assert.equal((await drain(b)).granted, 40, 'then the whole budget again, not a day later');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('processes racing to create the state file and take grants never grant past the budget together', async () => {
  const dir = scratch();
  try {
    // Four processes, each asking for 30 at once on a fresh folder, with a window long enough
    // that nothing frees while they run: at most 40 granted in all (fewer when a process was
    // refused to keep room for the others' shares), and every grant in the ledger (no update lost).
    const script = `
      import { fileBudget } from ${JSON.stringify(MODULE)};
      const b = fileBudget({ dir: ${JSON.stringify(dir)}, baseUrl: ${JSON.stringify(BASE)}, rate: { limit: 40, windowMs: 600000 } });
      let granted = 0;
      for (let i = 0; i < 30; i++) granted += (await b.acquire({ want: 1, answered: 0, rateLimited: 0 })).granted;
      process.stdout.write(String(granted));`;
    const runs = await Promise.all(
      Array.from({ length: 4 }, () => new Promise((resolve) => {
        const p = spawn(process.execPath, ['--input-type=module', '-e', script]);
        let out = '';
        let err = '';
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (err += d));
        p.on('close', (code) => resolve({ code, out, err }));
      })),
    );
    for (const r of runs) assert.equal(r.code, 0, r.err);
    const grants = runs.map((r) => Number(r.out));
    const total = grants.reduce((a, b) => a + b, 0);
    assert.ok(total <= 40 && total >= 20, `granted ${grants.join(' + ')}`);
    const ledger = JSON.parse(readFileSync(budgetFile(dir, BASE), 'utf8'));
    assert.equal(ledger.entries.length, total, 'every grant is in the ledger');
    assert.ok(!existsSync(`${budgetFile(dir, BASE)}.lock`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two syncs asking at once each get a fair share, and a 429 either meets pauses both', async () => {
  const dir = scratch();
  try {
    const now = clock();
    const a = fileBudget({ dir, baseUrl: BASE, rate: RATE, now });
    const b = fileBudget({ dir, baseUrl: BASE, rate: RATE, now });
    // A alone takes the whole budget; B arrives and waits; as A's grants free, B gets them.
    assert.equal((await drain(a)).granted, 40);
    assert.equal((await b.acquire({ want: 1, answered: 0, rateLimited: 0 })).granted, 0);
    await a.acquire({ want: 40, answered: 40, rateLimited: 0 }); // A's answers: they free a window later
    now.add(RATE.windowMs + 2);
    // A asks for twice as many, twice as often: still half each while both ask.
    const got = { a: 0, b: 0 };
    for (let i = 0; i < 60; i++) {
      got.a += (await a.acquire({ want: 2, answered: 0, rateLimited: 0 })).granted;
      got.a += (await a.acquire({ want: 2, answered: 0, rateLimited: 0 })).granted;
      got.b += (await b.acquire({ want: 1, answered: 0, rateLimited: 0 })).granted;
    }
    assert.deepEqual(got, { a: 20, b: 20 }, 'half each while both ask');
    // B meets a 429 with Retry-After 3 s: A is paused too, and the limit lowered for both.
    assert.equal((await b.acquire({ want: 1, answered: 20, rateLimited: 1, retryAfterMs: 3000 })).granted, 0);
    const g = await a.acquire({ want: 1, answered: 20, rateLimited: 0 });
    assert.equal(g.granted, 0, 'a 429 one sync met pauses the other');
    assert.ok(g.retryAfterMs > 2900 && g.retryAfterMs <= 3000, String(g.retryAfterMs));
    now.add(RATE.windowMs + 2);
    const after = { a: 0, b: 0 };
    for (let i = 0; i < 60; i++) {
      after.a += (await a.acquire({ want: 1, answered: 0, rateLimited: 0 })).granted;
      after.b += (await b.acquire({ want: 1, answered: 0, rateLimited: 0 })).granted;
    }
    assert.ok(after.a + after.b <= 0.95 * 20 + 1, `the limit was lowered for both: ${after.a} + ${after.b}`);
    // When B ends, its unused grants come back and A may use the whole (lowered) budget.
    await b.release({ unused: 0, answered: after.b, rateLimited: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
