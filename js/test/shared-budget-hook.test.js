// sync()'s `host.sharedBudget` hook (js/budget.js), against the Foundry simulator: no request
// goes without a grant; the hook is told each answer and 429; a hook that throws or answers
// nonsense suspends the run with BUDGET_FAILED and a checkpoint (nothing lost, nothing more
// sent), and the run resumed from it finishes without creating anyone twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFoundry } from '../sim/foundry.js';
import { sync, LearnerSyncError, SharedBudgetLedger } from '../node.js';
import { assertNoDuplicates } from './sim-checks.js';

const FAST = { limit: 200, windowMs: 1000 };
const credentials = { clientId: 'sim-client', clientSecret: 'sim-secret' };

function learners(n) {
  const rows = ['ssoId,email,firstName,lastName,active'];
  for (let i = 1; i <= n; i++) rows.push(`h-${i},h.${i}@example.com,Ada,Hook${i},true`);
  return rows.join('\n') + '\n';
}

const options = (sim) => ({ platform: 'foundry', baseUrl: sim.url, mode: 'delta', rate: FAST, credentials });

/** A hook that grants per `answer(ask, n)` (n: the call's number from 1), recording every call. */
function hook(answer) {
  const calls = [];
  const released = [];
  return {
    calls,
    released,
    granted: () => calls.reduce((n, c) => n + (Number.isInteger(c.answer?.granted) ? c.answer.granted : 0), 0),
    acquire(ask) {
      const call = { ask };
      calls.push(call);
      call.answer = answer(ask, calls.length);
      return call.answer;
    },
    release(last) {
      released.push(last);
    },
  };
}

test('no request goes without a grant: a hook that grants one at a time, and refuses every other ask, paces the whole run', async () => {
  const sim = await startFoundry({ rate: FAST });
  try {
    const h = hook((ask, n) => (n % 2 ? { granted: 1 } : { granted: 0, retryAfterMs: 5 }));
    const report = await sync(options(sim), { sources: [learners(12)], sharedBudget: h });
    assert.equal(report.finished, true);
    assert.equal(report.counts.done, 12);
    assert.equal(sim.stats().requests, h.granted(), 'one request per grant, none without');
    assert.equal(report.requests, 13);
    // Every answer was told, by the next ask or at the end.
    const told = h.calls.reduce((n, c) => n + c.ask.answered, 0) + h.released.reduce((n, r) => n + r.answered, 0);
    assert.equal(told, 13);
    assert.equal(h.released.length, 1);
    assert.equal(h.released[0].unused, 0);
    for (const c of h.calls) assert.ok(c.ask.want >= 1 && c.ask.want <= 4, `want ${c.ask.want}`);
  } finally {
    await sim.close();
  }
});

test('the hook is told each 429 and its Retry-After', async () => {
  const sim = await startFoundry({ rate: { limit: 3, windowMs: 1000, retryAfter: true } });
  try {
    const h = hook(() => ({ granted: 1 }));
    const report = await sync({ ...options(sim), rate: { limit: 100, windowMs: 1000 } }, { sources: [learners(6)], sharedBudget: h });
    assert.equal(report.counts.done, 6);
    const asks = [...h.calls.map((c) => c.ask), ...h.released];
    assert.equal(asks.reduce((n, a) => n + a.rateLimited, 0), report.rateLimited);
    assert.ok(report.rateLimited > 0, 'the platform refused some');
    assert.ok(asks.some((a) => a.retryAfterMs === 1000), 'with its Retry-After in ms');
  } finally {
    await sim.close();
  }
});

test('a hook that throws, or answers nonsense, suspends the run with BUDGET_FAILED: nothing more sent, nothing lost, and the run resumes', async () => {
  const cases = [
    ['throws', () => { throw new Error('the budget store is down'); }, /acquire\(\) failed: the budget store is down/],
    ['rejects', () => Promise.reject(new Error('timeout talking to the lock')), /acquire\(\) failed: timeout talking to the lock/],
    ['more than asked', (ask) => ({ granted: ask.want + 1 }), /answered granted \d+ for \d asked: it must be a whole number from 0 to \d/],
    ['a fraction', () => ({ granted: 0.5 }), /answered granted 0.5/],
    ['a negative number', () => ({ granted: -1 }), /answered granted -1/],
    ['text', () => ({ granted: '1' }), /answered granted "1"/],
    ['nothing and no time', () => ({ granted: 0 }), /answered retryAfterMs .* with nothing granted it must say, in ms/],
    ['nothing and NaN', () => ({ granted: 0, retryAfterMs: NaN }), /retryAfterMs/],
    ['not an object', () => 'yes', /answered "yes": it must be \{granted, retryAfterMs\}/],
    ['undefined', () => undefined, /answered undefined/],
  ];
  for (const [what, bad, message] of cases) {
    const sim = await startFoundry({ rate: FAST });
    try {
      // Three asks go well (a token and a few creates), then the hook fails.
      const h = hook((ask, n) => (n <= 3 ? { granted: 1 } : bad(ask)));
      const report = await sync({ ...options(sim), concurrency: 1 }, { sources: [learners(8)], sharedBudget: h });
      assert.equal(report.suspended, true, what);
      assert.equal(report.finished, false, what);
      assert.equal(report.error.code, 'BUDGET_FAILED', what);
      assert.match(report.error.message, message, what);
      assert.equal(report.resumeAt, undefined, `${what}: no date to wait for`);
      assert.equal(sim.stats().requests, 3, `${what}: nothing sent past the grants`);
      assert.equal(report.counts.done, 2, `${what}: the creates granted are done and reported`);
      assert.equal(report.created.length, 2);
      assert.ok(report.checkpoint, `${what}: a checkpoint to resume from`);
      const resumed = await sync({ ...options(sim), concurrency: 1 }, { sources: [learners(8)], checkpoint: report.checkpoint, sharedBudget: hook(() => ({ granted: 1 })) });
      assert.equal(resumed.finished, true, what);
      assert.equal(resumed.counts.done, 8, what);
      assert.equal(sim.stats().created, 8, `${what}: nobody created twice`);
      assertNoDuplicates(sim.users());
    } finally {
      await sim.close();
    }
  }
});

test('a hook that fails never shows a credential in the error', async () => {
  const sim = await startFoundry({ rate: FAST });
  try {
    const h = hook(() => { throw new Error(`store refused client sim-secret (${Buffer.from('sim-client:sim-secret').toString('base64')})`); });
    const report = await sync(options(sim), { sources: [learners(2)], sharedBudget: h });
    assert.equal(report.error.code, 'BUDGET_FAILED');
    assert.ok(!report.error.message.includes('sim-secret'), report.error.message);
    assert.ok(!report.error.message.includes(Buffer.from('sim-client:sim-secret').toString('base64')), report.error.message);
    assert.equal(sim.stats().requests, 0, 'nothing sent');
  } finally {
    await sim.close();
  }
});

test('a budget hook of the wrong shape is refused before anything is sent', async () => {
  const sim = await startFoundry({ rate: FAST });
  try {
    for (const bad of [{}, { acquire: 1 }, 'hook', { acquire() {}, release: 'x' }]) {
      await assert.rejects(sync(options(sim), { sources: [learners(1)], sharedBudget: bad }), (e) => e instanceof LearnerSyncError && e.code === 'INVALID_OPTIONS' && /sharedBudget must be an object with acquire/.test(e.message));
    }
    assert.equal(sim.stats().requests, 0);
  } finally {
    await sim.close();
  }
});

test('two sync() calls in one process share the budget through SharedBudgetLedger kept in memory: no window past it, no 429', { timeout: 60_000 }, async () => {
  const rate = { limit: 40, windowMs: 4000 };
  const sim = await startFoundry({ rate });
  try {
    let text;
    const budgetFor = (who) => {
      const withLedger = (change) => {
        const { ledger } = SharedBudgetLedger.read(text, Date.now(), rate);
        const out = change(ledger);
        text = JSON.stringify(ledger);
        return out;
      };
      return {
        acquire: async (ask) => withLedger((l) => SharedBudgetLedger.acquire(l, who, ask, Date.now(), rate)),
        release: async (last) => withLedger((l) => SharedBudgetLedger.release(l, who, last, Date.now())),
      };
    };
    const source = (prefix) => learners(30).replaceAll('h-', `${prefix}-`).replaceAll('h.', `${prefix}.`);
    // SHARED_BUDGET_OFF=1 runs the same without sharing: the test must then fail (it does: 44 in a window).
    const shared = process.env.SHARED_BUDGET_OFF ? () => undefined : budgetFor;
    const [a, b] = await Promise.all([
      sync({ ...options(sim), rate }, { sources: [source('m')], sharedBudget: shared('m') }),
      sync({ ...options(sim), rate }, { sources: [source('n')], sharedBudget: shared('n') }),
    ]);
    assert.equal(a.counts.done + b.counts.done, 60);
    const times = sim.log().map((r) => r.at);
    let busiest = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i] - times[j] >= rate.windowMs) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    assert.ok(busiest <= rate.limit, `${busiest} requests within ${rate.windowMs} ms`);
    assert.equal(sim.stats().rateLimited, 0);
    assert.deepEqual(JSON.parse(text).participants, {}, 'both left the ledger');
  } finally {
    await sim.close();
  }
});

test('a wait for a grant ends with the invocation\'s time budget: a hook that keeps refusing suspends the run at budget.ms, nothing sent', { timeout: 10_000 }, async () => {
  const sim = await startFoundry({ rate: FAST });
  try {
    let t = Date.now();
    const slept = [];
    const host = {
      sources: [learners(3)],
      now: () => t,
      sleep: async (ms) => {
        slept.push(ms);
        t += ms;
        await new Promise((r) => setImmediate(r)); // (so that a run that never ends meets the test's timeout)
      },
      sharedBudget: hook(() => ({ granted: 0, retryAfterMs: 60_000 })),
    };
    const report = await sync({ ...options(sim), budget: { ms: 5000 } }, host);
    assert.equal(report.suspended, true);
    assert.equal(report.error, undefined, 'a budget stop, not a failure');
    assert.ok(report.checkpoint);
    assert.equal(sim.stats().requests, 0, 'nothing sent without a grant');
    assert.ok(slept.reduce((a, b) => a + b, 0) <= 5000, `waited ${slept.join(' + ')} ms for a 5000 ms budget`);
  } finally {
    await sim.close();
  }
});
