// A lookup after a lost answer checks what it found (issue 10, item 2). The platform
// (js/test/hostile.js, mode ignoreFilter) drops every filter from list requests, so a lookup by
// key gets the first users of the listing; the create of learner 686 takes effect but its answer
// is lost. The report must never say 686 was created as another learner's account (the host
// would store that ID and later write one person's data onto another's): the create fails,
// saying why, and `created` stays empty. Against the Foundry simulator and a real SCIM server.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startFoundry } from '../sim/foundry.js';
import { sync } from '../node.js';
import { startHostile } from './hostile.js';
import { startScimServer } from './scim-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SOURCE = readFileSync(`${ROOT}examples/walkthrough/source.csv`);
const RETRY = { maxAttempts: 3, baseMs: 20, maxMs: 50 };
const WALKTHROUGH = [
  ['dek-123', '33', 'Geoff', 'Smith'],
  ['zak-928', '44', 'Kate', 'Jones'],
  ['iux-332', '55', 'Leo', 'Later'],
  ['qai-928', '787', 'Dan', 'Dismayed'],
];

/** globalThis.fetch, except that the first request `lose` picks is sent, then its answer lost. */
function losingFetch(lose) {
  let lost = 0;
  const fetchFn = async (url, init) => {
    const res = await fetch(url, init);
    if (lost === 0 && lose(init.method, new URL(url).pathname)) {
      lost += 1;
      await res.arrayBuffer();
      throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
    }
    return res;
  };
  return { fetchFn, lost: () => lost };
}

/**
 * What the report must show for a create whose lookup met a platform ignoring the filter: the
 * create failed, saying why, or (when the unfiltered listing happened to include 686) done as
 * 686's own account, `realId`; never another learner's.
 */
function assertNeverAnotherLearner(report, otherIds, realId, what) {
  const create = report.outcomes.find((o) => o.action === 'create');
  assert.equal(create.key, '686', what);
  assert.ok(!otherIds.includes(create.platformId), `${what}: reported as ${create.platformId}`);
  if (create.state === 'done') {
    assert.equal(create.platformId, realId, `${what}: ${JSON.stringify(create)}`);
    assert.deepEqual(report.created.map((c) => [c.key, c.platformId]), [['686', realId]], what);
    return 'done';
  }
  assert.equal(create.state, 'failed', `${what}: ${JSON.stringify(create)}`);
  assert.match(create.error, /ignored the filter/, what);
  assert.deepEqual(report.created, [], `${what}: no created ID to store`);
  return 'failed';
}

test('Foundry ignoring the filter: a lost create of 686 is never reported as another learner', async () => {
  const users = WALKTHROUGH.map(([id, sso, first, last]) => ({ id, sso_id: sso, first_name: first, last_name: last, email: `${first}.${last}@example.org`.toLowerCase(), active: true }));
  const sim = await startFoundry({ users, rate: { limit: 500, windowMs: 1000 } });
  const hostile = await startHostile(sim.url, { ignoreFilter: true });
  try {
    const { fetchFn, lost } = losingFetch((method, path) => method === 'POST' && path === '/v1/admin/registration_sets');
    const options = { platform: 'foundry', baseUrl: hostile.url, credentials: { clientId: 'sim-client', clientSecret: 'sim-secret' }, rate: { limit: 500, windowMs: 1000 }, retry: RETRY };
    const report = await sync(options, { sources: [SOURCE], fetch: fetchFn, timeoutMs: 5_000 });
    assert.equal(lost(), 1);
    assert.ok(hostile.log.some((r) => r.url.includes('filter[sso_id]=686')), 'the lookup asked by key');
    // Foundry's lookup asks for 2 users: the unfiltered listing's first two are 33 and 44.
    assert.equal(assertNeverAnotherLearner(report, WALKTHROUGH.map((u) => u[0]), undefined, 'foundry'), 'failed');
    assert.equal(sim.stats().created, 1, 'the create was not sent again');
  } finally {
    await hostile.close();
    await sim.close();
  }
});

// A real SCIM 2.0 server (scim2-server from PyPI, in .venv), behind the hostile proxy.
let server;
after(() => server?.stop());

async function startScim(token) {
  server = await startScimServer(token);
  const { base } = server;
  const ids = [];
  for (const [, key, first, last] of WALKTHROUGH) {
    const userName = `${first}.${last}@example.org`.toLowerCase();
    const res = await fetch(`${base}/v2/Users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], externalId: key, userName, name: { givenName: first, familyName: last }, emails: [{ value: userName, type: 'work', primary: true }], active: true }),
    });
    assert.equal(res.status, 201);
    ids.push((await res.json()).id);
  }
  return { base, ids };
}

test('SCIM (scim2-server) ignoring the filter: a lost create of 686 is never reported as another learner', async () => {
  const token = 'scim-lookups-token-7f2e';
  const { base, ids } = await startScim(token);
  const hostile = await startHostile(base, { ignoreFilter: true });
  try {
    const { fetchFn, lost } = losingFetch((method, path) => method === 'POST' && path === '/v2/Users');
    const options = { platform: 'scim', baseUrl: `${hostile.url}/v2`, credentials: { token }, retry: RETRY };
    const report = await sync(options, { sources: [SOURCE], fetch: fetchFn, timeoutMs: 5_000 });
    assert.equal(lost(), 1);
    assert.ok(hostile.log.some((r) => r.method === 'GET' && r.url.includes('filter=')), 'the lookup asked by key');
    const listed = await (await fetch(`${base}/v2/Users?count=100`, { headers: { authorization: `Bearer ${token}` } })).json();
    const real = listed.Resources.filter((u) => u.externalId === '686');
    assert.equal(real.length, 1, 'created once');
    // The unfiltered listing holds 686 among the others: only its own account may settle it.
    assertNeverAnotherLearner(report, ids, real[0].id, 'scim');
  } finally {
    await hostile.close();
  }
});
