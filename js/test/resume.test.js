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
