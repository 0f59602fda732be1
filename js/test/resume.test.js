// Runs that span invocations, in Node against the Foundry simulator on loopback: a budgeted
// `sync` resumed from its checkpoint until done, and the stateless step API driven the way a
// low-code recipe drives it (its own HTTP step, the state carried between steps as text).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFoundry } from '../sim/foundry.js';
import { sample } from '../demo/sample.js';
import { sync, plan, beginSync, stepSync, LearnerSyncError } from '../node.js';
import { assertNoDuplicates, assertConverged } from './sim-checks.js';

const FAST = { limit: 200, windowMs: 1000 };
const CREDENTIALS = { clientId: 'sim-client', clientSecret: 'sim-secret' };
const options = (sim, extra = {}) => ({ platform: 'foundry', baseUrl: sim.url, credentials: CREDENTIALS, rate: FAST, pageSize: 50, ...extra });

test('a budgeted sync stops with a checkpoint and, resumed invocation after invocation, finishes the job once', async () => {
  const s = sample(600, 4);
  const sim = await startFoundry({ users: s.users, rate: FAST });
  try {
    let checkpoint;
    const saves = [];
    let report;
    let invocations = 0;
    for (;;) {
      invocations += 1;
      assert.ok(invocations < 100, 'no progress');
      report = await sync(options(sim, { budget: { requests: 10 } }), {
        sources: [s.csv],
        checkpoint,
        saveCheckpoint: async (text) => saves.push(text.length),
      });
      assert.equal(report.error, undefined);
      if (report.finished) break;
      assert.equal(report.suspended, true);
      assert.equal(typeof report.checkpoint, 'string');
      assert.ok(!report.checkpoint.includes('sim-secret'), 'the checkpoint holds no secret');
      checkpoint = report.checkpoint;
    }
    assert.equal(report.invocations, invocations);
    assert.ok(invocations > 5, `${invocations} invocations`);
    assert.ok(saves.length >= invocations, 'claims and suspensions were saved');
    assert.equal(report.counts.failed, 0);
    assert.equal(report.counts.done, report.plan.create + report.plan.update + report.plan.deactivate + report.plan.reactivate);
    // Every create went out once: the simulator created exactly the planned users.
    assert.equal(sim.stats().created, report.plan.create);
    assertNoDuplicates(sim.users());
    await assertConverged(sim, s.csv, FAST);
  } finally {
    await sim.close();
  }
});

test('a checkpoint made with other options is refused with CHECKPOINT_MISMATCH', async () => {
  const s = sample(200, 5);
  const sim = await startFoundry({ users: s.users, rate: FAST });
  try {
    const first = await sync(options(sim, { budget: { requests: 3 } }), { sources: [s.csv] });
    assert.equal(first.suspended, true);
    await assert.rejects(
      sync(options(sim, { match: ['ssoId', 'email'] }), { sources: [s.csv], checkpoint: first.checkpoint }),
      (e) => e instanceof LearnerSyncError && e.code === 'CHECKPOINT_MISMATCH',
    );
    await assert.rejects(
      sync(options(sim), { sources: [s.csv], checkpoint: '{"actions":[]}' }),
      (e) => e instanceof LearnerSyncError && e.code === 'INVALID_CHECKPOINT',
    );
  } finally {
    await sim.close();
  }
});

/**
 * A recipe as a low-code platform runs it: its own HTTP step sends each request (here fetch,
 * signing with the connection's token when `sign` is given), and only the state text and the
 * answers travel between steps. A step may "crash" after sending (`loseEvery`): its answers
 * are never handed back.
 */
async function recipe(first, { sign, loseEvery = 0, credentials, sources, baseUrl, hostAuth } = {}) {
  let result = first;
  let steps = 0;
  while (!result.done) {
    steps += 1;
    assert.ok(steps < 10_000, 'no progress');
    // The state is plain JSON text: a platform may store it as a string field.
    assert.equal(typeof result.state, 'string');
    if (result.requests.length === 0 && result.wakeAt) await new Promise((r) => setTimeout(r, Math.max(0, result.wakeAt - Date.now())));
    const answers = [];
    for (const req of result.requests) {
      const headers = { ...req.headers, ...(sign ? { authorization: await sign() } : {}) };
      const res = await fetch(req.url, { method: req.method, headers, body: req.body });
      const answer = { id: req.id, status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
      if (!(loseEvery && steps % loseEvery === 0)) answers.push(answer);
    }
    // Where the platform is and how to sign come with every step, never from the state.
    result = stepSync(result.state, answers, { credentials, sources, baseUrl, hostAuth });
  }
  return { report: result.report, steps };
}

test('stateless steps apply a plan made from pages the host fetched itself, with the host signing requests', async () => {
  const s = sample(400, 6);
  const sim = await startFoundry({ users: s.users, rate: FAST });
  try {
    // The host's own token (a low-code platform's OAuth connection).
    const token = async () => {
      const res = await fetch(`${sim.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'client_credentials', client_id: 'sim-client', client_secret: 'sim-secret' }),
      });
      return `Bearer ${(await res.json()).access_token}`;
    };
    const auth = await token();
    // The host pages through the platform itself: active users, then inactive ones.
    const pages = [];
    for (const active of ['', '&filter[active]=false']) {
      for (let n = 1; ; n++) {
        const res = await fetch(`${sim.url}/v1/admin/users?page[page]=${n}&page[per_page]=100${active}`, { headers: { authorization: auth } });
        const body = await res.text();
        pages.push(body);
        if (JSON.parse(body).links.next === null) break;
      }
    }
    const planned = plan({ platform: 'foundry' }, { sources: [s.csv], targets: pages });
    const first = beginSync({ platform: 'foundry', baseUrl: sim.url, hostAuth: true, rate: FAST }, { plan: planned });
    assert.ok(first.requests.length > 0);
    assert.ok(first.requests.every((r) => !('authorization' in r.headers)), 'the host signs');
    const { report, steps } = await recipe(first, { sign: async () => auth, baseUrl: sim.url, hostAuth: true });
    assert.ok(steps > 10, `${steps} steps`);
    assert.equal(report.counts.failed, 0);
    assert.equal(report.counts.done, planned.summary.create + planned.summary.update + planned.summary.deactivate + planned.summary.reactivate);
    assert.equal(report.created.length, planned.summary.create);
    assertNoDuplicates(sim.users());
    await assertConverged(sim, s.csv, FAST);
  } finally {
    await sim.close();
  }
});

test('stateless steps of a full sync survive lost answers without creating anyone twice', async () => {
  const s = sample(300, 8);
  const sim = await startFoundry({ users: s.users, rate: FAST });
  try {
    const first = beginSync({ platform: 'foundry', baseUrl: sim.url, rate: FAST, credentials: CREDENTIALS }, { sources: [s.csv] });
    assert.equal(first.requests[0].url, `${sim.url}/oauth/token`);
    assert.ok(!first.state.includes('sim-secret'), 'the state holds no secret');
    // The credentials come again with every step, never inside the state.
    const { report } = await recipe(first, { loseEvery: 7, credentials: CREDENTIALS, sources: [s.csv], baseUrl: sim.url });
    assert.equal(report.counts.failed, 0);
    assert.equal(sim.stats().created, report.plan.create, 'each create went out, or was found, once');
    assertNoDuplicates(sim.users());
    await assertConverged(sim, s.csv, FAST);
  } finally {
    await sim.close();
  }
});

// Tokens kept outside the state (issue 11): a step recipe signing with credentials on Foundry
// fetched a token at every step, since the state never holds one. With `host.tokenCache` the
// host keeps it (here a Map; a secret store in a real recipe) and the engine checks it as any
// token. The figures are printed: token requests per API request, before and after.

/** A token cache over a Map, recording what it was given. */
function mapCache(initial) {
  const kept = new Map(initial ? [['token', initial]] : []);
  const sets = [];
  return { kept, sets, cache: { get: async () => kept.get('token'), set: async (t) => { sets.push(t); kept.set('token', t); } } };
}

/**
 * The README's step recipe signing with credentials (no hostAuth): the host lists the
 * platform and plans, then steps; returns the token and API requests the steps sent, and
 * every text the steps gave back (states, events, reports).
 */
async function credentialRecipe(sim, s, { concurrency = 4, tokenCache } = {}) {
  const token = await (await fetch(`${sim.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'client_credentials', client_id: 'sim-client', client_secret: 'sim-secret' }) })).json();
  const pages = [];
  for (const active of ['', '&filter[active]=false']) {
    for (let n = 1; ; n++) {
      const res = await fetch(`${sim.url}/v1/admin/users?page[page]=${n}&page[per_page]=100${active}`, { headers: { authorization: `Bearer ${token.access_token}` } });
      const body = await res.text();
      pages.push(body);
      if (JSON.parse(body).links.next === null) break;
    }
  }
  const planned = plan({ platform: 'foundry' }, { sources: [s.csv], targets: pages });
  const opts = { platform: 'foundry', baseUrl: sim.url, rate: FAST, credentials: CREDENTIALS, concurrency };
  const host = tokenCache ? { tokenCache } : {};
  let result = await beginSync(opts, { plan: planned, ...host });
  const seen = [];
  const counts = { tokens: 0, api: 0, steps: 0 };
  while (!result.done) {
    counts.steps += 1;
    assert.ok(counts.steps < 10_000, 'no progress');
    seen.push(result.state, JSON.stringify(result.events));
    if (result.requests.length === 0 && result.wakeAt) await new Promise((r) => setTimeout(r, Math.max(0, result.wakeAt - Date.now())));
    const answers = [];
    for (const req of result.requests) {
      if (req.url.endsWith('/oauth/token')) counts.tokens += 1;
      else counts.api += 1;
      const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body });
      answers.push({ id: req.id, status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() });
    }
    const step = stepSync(result.state, answers, { baseUrl: sim.url, credentials: CREDENTIALS, ...host });
    assert.equal(step instanceof Promise, Boolean(tokenCache), 'a Promise with a token cache only');
    result = await step;
  }
  seen.push(result.state, JSON.stringify(result.events), JSON.stringify(result.report));
  return { report: result.report, planned, seen, ...counts };
}

test('tokenCache: the step recipe signing with credentials fetches one token for the run, not one every other step, and no state holds it', async () => {
  const figures = [];
  for (const concurrency of [4, 1]) {
    for (const cached of [false, true]) {
      const s = sample(400, 6);
      const sim = await startFoundry({ users: s.users, rate: FAST });
      try {
        const { kept, sets, cache } = mapCache();
        const run = await credentialRecipe(sim, s, { concurrency, tokenCache: cached ? cache : undefined });
        assert.equal(run.report.counts.failed, 0);
        assert.equal(run.report.counts.done, run.planned.summary.create + run.planned.summary.update + run.planned.summary.deactivate + run.planned.summary.reactivate);
        assertNoDuplicates(sim.users());
        figures.push(`concurrency ${concurrency}, ${cached ? 'with tokenCache' : 'without     '}: ${run.tokens} token requests for ${run.api} API requests (${(run.tokens / run.api).toFixed(2)} per API request) in ${run.steps} steps`);
        if (cached) {
          assert.equal(run.tokens, 1, 'one token for the whole run (two-hour tokens)');
          assert.equal(sets.length, 1, 'the cache was given it once');
          const value = kept.get('token').value;
          assert.ok(kept.get('token').expiresAt > Date.now() + 3_600_000, 'kept with its expiry (two hours)');
          for (const text of run.seen) assert.ok(!text.includes(value), 'no state, event or report holds the token');
        } else {
          assert.ok(run.tokens >= run.api / concurrency, `${run.tokens} token requests`);
        }
      } finally {
        await sim.close();
      }
    }
  }
  console.log(`step recipe (README), 400 learners, two-hour tokens:\n  ${figures.join('\n  ')}`);
});

test('tokenCache: a cached token the platform refuses is dropped and a new one fetched and kept; an expired one is not used', async () => {
  const s = sample(200, 9);
  for (const stale of [{ value: 'revoked-or-made-up', expiresAt: Date.now() + 3_600_000 }, { value: 'sim-token-1', expiresAt: Date.now() - 1 }]) {
    const sim = await startFoundry({ users: s.users, rate: FAST });
    try {
      const { kept, sets, cache } = mapCache(stale);
      const run = await credentialRecipe(sim, s, { tokenCache: cache });
      assert.equal(run.report.counts.failed, 0, JSON.stringify([run.report.error, run.report.outcomes.find((o) => o.state === 'failed')]));
      // Refusals are counted at the platform: retries also count 429s, which the recipe's own
      // listing (outside the engine's pacing) may cause on a loaded machine.
      const refused = sim.stats().status[401] ?? 0;
      if (stale.expiresAt > Date.now()) assert.ok(refused >= 1 && refused <= 4, `the first requests met 401, then went again (${refused})`);
      else assert.equal(refused, 0, 'no request went with the expired token');
      // The recipe's own listing took sim-token-1, so the engine's is another.
      assert.equal(run.tokens, 1);
      assert.equal(sets.length, 1);
      assert.notEqual(kept.get('token').value, stale.value);
      for (const text of run.seen) assert.ok(!text.includes(stale.value) && !text.includes(kept.get('token').value));
    } finally {
      await sim.close();
    }
  }
});

test('tokenCache: a cache that fails rejects the step with the credentials and token redacted; a cache entry of another shape is not used', async () => {
  const s = sample(50, 10);
  const sim = await startFoundry({ users: s.users, rate: FAST });
  try {
    const first = beginSync({ platform: 'foundry', baseUrl: sim.url, rate: FAST, credentials: CREDENTIALS }, { sources: [s.csv] });
    const failing = { get: async () => { throw new Error('store down: sim-secret'); }, set: () => {} };
    await assert.rejects(stepSync(first.state, [], { baseUrl: sim.url, credentials: CREDENTIALS, sources: [s.csv], tokenCache: failing }), (e) => !e.message.includes('sim-secret') && e.message.includes('[redacted]'));
    assert.throws(() => stepSync(first.state, [], { baseUrl: sim.url, credentials: CREDENTIALS, tokenCache: { get() {} } }), (e) => e instanceof LearnerSyncError && e.code === 'INVALID_OPTIONS');
    const odd = { get: () => ({ value: 42, expiresAt: 'soon' }), set: () => {} };
    const step = await beginSync({ platform: 'foundry', baseUrl: sim.url, rate: FAST, credentials: CREDENTIALS }, { sources: [s.csv], tokenCache: odd });
    assert.ok(step.requests[0].url.endsWith('/oauth/token'), 'not used: a token is fetched');
  } finally {
    await sim.close();
  }
});

test('tokenCache: a budgeted sync resumed invocation after invocation fetches one token, kept beside the checkpoint and never in it', async () => {
  const figures = [];
  for (const cached of [false, true]) {
    const s = sample(600, 4);
    const sim = await startFoundry({ users: s.users, rate: FAST });
    try {
      const { kept, sets, cache } = mapCache();
      let tokens = 0;
      const counting = (url, init) => {
        if (url.endsWith('/oauth/token')) tokens += 1;
        return fetch(url, init);
      };
      let checkpoint;
      let report;
      const checkpoints = [];
      for (let invocations = 1; ; invocations++) {
        assert.ok(invocations < 100, 'no progress');
        report = await sync(options(sim, { budget: { requests: 10 } }), {
          sources: [s.csv],
          checkpoint,
          fetch: counting,
          saveCheckpoint: async (text) => checkpoints.push(text),
          ...(cached ? { tokenCache: cache } : {}),
        });
        if (report.finished) break;
        checkpoint = report.checkpoint;
      }
      assert.equal(report.counts.failed, 0);
      assertNoDuplicates(sim.users());
      figures.push(`${cached ? 'with tokenCache' : 'without     '}: ${tokens} token requests for ${report.requests - tokens} API requests in ${report.invocations} invocations`);
      if (cached) {
        assert.equal(tokens, 1);
        assert.equal(sets.length, 1);
        const value = kept.get('token').value;
        for (const text of [...checkpoints, JSON.stringify(report)]) assert.ok(!text.includes(value), 'no checkpoint or report holds the token');
      } else {
        assert.equal(tokens, report.invocations, 'one token an invocation');
      }
    } finally {
      await sim.close();
    }
  }
  console.log(`sync() resumed from checkpoints, 600 learners, budget 10 requests:\n  ${figures.join('\n  ')}`);
});

test('tokenCache: sync() goes on past a cache whose set fails, and rejects on one whose get fails before anything is sent', async () => {
  const s = sample(100, 11);
  const sim = await startFoundry({ users: s.users, rate: FAST });
  try {
    const report = await sync(options(sim), { sources: [s.csv], tokenCache: { get: () => undefined, set: async () => { throw new Error('store full'); } } });
    assert.equal(report.finished, true);
    assert.equal(report.counts.failed, 0);
    const before = sim.stats().requests;
    await assert.rejects(sync(options(sim), { sources: [s.csv], tokenCache: { get: async () => { throw new Error('store down: sim-secret'); }, set: () => {} } }), (e) => !e.message.includes('sim-secret'));
    assert.equal(sim.stats().requests, before, 'nothing sent');
  } finally {
    await sim.close();
  }
});
