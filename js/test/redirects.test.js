// Credentials never reach another origin (issue 10, item 1). A platform (js/test/hostile.js)
// answers 307/308 to another origin or to itself, for every request, only the token request,
// or only the writes; the sync runs in Node and in workerd (Miniflare), each with its own
// fetch. Every request goes out with redirect: 'manual', so nothing reaches the other origin:
// no Bearer token, no Learnifier Basic key:secret, no client_secret form body; the run stops
// with REDIRECTED, naming the status and the target's host, never "fetch failed".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { startFoundry } from '../sim/foundry.js';
import { startLearnifier } from '../sim/learnifier.js';
import { sample } from '../demo/sample.js';
import { sync, beginSync, stepSync } from '../node.js';
import { startHostile } from './hostile.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FOUNDRY_SECRET = 'foundry-secret-R3d1r';
const LEARNIFIER_SECRET = 'learnifier-secret-R3d1r';
const FAST = { limit: 500, windowMs: 1000 };
const RETRY = { maxAttempts: 3, baseMs: 20, maxMs: 50 };
const LEARNERS = 'ssoId,firstName,lastName,email,active\n1,Ann,Lee,ann@x.org,true\n2,Bo,Ek,bo@x.org,true\n3,Cy,Ng,cy@x.org,true\n';

const WRITES = /^(POST \/v1\/admin\/registration_sets|POST \/users|PATCH |DELETE )/;
const TOKEN = /^POST \/oauth\/token/;

/** The modes of the hostile platform, for a platform that has (`oauth`) or not a token endpoint. */
function modes(oauth) {
  const all = {
    'every request, 307 to another origin': { to: 'elsewhere', status: 307 },
    'every request, 308 to another origin': { to: 'elsewhere', status: 308 },
    'every request, 302 to another origin': { to: 'elsewhere', status: 302 },
    'every request, 307 to the same origin': { to: 'same', status: 307 },
    'every request, 308 to the same origin': { to: 'same', status: 308 },
    'only the writes, 307 to another origin': { to: 'elsewhere', status: 307, only: WRITES },
    'only the writes, 308 to the same origin': { to: 'same', status: 308, only: WRITES },
  };
  if (oauth) {
    all['only the token request, 307 to another origin'] = { to: 'elsewhere', status: 307, only: TOKEN };
    all['only the token request, 307 to the same origin'] = { to: 'same', status: 307, only: TOKEN };
  }
  return all;
}

const PLATFORMS = {
  foundry: {
    oauth: true,
    secrets: [FOUNDRY_SECRET],
    start: () => startFoundry({ users: sample(40, 3).users, rate: FAST, clientSecret: FOUNDRY_SECRET }),
    source: () => sample(40, 3).csv,
    options: (url) => ({ platform: 'foundry', baseUrl: url, credentials: { clientId: 'sim-client', clientSecret: FOUNDRY_SECRET }, rate: FAST, retry: RETRY }),
    created: (sim) => sim.stats().created,
  },
  learnifier: {
    oauth: false,
    secrets: [LEARNIFIER_SECRET, Buffer.from(`sim-key:${LEARNIFIER_SECRET}`).toString('base64')],
    start: () => startLearnifier({ secret: LEARNIFIER_SECRET }),
    source: () => LEARNERS,
    options: (url) => ({ platform: 'learnifier', baseUrl: url, credentials: { key: 'sim-key', secret: LEARNIFIER_SECRET }, retry: RETRY }),
    created: (sim) => sim.users().length,
  },
};

/** Asserts what a redirected run must always show, whichever runtime sent it. */
function assertStopped(report, hostile, mode, platform, what) {
  const targetHost = new URL(mode.to === 'same' ? hostile.url : hostile.elsewhere.url).host;
  // Nothing reached the other origin: no token, no Basic header, no client_secret body.
  assert.deepEqual(hostile.elsewhere.received, [], `${what}: requests reached the other origin`);
  // Nor the redirect's target on the same origin.
  assert.deepEqual(hostile.log.filter((r) => r.url.startsWith('/__again')), [], `${what}: a redirect was followed`);
  assert.equal(report.error?.code, 'REDIRECTED', `${what}: ${JSON.stringify(report.error)}`);
  const message = report.error.message;
  assert.match(message, new RegExp(`HTTP ${mode.status}, a redirect to host ${targetHost.replace(/[.[\]]/g, '\\$&')}`), what);
  assert.doesNotMatch(message, /fetch failed|network error|__again|\/v1\/|\/users|\?/, `${what}: ${message}`);
  assert.equal(report.retries, 0, `${what}: a redirect is not retried`);
  assert.equal(report.created.length, 0, what);
  assert.equal(report.counts.done, 0, what);
  const everything = JSON.stringify(report);
  for (const s of platform.secrets) assert.ok(!everything.includes(s), `${what}: a credential in the report`);
  if (mode.only === WRITES) {
    const redirected = report.outcomes.filter((o) => o.status === mode.status);
    assert.ok(redirected.length >= 1, `${what}: the redirected write is reported`);
    for (const o of redirected) assert.match(o.error, /^not processed: /, what);
  }
}

/** Runs every mode against `platform` with `runSync(options, sources)`, in one runtime. */
async function everyMode(name, runSync) {
  const platform = PLATFORMS[name];
  for (const [label, mode] of Object.entries(modes(platform.oauth))) {
    const sim = await platform.start();
    const hostile = await startHostile(sim.url, { redirect: mode });
    try {
      const report = await runSync(platform.options(hostile.url), [platform.source()]);
      assertStopped(report, hostile, mode, platform, `${name}, ${label}`);
      assert.equal(platform.created(sim), 0, `${name}, ${label}: nobody created`);
    } finally {
      await hostile.close();
      await sim.close();
    }
  }
}

const nodeSync = (options, sources) => sync(options, { sources });

test('Node: Foundry redirected to another origin or its own sends no token or secret there, and stops with REDIRECTED', async () => {
  await everyMode('foundry', nodeSync);
});

test('Node: Learnifier redirected sends its Basic key:secret nowhere else, and stops with REDIRECTED', async () => {
  await everyMode('learnifier', nodeSync);
});

test('Node: a same-origin 307 on the token POST is a clear redirect error, not "fetch failed"', async () => {
  const sim = await PLATFORMS.foundry.start();
  const hostile = await startHostile(sim.url, { redirect: { to: 'same', status: 307, only: TOKEN } });
  try {
    const report = await nodeSync(PLATFORMS.foundry.options(hostile.url), [PLATFORMS.foundry.source()]);
    assert.equal(report.error.code, 'REDIRECTED');
    assert.match(report.error.message, /the token request with HTTP 307, a redirect to host 127\.0\.0\.1:\d+; redirects are never followed/);
    assert.equal(report.requests, 1);
  } finally {
    await hostile.close();
    await sim.close();
  }
});

test('the step API asks the host not to follow redirects, and a 3xx answer stops the run', async () => {
  const options = { platform: 'learnifier', baseUrl: 'https://learnifier.example/api', credentials: { key: 'k', secret: LEARNIFIER_SECRET } };
  const begun = beginSync(options, { sources: [LEARNERS], now: 0 });
  assert.ok(begun.requests.length > 0);
  for (const r of begun.requests) assert.equal(r.redirect, 'manual');
  const answers = begun.requests.map((r) => ({ id: r.id, status: 301, headers: { location: 'https://login.example/sso?code=abc' }, body: '' }));
  const next = stepSync(begun.state, answers, { now: 1, baseUrl: options.baseUrl, credentials: options.credentials, sources: [LEARNERS] });
  assert.equal(next.done, true);
  assert.deepEqual(next.requests, []);
  assert.equal(next.report.error.code, 'REDIRECTED');
  assert.match(next.report.error.message, /HTTP 301, a redirect to host login\.example;/);
  assert.doesNotMatch(next.report.error.message, /code=abc|sso/);
});

test('a browser-style opaque redirect (status hidden) stops the run with REDIRECTED too', async () => {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push(init.redirect);
    return { type: 'opaqueredirect', status: 0, headers: new Headers(), arrayBuffer: async () => new ArrayBuffer(0) };
  };
  const report = await sync(PLATFORMS.learnifier.options('https://learnifier.example'), { sources: [LEARNERS], fetch });
  assert.deepEqual(calls, ['manual']);
  assert.equal(report.error.code, 'REDIRECTED');
  assert.match(report.error.message, /did not show its status or target/);
});

// workerd: the same runs inside workerd, through its own fetch (which follows redirects and
// keeps every header unless told not to).
let mf;

before(async () => {
  mf = new Miniflare({
    modules: true,
    modulesRoot: ROOT,
    scriptPath: join(ROOT, 'js/test/runtimes/sync-worker.js'),
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: '2024-09-23',
  });
  await mf.ready;
});

after(() => mf?.dispose());

async function workerd(path, input) {
  const res = await mf.dispatchFetch(`http://localhost${path}`, { method: 'POST', body: JSON.stringify(input) });
  const out = await res.json();
  if (out.thrown) throw Object.assign(new Error(out.thrown.message), out.thrown);
  return out;
}

const workerdSync = (options, sources) => workerd('/sync', { options, sources });

test('workerd: Foundry redirected to another origin or its own sends no token or secret there, and stops with REDIRECTED', async () => {
  // What workerd's fetch does with redirect: 'manual': the 3xx and its Location, nothing followed.
  const sim = await PLATFORMS.foundry.start();
  const hostile = await startHostile(sim.url, { redirect: { to: 'elsewhere', status: 307 } });
  try {
    const probe = await workerd('/probe', { url: `${hostile.url}/oauth/token`, method: 'POST', body: 'client_secret=x' });
    assert.deepEqual(probe, { status: 307, type: 'default', location: `${hostile.elsewhere.url}/oauth/token`, redirected: false });
    assert.deepEqual(hostile.elsewhere.received, []);
  } finally {
    await hostile.close();
    await sim.close();
  }
  await everyMode('foundry', workerdSync);
});

test('workerd: Learnifier redirected sends its Basic key:secret nowhere else, and stops with REDIRECTED', async () => {
  await everyMode('learnifier', workerdSync);
});
