// End to end: the built package syncs into the Foundry and Learnifier simulators over real
// HTTP on loopback, with faults injected. Windows are scaled down (200 per second, not per
// minute) so the runs take seconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { startFoundry } from '../sim/foundry.js';
import { startLearnifier } from '../sim/learnifier.js';
import { sample } from '../demo/sample.js';
import { sync } from '../node.js';
import { assertNoDuplicates } from './sim-checks.js';

const WALK = readFileSync(new URL('../../examples/walkthrough/source.csv', import.meta.url));
const FAST = { limit: 200, windowMs: 1000 };
const foundryOptions = (sim, extra = {}) => ({
  platform: 'foundry',
  baseUrl: sim.url,
  credentials: { clientId: 'sim-client', clientSecret: 'sim-secret' },
  rate: FAST,
  retry: { maxAttempts: 8, maxRateLimited: 30, baseMs: 50, maxMs: 1000 },
  ...extra,
});

test('Foundry: a sample realm syncs, every action ends done, and a second run plans no write', async () => {
  const s = sample(1500, 11);
  const sim = await startFoundry({ users: s.users, rate: FAST });
  try {
    const events = [];
    const report = await sync(foundryOptions(sim), { sources: [s.csv], onEvent: (e) => events.push(e) });
    assert.equal(report.error, undefined);
    assert.equal(report.counts.failed, 0);
    assert.equal(report.counts.done, report.plan.create + report.plan.update + report.plan.deactivate + report.plan.reactivate);
    assert.equal(report.rateLimited, 0, 'a lone client under the limiter sees no 429');
    assert.equal(sim.stats().rateLimited, 0);
    assert.ok(events.some((e) => e.type === 'phase' && e.phase === 'listing'));
    assert.ok(events.some((e) => e.type === 'progress' && e.phase === 'applying' && e.done === e.total));
    assertNoDuplicates(sim.users(), (u) => u.attributes.sso_id);
    const again = await sync(foundryOptions(sim), { sources: [s.csv] });
    const p = again.plan;
    assert.deepEqual([p.create, p.update, p.deactivate, p.reactivate], [0, 0, 0, 0]);
    // Nothing but the token and the pages: pages of 100, active users then inactive ones.
    const active = sim.users().filter((u) => u.attributes.active).length;
    const pages = Math.max(1, Math.ceil(active / 100)) + Math.max(1, Math.ceil((p.platformUsers - active) / 100));
    assert.equal(again.requests, 1 + pages);
  } finally {
    await sim.close();
  }
});

test('Foundry under faults: every action terminal, no user created twice, and the next run converges', async () => {
  const runs = [];
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) {
    const s = sample(300, seed);
    // 429 storms (with Retry-After on even seeds), 5xx, answers lost after the write, answers
    // slower than the client's timeout, truncated bodies, pages that shift while being read.
    const faults = {
      error5xx: 0.05, dropAfterWrite: 0.15, malformed: 0.1, burst429: { every: 40, length: 3 }, rate429: 0.02,
      slow: { p: 0.03, ms: 400 }, shift: 0.3,
    };
    const SECRET = `fault-run-secret-${seed}-7c2e`;
    const rate = { ...FAST, retryAfter: seed % 2 === 0 };
    const sim = await startFoundry({ users: s.users, rate, faults, seed, clientSecret: SECRET });
    try {
      const events = [];
      const options = foundryOptions(sim, { seed, credentials: { clientId: 'sim-client', clientSecret: SECRET } });
      const report = await sync(options, { sources: [s.csv], timeoutMs: 250, onEvent: (e) => events.push(e) });
      // Every output of a faulty run, searched for the secret and for the token it bought.
      const everything = JSON.stringify(report) + JSON.stringify(events);
      assert.ok(!everything.includes(SECRET) && !everything.includes('sim-token-'), `seed ${seed}: a credential leaked`);
      const planned = report.plan ? report.outcomes.length : 0;
      assert.equal(report.counts.done + report.counts.failed + report.counts.skipped, planned, `seed ${seed}`);
      assertNoDuplicates(sim.users(), (u) => u.attributes.sso_id);
      assertNoDuplicates(sim.users(), (u) => u.attributes.email?.toLowerCase());
      sim.setFaults({});
      const again = await sync(options, { sources: [s.csv] });
      const p = again.plan;
      assert.equal(again.counts.failed, 0, `seed ${seed}: ${JSON.stringify(again.outcomes.filter((o) => o.state === 'failed'))}`);
      const third = await sync(options, { sources: [s.csv] });
      assert.deepEqual([third.plan.create, third.plan.update, third.plan.deactivate, third.plan.reactivate], [0, 0, 0, 0], `seed ${seed}`);
      runs.push({ seed, faults: sim.stats().faultsInjected, done: report.counts.done, failed: report.counts.failed, retries: report.retries, secondRunWrites: p.create + p.update + p.deactivate + p.reactivate });
    } finally {
      await sim.close();
    }
  }
  console.log(JSON.stringify(runs));
});

test('Foundry with the window tightened to half: all done, none duplicated', async () => {
  const s = sample(600, 9);
  const sim = await startFoundry({ users: s.users, rate: { limit: 100, windowMs: 1000 } });
  try {
    const report = await sync(foundryOptions(sim), { sources: [s.csv] });
    assert.equal(report.counts.failed, 0);
    assert.ok(report.rateLimited > 0);
    assertNoDuplicates(sim.users(), (u) => u.attributes.sso_id);
  } finally {
    await sim.close();
  }
});

test('Foundry delta sync: no listing, new IDs reported back', async () => {
  const sim = await startFoundry({ users: [{ id: 'dek-123', attributes: { sso_id: '33', first_name: 'Geoff', last_name: 'Smith', email: 'geoff.smith@example.org', active: true } }], rate: FAST });
  try {
    const delta = 'platformId,ssoId,firstName,lastName,email,active\ndek-123,33,Geoff,Smith-Evans,geoff.smith@example.org,true\n,686,Ellen,Cohen,ellen.cohen@example.org,true\n';
    const report = await sync(foundryOptions(sim, { mode: 'delta' }), { sources: [delta] });
    assert.deepEqual(report.counts, { done: 2, failed: 0, skipped: 0 });
    assert.equal(sim.stats().byRoute['GET /v1/admin/users'], undefined, 'nothing listed');
    assert.equal(report.created.length, 1);
    const ellen = sim.users().find((u) => u.id === report.created[0].platformId);
    assert.equal(ellen.attributes.sso_id, '686');
  } finally {
    await sim.close();
  }
});

test('Learnifier: the walkthrough with orphans deleted; hand-made and back-office users left alone', async () => {
  const sim = await startLearnifier({
    users: [
      { id: 'L-33', externalId: '33', firstName: 'Geoff', lastName: 'Smith', primaryEmail: 'geoff.smith@example.org' },
      { id: 'L-55', externalId: '55', firstName: 'Leo', lastName: 'Later', primaryEmail: 'leo.later@example.org' },
      { id: 'L-787', externalId: '787', firstName: 'Dan', lastName: 'Dismayed', primaryEmail: 'dan.dismayed@example.org' },
      { id: 'L-hand', firstName: 'Hand', lastName: 'Made', primaryEmail: 'hand@example.org' },
      { id: 'L-bo', externalId: '900', firstName: 'Back', lastName: 'Office', primaryEmail: 'bo@example.org', backOfficeRoles: [{ id: 1, name: 'Admin' }] },
    ],
  });
  const options = { platform: 'learnifier', baseUrl: sim.url, credentials: { key: 'sim-key', secret: 'sim-secret' }, orphans: 'delete', pageSize: 2 };
  try {
    const report = await sync(options, { sources: [WALK] });
    assert.deepEqual(report.outcomes.map((o) => `${o.action} ${o.key} ${o.state}`), ['update 33 done', 'create 44 done', 'deactivate 55 done', 'create 686 done', 'delete 787 done']);
    const byExt = Object.fromEntries(sim.users().map((u) => [u.externalId ?? u.id, u]));
    assert.equal(byExt['33'].lastName, 'Smith\u2011Evans');
    assert.equal(byExt['55'].hardLock, true);
    assert.equal(byExt['787'], undefined);
    assert.ok(byExt['L-hand'] && byExt['900'], 'unmanaged and back-office users kept');
    assert.equal(sim.stats().byRoute['GET /users'], 3, 'paged by X-More with limit 2');
    const again = await sync(options, { sources: [WALK] });
    assert.equal(again.counts.done, 0);
    assert.equal(again.plan.unchanged, 4);
  } finally {
    await sim.close();
  }
});

test('Learnifier under lost answers: creates are settled by external-id lookup, never doubled', async () => {
  const sim = await startLearnifier({ faults: { dropAfterWrite: 0.5, error5xx: 0.1 }, seed: 3 });
  const src = ['ssoId,firstName,lastName,email,active', ...Array.from({ length: 60 }, (_, i) => `${i},F${i},L${i},p${i}@example.org,true`)].join('\n');
  try {
    const report = await sync(
      { platform: 'learnifier', baseUrl: sim.url, credentials: { key: 'sim-key', secret: 'sim-secret' }, retry: { maxAttempts: 10, maxRateLimited: 10, baseMs: 20, maxMs: 200 } },
      { sources: [src], timeoutMs: 2000 },
    );
    assert.equal(report.counts.done, 60, JSON.stringify(report.outcomes.filter((o) => o.state !== 'done')));
    assert.equal(sim.users().length, 60);
    assert.ok(report.outcomes.some((o) => o.reason?.includes('lookup')), 'some creates were settled by lookup');
    assert.ok(sim.stats().faultsInjected.dropAfterWrite > 0);
  } finally {
    await sim.close();
  }
});

/** Another origin that records whatever reaches it: what a client must never reach. */
async function startRecorder() {
  const received = [];
  const server = createServer((req, res) => {
    received.push({ method: req.method, url: req.url, headers: req.headers });
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[]}');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    received,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

test('Foundry on a bad day (redirects, ignored filters, short tokens, huge Retry-After, repeated pages, with the faults above): every invocation ends, nothing reaches another origin, no user is created twice or linked to another learner, nothing leaks, and the runs converge', { timeout: 300_000 }, async () => {
  const elsewhere = await startRecorder();
  const runs = [];
  try {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const s = sample(240, 100 + seed);
      const faults = {
        error5xx: 0.03, dropAfterWrite: 0.15, burst429: { every: 45, length: 2 }, shift: 0.2,
        ignoreFilter: 0.6, repeatPage: 0.3, hugeRetryAfter: 0.25, redirect: { p: 0.004, to: elsewhere.url },
      };
      const SECRET = `bad-day-secret-${seed}-51f0`;
      const tokenTtlSeconds = [1, 2, 30, 7200][seed % 4];
      const sim = await startFoundry({ users: s.users, rate: FAST, faults, seed, clientSecret: SECRET, tokenTtlSeconds });
      const options = foundryOptions(sim, { seed, credentials: { clientId: 'sim-client', clientSecret: SECRET } });
      const stops = {};
      let checkpoint;
      let invocations = 0;
      // The host's clock: a host told to come back in ten years is let to (the engine's time is
      // the host's, so the test moves it on rather than waiting).
      let skipped = 0;
      const now = () => Date.now() + skipped;
      let created = 0;
      try {
        // A host that runs the sync again after each stop, resuming a suspended run from its
        // checkpoint, as the Worker's cron does: a bounded number of invocations.
        for (; invocations < 12; ) {
          const events = [];
          const report = await sync(options, { sources: [s.csv], timeoutMs: 250, checkpoint, now, onEvent: (e) => events.push(e) });
          invocations += 1;
          const everything = JSON.stringify(report) + JSON.stringify(events);
          for (const secret of [SECRET, 'sim-token-', Buffer.from(`sim-client:${SECRET}`).toString('base64')]) {
            assert.ok(!everything.includes(secret), `seed ${seed}: a credential leaked`);
          }
          // Whatever the run said it created is the learner it was created for.
          const byId = new Map(sim.users().map((u) => [u.id, u]));
          for (const c of report.created) {
            assert.equal(byId.get(c.platformId)?.attributes.sso_id, c.key, `seed ${seed}: learner ${c.key} reported as ${c.platformId}`);
          }
          created += report.created.length;
          assertNoDuplicates(sim.users(), (u) => u.attributes.sso_id);
          assertNoDuplicates(sim.users(), (u) => u.attributes.email?.toLowerCase());
          if (report.error) stops[report.error.code] = (stops[report.error.code] ?? 0) + 1;
          if (report.suspended) {
            assert.ok(report.checkpoint, `seed ${seed}: suspended without a checkpoint`);
            if (report.error?.code === 'RATE_LIMITED') {
              assert.ok(report.resumeAt > now(), `seed ${seed}: RATE_LIMITED without a time to resume at`);
              skipped += report.resumeAt - now();
            }
            checkpoint = report.checkpoint;
            continue;
          }
          assert.ok(report.finished, `seed ${seed}: neither finished nor suspended`);
          const planned = report.plan ? report.outcomes.length : 0;
          assert.equal(report.counts.done + report.counts.failed + report.counts.skipped, planned, `seed ${seed}: an action without an outcome`);
          checkpoint = undefined;
          if (!report.error && report.counts.failed === 0) break;
        }
        sim.setFaults({});
        const again = await sync(options, { sources: [s.csv] });
        assert.equal(again.counts.failed, 0, `seed ${seed}: ${JSON.stringify(again.outcomes.filter((o) => o.state === 'failed'))}`);
        const third = await sync(options, { sources: [s.csv] });
        assert.deepEqual([third.plan.create, third.plan.update, third.plan.deactivate, third.plan.reactivate], [0, 0, 0, 0], `seed ${seed}`);
        runs.push({ seed, tokenTtlSeconds, invocations, stops, created, faults: sim.stats().faultsInjected, tokens: sim.stats().byRoute['POST /oauth/token'] });
      } finally {
        await sim.close();
      }
    }
    console.log(JSON.stringify(runs));
    assert.deepEqual(elsewhere.received, [], 'a request reached another origin');
    const injected = (kind) => runs.reduce((n, r) => n + (r.faults[kind] ?? 0), 0);
    for (const kind of ['redirect', 'ignoreFilter', 'hugeRetryAfter', 'repeatPage']) assert.ok(injected(kind) > 0, `no ${kind} fault was injected`);
  } finally {
    await elsewhere.close();
  }
});
