// The Worker template (examples/cloudflare-worker/), bundled against this checkout as a bundler
// would bundle it against the installed package (esbuild, the workerd condition), then run in
// workerd through Miniflare as wrangler.toml describes it: its `scheduled` handler fired tick after tick with a small budget against the Foundry
// simulator on loopback, until the daily sync is done, with one access token kept in KV beside
// the checkpoint; and a tick killed half-way (workerd itself stopped) resumed from the last
// checkpoint without creating anyone twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { buildTemplate, TEMPLATE, wrangler } from './worker-build.js';
import { startFoundry } from '../sim/foundry.js';
import { sample } from '../demo/sample.js';
import { assertNoDuplicates, assertConverged } from './sim-checks.js';


let built;
before(async () => {
  built = await buildTemplate('ls-worker-');
});
after(() => built.remove());
const FAST = { limit: 200, windowMs: 1000 };
const CREDENTIALS = { FOUNDRY_CLIENT_ID: 'sim-client', FOUNDRY_CLIENT_SECRET: 'sim-secret' };

/** Serves the system of record's export on loopback, as an HRIS would. */
async function startSource(csv) {
  let fetches = 0;
  const server = createServer((req, res) => {
    fetches += 1;
    if (req.headers.authorization !== 'Bearer hris-token') return res.writeHead(401).end();
    res.writeHead(200, { 'content-type': 'text/csv' }).end(csv);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/learners.csv`, fetches: () => fetches, close: () => new Promise((r) => server.close(r)) };
}

/** The Worker as wrangler.toml declares it, with the vars pointed at loopback. */
function worker(sim, source, persist, budget, extra = {}) {
  // The rate as text, as a config file writes it (issue 14): the Worker's options take it too.
  const options = { ...JSON.parse(wrangler.vars.LEARNER_SYNC_OPTIONS), baseUrl: sim.url, rate: '200/1s', ...extra };
  return new Miniflare({
    modules: true,
    modulesRoot: built.out,
    scriptPath: built.script,
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: wrangler.compatibility_date,
    kvNamespaces: wrangler.kv_namespaces.map((k) => k.binding),
    kvPersist: persist,
    bindings: {
      ...wrangler.vars,
      LEARNER_SYNC_OPTIONS: JSON.stringify(options),
      SOURCE_URL: source.url,
      REQUEST_BUDGET: String(budget),
      ...CREDENTIALS,
      SOURCE_TOKEN: 'hris-token',
    },
  });
}

async function fire(mf, at) {
  const w = await mf.getWorker();
  const result = await w.scheduled({ cron: wrangler.triggers.crons[0], scheduledTime: new Date(at) });
  assert.equal(result.outcome, 'ok');
}

const TICK = 15 * 60_000;

/** Fires a tick every 15 minutes from `t` until no checkpoint is left; returns the ticks and the next tick's time. */
async function tickUntilDone(mf, t, checkpoints = []) {
  for (let ticks = 1; ; ticks++) {
    await fire(mf, t);
    t += TICK;
    const { checkpoint } = await state(mf);
    if (!checkpoint) return { ticks, next: t };
    checkpoints.push(checkpoint);
    assert.ok(ticks < 200, 'no progress');
  }
}

async function state(mf) {
  const kv = await mf.getKVNamespace(wrangler.kv_namespaces[0].binding);
  const last = await kv.get('last-run');
  return { checkpoint: await kv.get('checkpoint'), last: last ? JSON.parse(last) : null };
}

test('wrangler.toml declares the cron trigger, the KV namespace and the vars the Worker reads', () => {
  assert.equal(wrangler.triggers.crons.length, 1);
  assert.equal(wrangler.kv_namespaces[0].binding, 'LEARNER_SYNC_STATE');
  for (const v of ['LEARNER_SYNC_OPTIONS', 'SOURCE_URL', 'REQUEST_BUDGET', 'TIME_BUDGET_MS', 'RUN_EVERY_HOURS']) assert.ok(v in wrangler.vars, v);
  assert.ok(!/secret|password/i.test(JSON.stringify(wrangler.vars)), 'no credential in vars');
  const source = readFileSync(join(TEMPLATE, wrangler.main), 'utf8');
  for (const v of Object.keys(wrangler.vars)) assert.ok(source.includes(v), `the Worker reads ${v}`);
});

test('workerd: cron ticks with a small budget carry the daily sync to the end, then idle until the next day', async () => {
  const s = sample(800, 21);
  const sim = await startFoundry({ users: s.users, rate: FAST });
  const source = await startSource(s.csv);
  const persist = mkdtempSync(join(tmpdir(), 'learner-sync-kv-'));
  // Pages of 25, so that the listing too spans ticks.
  const mf = worker(sim, source, persist, 30, { pageSize: 25 });
  try {
    const checkpoints = [];
    const { ticks, next } = await tickUntilDone(mf, Date.UTC(2026, 10, 23, 2, 0), checkpoints);
    const { last } = await state(mf);
    assert.equal(last.finished, true);
    assert.equal(last.error, undefined);
    assert.equal(last.invocations, ticks);
    assert.ok(ticks >= 5, `the run spanned ${ticks} ticks`);
    assert.ok(last.requests <= 30 * ticks, 'each tick kept to its budget');
    assert.equal(last.counts.failed, 0);
    assert.equal(last.counts.done, last.plan.create + last.plan.update + last.plan.deactivate + last.plan.reactivate);
    assert.equal(sim.stats().created, last.plan.create, 'each learner created once');
    assertNoDuplicates(sim.users());
    // The next tick the same day has nothing to do: no request reaches the platform.
    const before = sim.stats().requests;
    await fire(mf, next);
    assert.equal(sim.stats().requests, before);
    assert.equal(source.fetches(), ticks, 'the export is read once a tick while a run is under way');
    // The token is kept in KV under its own key, never in the checkpoint: one for the whole run.
    assert.equal(sim.stats().byRoute['POST /oauth/token'], 1, `one token request in ${ticks} ticks`);
    const kept = JSON.parse(await (await mf.getKVNamespace(wrangler.kv_namespaces[0].binding)).get('token'));
    assert.match(kept.value, /^sim-token-/);
    assert.ok(kept.expiresAt > Date.now() + 3_600_000, 'kept with its expiry');
    for (const text of checkpoints) assert.ok(!text.includes(kept.value), 'no checkpoint holds the token');
    await assertConverged(sim, s.csv, FAST);
  } finally {
    await mf.dispose();
    await sim.close();
    await source.close();
    rmSync(persist, { recursive: true, force: true });
  }
});

test('workerd: a tick killed half-way is resumed from the last checkpoint without creating anyone twice', async () => {
  const s = sample(500, 22);
  // Slow answers, so that workerd can be stopped while writes are under way.
  const sim = await startFoundry({ users: s.users, rate: FAST, faults: { slow: { p: 1, ms: 40 } } });
  const source = await startSource(s.csv);
  const persist = mkdtempSync(join(tmpdir(), 'learner-sync-kv-'));
  let mf = worker(sim, source, persist, 60);
  try {
    let t = Date.UTC(2026, 10, 23, 2, 0);
    // Ticks until the run is applying writes, then one killed once it has created someone.
    let kills = 0;
    for (let ticks = 0; kills < 2; ticks++) {
      assert.ok(ticks < 100, 'never reached the writes');
      const createdBefore = sim.stats().created;
      const running = fire(mf, t).catch(() => 'killed');
      t += TICK;
      const deadline = Date.now() + 20_000;
      let done = false;
      running.then(() => (done = true));
      while (!done && sim.stats().created < createdBefore + 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      if (done) continue;
      await mf.dispose(); // workerd stops: no checkpoint is written for this tick
      assert.equal(await running, 'killed');
      kills += 1;
      mf = worker(sim, source, persist, 60);
    }
    sim.setFaults({});
    await tickUntilDone(mf, t);
    const { last } = await state(mf);
    assert.equal(last.finished, true);
    assert.equal(last.counts.failed, 0);
    assert.equal(kills, 2);
    assertNoDuplicates(sim.users());
    assert.equal(sim.stats().created, last.plan.create, 'no learner was created twice');
    await assertConverged(sim, s.csv, FAST);
  } finally {
    await mf.dispose();
    await sim.close();
    await source.close();
    rmSync(persist, { recursive: true, force: true });
  }
});
