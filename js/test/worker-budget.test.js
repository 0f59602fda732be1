// The Worker template's shared budget (examples/cloudflare-worker/, bundled against this checkout
// as js/test/worker.test.js bundles it): two Workers syncing one organisation, run in
// workerd through Miniflare with the Durable Object wrangler.toml declares (one per base URL,
// bound by both), their scheduled runs fired at the same moment against one Foundry simulator
// enforcing 40 requests per rolling 4 s. From the simulator's log: together they never exceed
// the budget in any window (no request refused), each got at least 40% of what was accepted
// while both ran, and both finish with their learners created. (The object reads its stored
// ledger with SharedBudgetLedger.read, whose hostile cases js/test/shared-budget-file.test.js
// covers.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { buildTemplate, TEMPLATE, wrangler } from './worker-build.js';
import { startFoundry } from '../sim/foundry.js';
import { assertNoDuplicates, busiestWindow } from './sim-checks.js';


let built;
before(async () => {
  built = await buildTemplate('ls-worker-budget-');
});
after(() => built.remove());
const LIMIT = 40;
const WINDOW_MS = 4000;
const LEARNERS = 80;
const CREDENTIALS = { FOUNDRY_CLIENT_ID: 'sim-client', FOUNDRY_CLIENT_SECRET: 'sim-secret' };

function learners(prefix, n) {
  const rows = ['ssoId,email,firstName,lastName,active'];
  for (let i = 1; i <= n; i++) rows.push(`${prefix}-${i},${prefix}.${i}@example.com,Ada,${prefix.toUpperCase()}${i},true`);
  return rows.join('\n') + '\n';
}

/** Serves each Worker's export on loopback, as its HRIS would. */
async function startSources(files) {
  const server = createServer((req, res) => {
    const csv = files[req.url.slice(1)];
    if (!csv) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/csv' }).end(csv);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: (name) => `http://127.0.0.1:${server.address().port}/${name}`, close: () => new Promise((r) => server.close(r)) };
}

/** Two Workers as wrangler.toml declares one, each with its own KV and export, both bound to the first one's SharedBudget. */
function workers(sim, sources, names) {
  const [binding] = wrangler.durable_objects.bindings;
  const options = { ...JSON.parse(wrangler.vars.LEARNER_SYNC_OPTIONS), baseUrl: sim.url, rate: { limit: LIMIT, windowMs: WINDOW_MS } };
  return new Miniflare({
    workers: names.map((name, i) => ({
      name,
      modules: true,
      modulesRoot: built.out,
      scriptPath: built.script,
      modulesRules: [
        { type: 'ESModule', include: ['**/*.js'] },
        { type: 'CompiledWasm', include: ['**/*.wasm'] },
      ],
      compatibilityDate: wrangler.compatibility_date,
      kvNamespaces: { [wrangler.kv_namespaces[0].binding]: `kv-${name}` },
      durableObjects: { [binding.name]: i === 0 ? binding.class_name : { className: binding.class_name, scriptName: names[0] } },
      bindings: {
        ...wrangler.vars,
        LEARNER_SYNC_OPTIONS: JSON.stringify(options),
        SOURCE_URL: sources.url(name),
        REQUEST_BUDGET: '1000',
        TIME_BUDGET_MS: '120000',
        ...CREDENTIALS,
      },
    })),
  });
}

async function fire(mf, name, at) {
  const w = await mf.getWorker(name);
  const result = await w.scheduled({ cron: wrangler.triggers.crons[0], scheduledTime: new Date(at) });
  assert.equal(result.outcome, 'ok');
}

async function lastRun(mf, name) {
  const kv = await mf.getKVNamespace(wrangler.kv_namespaces[0].binding, name);
  return JSON.parse(await kv.get('last-run'));
}

test('wrangler.toml binds the SharedBudget Durable Object the Worker exports', () => {
  const [binding] = wrangler.durable_objects.bindings;
  assert.equal(binding.name, 'LEARNER_SYNC_BUDGET');
  assert.equal(binding.class_name, 'SharedBudget');
  assert.ok(wrangler.migrations.some((m) => m.new_sqlite_classes?.includes('SharedBudget')));
  assert.match(readFileSync(join(TEMPLATE, wrangler.main), 'utf8'), /export class SharedBudget\b/);
});

test('workerd: two Workers of one organisation run at once share its budget through the Durable Object', { timeout: 180_000 }, async () => {
  const sim = await startFoundry({ rate: { limit: LIMIT, windowMs: WINDOW_MS } });
  const sources = await startSources({ a: learners('a', LEARNERS), b: learners('b', LEARNERS) });
  const mf = workers(sim, sources, ['a', 'b']);
  try {
    const at = Date.UTC(2026, 11, 3, 2, 0);
    const started = Date.now();
    await Promise.all([fire(mf, 'a', at), fire(mf, 'b', at)]);
    const wall = (Date.now() - started) / 1000;
    const runs = [await lastRun(mf, 'a'), await lastRun(mf, 'b')];
    for (const r of runs) {
      assert.equal(r.finished, true, JSON.stringify(r.error));
      assert.equal(r.counts.done, LEARNERS);
      assert.equal(r.counts.failed, 0);
    }
    const log = sim.log();
    const times = log.map((r) => r.at);
    const refused = log.filter((r) => r.status === 429).length;
    const clients = [...new Set(log.map((r) => r.client))];
    assert.equal(clients.length, 2);
    const mine = (c) => log.filter((r) => r.client === c);
    const from = Math.max(...clients.map((c) => mine(c)[0].at));
    const to = Math.min(...clients.map((c) => mine(c).at(-1).at));
    const both = clients.map((c) => log.filter((r) => r.client === c && r.status !== 429 && r.at >= from && r.at <= to).length);
    const shares = both.map((n) => n / (both[0] + both[1]));
    const span = (Math.max(...times) - Math.min(...times)) / 1000;
    const ideal = log.length / (LIMIT / (WINDOW_MS / 1000));
    console.log(
      `shared budget, 2 Workers x ${LEARNERS} creates (full sync), platform ${LIMIT}/${WINDOW_MS / 1000} s: ${log.length} requests, ` +
        `${refused} refused (429), busiest window ${busiestWindow(times, WINDOW_MS)}, shares while both ran ${shares.map((s) => `${Math.round(s * 100)}%`).join(' / ')}, ` +
        `first to last request ${span.toFixed(1)} s (ideal ${ideal.toFixed(1)} s: efficiency ${Math.round((ideal / span) * 100)}%), wall ${wall.toFixed(1)} s`,
    );
    assert.ok(busiestWindow(times, WINDOW_MS) <= LIMIT, `${busiestWindow(times, WINDOW_MS)} requests within ${WINDOW_MS} ms`);
    assert.equal(refused, 0, 'no request refused: the budget was never exceeded');
    for (const s of shares) assert.ok(s >= 0.4, `shares while both ran: ${shares.map((x) => x.toFixed(2)).join(' / ')}`);
    assert.ok(to - from >= WINDOW_MS, `side by side for ${to - from} ms`);
    const users = sim.users();
    assertNoDuplicates(users);
    assert.equal(users.length, 2 * LEARNERS);
  } finally {
    await mf.dispose();
    await sim.close();
    await sources.close();
  }
});
