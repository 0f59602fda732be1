// State and checkpoints cannot redirect a run (issue 10, item 6). A step state or a checkpoint
// passes through the host's storage, so whoever can edit it is read as an attacker: where the
// platform is and how to sign come from the host's options at every step, never from the state;
// values that would wedge or mislead the run are refused with a code. The `elsewhere` origin of
// the hostile proxy records anything that reaches another host: nothing may.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFoundry } from '../sim/foundry.js';
import { startHostile } from './hostile.js';
import { sync, beginSync, stepSync, LearnerSyncError } from '../node.js';

const SECRET = 'state-hostile-secret-61c0';
const CREDENTIALS = { clientId: 'sim-client', clientSecret: SECRET };
const FAST = { limit: 200, windowMs: 1000 };
const SOURCE = `ssoId,firstName,lastName,email,active\n${Array.from({ length: 30 }, (_, i) => `${i},F${i},L${i},p${i}@example.org,true`).join('\n')}\n`;

async function withPlatform(fn) {
  const sim = await startFoundry({ users: [], clientSecret: SECRET, rate: FAST });
  const hostile = await startHostile(sim.url);
  try {
    return await fn(hostile);
  } finally {
    await hostile.close();
    await sim.close();
  }
}

/** Sends a step's requests as a low-code HTTP step would (so a wrong URL would be reached). */
async function send(requests) {
  const answers = [];
  for (const r of requests) {
    const res = await fetch(r.url, { method: r.method, headers: r.headers, body: r.body, redirect: 'manual' });
    answers.push({ id: r.id, status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() });
  }
  return answers;
}

/** Runs `step` (which may return a step result), sending what it returns; the error it threw. */
async function attempt(step) {
  try {
    const result = step();
    await send(result.requests);
    return null;
  } catch (e) {
    return e;
  }
}

const refusedWith = (e, code) => e instanceof LearnerSyncError && e.code === code && !e.message.includes(SECRET);

test('a step state whose baseUrl was changed to another host is CHECKPOINT_MISMATCH, and nothing reaches that host', async () => {
  await withPlatform(async (hostile) => {
    const begun = beginSync({ platform: 'foundry', baseUrl: hostile.url, credentials: CREDENTIALS, rate: FAST }, { sources: [SOURCE], env: {} });
    const answers = await send(begun.requests);
    const state = JSON.parse(begun.state);
    state.config.baseUrl = hostile.elsewhere.url;
    const e = await attempt(() => stepSync(JSON.stringify(state), answers, { baseUrl: hostile.url, credentials: CREDENTIALS, sources: [SOURCE], env: {} }));
    assert.ok(refusedWith(e, 'CHECKPOINT_MISMATCH'), `${e?.code}: ${e?.message}`);
    assert.deepEqual(hostile.elsewhere.received, [], 'nothing was sent to the other host');
  });
});

test('a step without the host naming baseUrl is refused (INVALID_OPTIONS), whatever the state says', async () => {
  await withPlatform(async (hostile) => {
    const begun = beginSync({ platform: 'foundry', baseUrl: hostile.url, credentials: CREDENTIALS, rate: FAST }, { sources: [SOURCE], env: {} });
    const state = JSON.parse(begun.state);
    state.config.baseUrl = hostile.elsewhere.url;
    const e = await attempt(() => stepSync(JSON.stringify(state), [], { credentials: CREDENTIALS, sources: [SOURCE], env: {} }));
    assert.ok(refusedWith(e, 'INVALID_OPTIONS'), `${e?.code}: ${e?.message}`);
    assert.match(e.message, /baseUrl/);
    assert.deepEqual(hostile.elsewhere.received, []);
  });
});

test('sync() resumed from a checkpoint edited to another host is refused, with or without baseUrl in the options, and sends nothing there', async () => {
  await withPlatform(async (hostile) => {
    const options = { platform: 'foundry', baseUrl: hostile.url, credentials: CREDENTIALS, rate: FAST, pageSize: 10 };
    const first = await sync({ ...options, budget: { requests: 2 } }, { sources: [SOURCE], env: {} });
    assert.equal(first.suspended, true);
    const checkpoint = JSON.parse(first.checkpoint);
    checkpoint.config.baseUrl = hostile.elsewhere.url;
    const edited = JSON.stringify(checkpoint);
    const { baseUrl, ...withoutBase } = options;
    await assert.rejects(sync(withoutBase, { sources: [SOURCE], checkpoint: edited, env: {} }), (e) => refusedWith(e, 'INVALID_OPTIONS'));
    await assert.rejects(sync(options, { sources: [SOURCE], checkpoint: edited, env: {} }), (e) => refusedWith(e, 'CHECKPOINT_MISMATCH'));
    // Even the untouched checkpoint needs the host to say where the platform is.
    await assert.rejects(sync(withoutBase, { sources: [SOURCE], checkpoint: first.checkpoint, env: {} }), (e) => refusedWith(e, 'INVALID_OPTIONS'));
    assert.deepEqual(hostile.elsewhere.received, []);
    assert.equal(baseUrl, hostile.url);
  });
});

test('a step state with a rate limit of 0 is refused with INVALID_CHECKPOINT', async () => {
  await withPlatform(async (hostile) => {
    const begun = beginSync({ platform: 'foundry', baseUrl: hostile.url, credentials: CREDENTIALS, rate: FAST }, { sources: [SOURCE], env: {} });
    for (const [field, value] of [['limit', 0], ['windowMs', 0]]) {
      const state = JSON.parse(begun.state);
      state.rate[field] = value;
      const e = await attempt(() => stepSync(JSON.stringify(state), [], { baseUrl: hostile.url, credentials: CREDENTIALS, sources: [SOURCE], env: {} }));
      assert.ok(refusedWith(e, 'INVALID_CHECKPOINT'), `rate.${field}: ${e?.code}: ${e?.message}`);
    }
  });
});

test('an answer with a status outside 100-599 (65736 would wrap to 200) is refused with INVALID_INPUT', async () => {
  await withPlatform(async (hostile) => {
    const host = { baseUrl: hostile.url, credentials: CREDENTIALS, sources: [SOURCE], env: {} };
    const begun = beginSync({ platform: 'foundry', baseUrl: hostile.url, credentials: CREDENTIALS, rate: FAST }, { sources: [SOURCE], env: {} });
    const [token] = await send(begun.requests);
    for (const status of [65736, 0, 99, 600, 200.5]) {
      const e = await attempt(() => stepSync(begun.state, [{ ...token, status }], host));
      assert.ok(refusedWith(e, 'INVALID_INPUT'), `status ${status}: ${e?.code}`);
    }
    // The real answer goes through.
    assert.ok(stepSync(begun.state, [token], host).requests.length > 0);
  });
});

test('an answer to a request that is not in flight, or a second answer to one, is refused with INVALID_INPUT', async () => {
  await withPlatform(async (hostile) => {
    const host = { baseUrl: hostile.url, credentials: CREDENTIALS, sources: [SOURCE], env: {} };
    const begun = beginSync({ platform: 'foundry', baseUrl: hostile.url, credentials: CREDENTIALS, rate: FAST }, { sources: [SOURCE], env: {} });
    const [token] = await send(begun.requests);
    for (const answers of [[{ ...token, id: 9999 }], [{ id: 9999, error: 'timeout' }], [token, token], [{ ...token, id: 1.5 }]]) {
      const e = await attempt(() => stepSync(begun.state, answers, host));
      assert.ok(refusedWith(e, 'INVALID_INPUT'), `${JSON.stringify(answers.map((a) => a.id))}: ${e?.code}`);
    }
  });
});

test('a step state whose retry is dated years past its pause is refused with INVALID_CHECKPOINT, not waited for', async () => {
  await withPlatform(async (hostile) => {
    const begun = beginSync({ platform: 'foundry', baseUrl: hostile.url, credentials: CREDENTIALS, rate: FAST }, { sources: [SOURCE], env: {} });
    const state = JSON.parse(begun.state);
    // The token request comes back, years from now, with no 429 pause to explain it.
    state.counters.tokenNotBefore = Date.now() + 10 * 365 * 86_400_000;
    const e = await attempt(() => stepSync(JSON.stringify(state), [], { baseUrl: hostile.url, credentials: CREDENTIALS, sources: [SOURCE], env: {} }));
    assert.ok(refusedWith(e, 'INVALID_CHECKPOINT'), `${e?.code}: ${e?.message}`);
  });
});

test('a step given the options beginSync had refuses a state whose plan options were edited (an orphan policy that deactivates) with CHECKPOINT_MISMATCH', async () => {
  await withPlatform(async (hostile) => {
    const options = { platform: 'foundry', baseUrl: hostile.url, credentials: CREDENTIALS, rate: FAST };
    const begun = beginSync(options, { sources: [SOURCE], env: {} });
    const answers = await send(begun.requests);
    const state = JSON.parse(begun.state);
    assert.equal(state.options.orphans, 'review');
    state.options.orphans = 'deactivate';
    const e = await attempt(() => stepSync(JSON.stringify(state), answers, { options, sources: [SOURCE], env: {} }));
    assert.ok(refusedWith(e, 'CHECKPOINT_MISMATCH'), `${e?.code}: ${e?.message}`);
    // The untouched state steps on with the options alone: they say where and how.
    const next = stepSync(begun.state, answers, { options, sources: [SOURCE], env: {} });
    assert.ok(next.requests.length > 0 && next.requests.every((r) => r.url.startsWith(hostile.url)));
  });
});
