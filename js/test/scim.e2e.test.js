// End to end against a real SCIM 2.0 server nobody here wrote: scim2-server from PyPI,
// installed into .venv by scripts/setup.sh --test and started on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sync } from '../node.js';
import { startScimServer } from './scim-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TOKEN = 'scim-e2e-token-5d1c';
const SOURCE = readFileSync(`${ROOT}examples/walkthrough/source.csv`);
let server;
let base;

async function scim(method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json' },
    body: body && JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function allUsers() {
  const r = await scim('GET', '/Users?startIndex=1&count=1000');
  return r.body.Resources ?? [];
}

before(async () => {
  server = await startScimServer(TOKEN);
  base = `${server.base}/v2`;
  const seed = [
    { externalId: '33', userName: 'geoff.smith@example.org', name: { givenName: 'Geoff', familyName: 'Smith' }, active: true },
    { externalId: '44', userName: 'kate.jones@example.org', name: { givenName: 'Kate', familyName: 'Jones' }, active: true },
    { externalId: '55', userName: 'leo.later@example.org', name: { givenName: 'Leo', familyName: 'Later' }, active: true },
    { externalId: '787', userName: 'dan.dismayed@example.org', name: { givenName: 'Dan', familyName: 'Dismayed' }, active: true },
    // Made by hand, no externalId: not managed, never touched by orphan handling.
    { userName: 'admin@example.org', name: { givenName: 'Ada', familyName: 'Admin' }, active: true },
  ];
  for (const u of seed) {
    const emails = [{ value: u.userName, type: 'work', primary: true }];
    const r = await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], ...u, emails });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
});

after(() => server?.stop());

const options = (extra = {}) => ({ platform: 'scim', baseUrl: base, credentials: { token: TOKEN }, orphans: 'deactivate', ...extra });

test('a full sync brings scim2-server in line with the source, and a second plans nothing', async () => {
  const events = [];
  const report = await sync(options(), { sources: [{ page: SOURCE, label: 'source.csv' }], onEvent: (e) => events.push(e) });
  assert.equal(report.error, undefined);
  assert.deepEqual(report.counts, { done: 4, failed: 0, skipped: 0 });
  assert.deepEqual(
    report.outcomes.map((o) => `${o.action} ${o.key} ${o.state}`),
    ['update 33 done', 'deactivate 55 done', 'create 686 done', 'deactivate 787 done'],
  );
  assert.ok(events.some((e) => e.type === 'progress' && e.phase === 'applying' && e.done === 4 && e.total === 4));
  assert.ok(!JSON.stringify(report).includes(TOKEN), 'the token never appears in the report');

  const byKey = Object.fromEntries((await allUsers()).map((u) => [u.externalId ?? u.userName, u]));
  // The state equals the source: active learners present with their fields, leavers inactive.
  const expected = [
    ['33', 'Geoff', 'Smith\u2011Evans', true],
    ['44', 'Kate', 'Jones', true],
    ['55', 'Leo', 'Later', false],
    ['686', 'Ellen', 'Cohen', true],
  ];
  for (const [key, first, last, active] of expected) {
    const u = byKey[key];
    assert.ok(u, `user ${key} exists`);
    assert.deepEqual([u.name.givenName, u.name.familyName, u.active], [first, last, active], key);
  }
  assert.equal(byKey['686'].userName, 'ellen.cohen@example.org');
  assert.equal(byKey['77'], undefined, 'an inactive learner with no user is not created');
  assert.equal(byKey['787'].active, false, 'the orphan is deactivated by policy');
  assert.equal(byKey['admin@example.org'].active, true, 'the unmanaged user is left alone');
  assert.equal(report.created[0].platformId, byKey['686'].id);

  const again = await sync(options(), { sources: [SOURCE] });
  const p = again.plan;
  assert.deepEqual([p.create, p.update, p.deactivate, p.reactivate, p.link, p.delete], [0, 0, 0, 0, 0, 0]);
  assert.equal(again.counts.done, 0);
  assert.equal(p.unchanged, 4, '33, 44, 686, and 55 (inactive on both sides)');
});

test('a returning learner is reactivated, and a dry run sends nothing', async () => {
  const back = 'ssoId,firstName,lastName,email,active\n55,Leo,Later,leo.later@example.org,true\n';
  const dry = await sync(options({ dryRun: true, orphans: 'review' }), { sources: [back] });
  assert.equal(dry.planned.summary.reactivate, 1);
  assert.equal(dry.outcomes.find((o) => o.action === 'reactivate').state, 'skipped');
  const leo = () => allUsers().then((list) => list.find((u) => u.externalId === '55'));
  assert.equal((await leo()).active, false, 'dry run changed nothing');
  const real = await sync(options({ orphans: 'review' }), { sources: [back] });
  assert.equal(real.counts.done, 1);
  assert.equal((await leo()).active, true);
});

test('a wrong token ends the run at once, with no retry and no token in the report', async () => {
  const report = await sync(options({ credentials: { token: 'not-the-token-9' } }), { sources: [SOURCE] });
  assert.equal(report.error.code, 'AUTH_FAILED');
  assert.equal(report.requests, 1);
  assert.match(report.error.message, /HTTP 401/);
  assert.ok(!JSON.stringify(report).includes('not-the-token-9'));
});
