// Checks shared by the end-to-end tests against the simulators.
import assert from 'node:assert/strict';
import { sync } from '../node.js';

/** No two users share `key` (default: a Foundry user's SSO ID); users without it are skipped. */
export function assertNoDuplicates(users, key = (u) => u.attributes.sso_id) {
  const seen = new Set();
  for (const u of users) {
    const k = key(u);
    if (k === null || k === undefined) continue;
    assert.ok(!seen.has(k), `two users with ${k}`);
    seen.add(k);
  }
}

/** A fresh full sync of `csv` into the Foundry simulator plans no write: the last run finished the job. */
export async function assertConverged(sim, csv, rate) {
  const credentials = { clientId: 'sim-client', clientSecret: 'sim-secret' };
  const again = await sync({ platform: 'foundry', baseUrl: sim.url, rate, credentials }, { sources: [csv] });
  const p = again.plan;
  assert.deepEqual([p.create, p.update, p.deactivate, p.reactivate], [0, 0, 0, 0]);
}

/** The most requests that arrived within any window of `ms` (every request, refused or not). */
export function busiestWindow(times, ms) {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= ms) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}
