// One pacing scenario on the real clock: the built package (pkg/, through the JS API) syncs
// 190 changes into the Foundry simulator over loopback HTTP while the simulator enforces a
// rolling window, and the simulator's own log says what it accepted and when. Shared by
// js/test/pacing.e2e.test.js (which asserts behaviour) and js/bench/pacing.js (which prints
// figures), so both run the same thing. The scenario mirrors examples/bench_pacing.rs: 1,400
// users, 190 of them with a new last name, 206 requests (a token, 14 pages of active users,
// one of inactive ones, 190 PATCHes), all counted by the window.
import { startFoundry } from '../sim/foundry.js';
import { sync } from '../node.js';

export const POPULATION = 1400;
export const CHANGES = 190;

/** Foundry's documented budget: the engine's default. */
export const DEFAULT_RATE = { limit: 200, windowMs: 60_000 };

function realm() {
  const users = [];
  let csv = 'ssoId,firstName,lastName,email,active\n';
  for (let i = 0; i < POPULATION; i += 1) {
    users.push({ sso_id: String(i), first_name: `F${i}`, last_name: 'Old', email: `p${i}@example.org`, active: true });
    csv += `${i},F${i},${i < CHANGES ? 'New' : 'Old'},p${i}@example.org,true\n`;
  }
  return { users, csv };
}

/**
 * Runs one sync. `platform`: `{limit, windowMs}` the simulator enforces; `retryAfter`: whether
 * its 429s say when the budget frees; `client`: the `rate` option (omitted: the default).
 * `saveCheckpoint`, if given, is the host's (it makes the run save checkpoints, so writes go in
 * claimed batches). Returns the report, the wall time, the simulator's log of the requests its
 * window counts, and how many users now have the new last name.
 */
export async function runPacing({ platform, retryAfter, client, saveCheckpoint }) {
  const { users, csv } = realm();
  const sim = await startFoundry({ users, rate: { ...platform, retryAfter } });
  try {
    const options = {
      platform: 'foundry',
      baseUrl: sim.url,
      credentials: { clientId: 'sim-client', clientSecret: 'sim-secret' },
      ...(client ? { rate: client } : {}),
    };
    const started = Date.now();
    const report = await sync(options, { sources: [csv], ...(saveCheckpoint ? { saveCheckpoint } : {}) });
    const wallMs = Date.now() - started;
    const log = sim.log().filter((e) => e.counted);
    const changed = sim.users().filter((u) => u.attributes.last_name === 'New').length;
    return { report, wallMs, log, changed };
  } finally {
    await sim.close();
  }
}

/** The most requests the simulator accepted in any `windowMs` (by its own arrival times). */
export function mostAcceptedInWindow(log, windowMs) {
  const at = log.filter((e) => e.status !== 429).map((e) => e.at);
  let most = 0;
  for (let i = 0, j = 0; i < at.length; i += 1) {
    while (at[i] - at[j] >= windowMs) j += 1;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/** Runs of 429s with no accepted request between them, in the simulator's order. */
export function bursts429(log) {
  let n = 0;
  let inBurst = false;
  for (const e of log) {
    if (e.status === 429 && !inBurst) n += 1;
    inBurst = e.status === 429;
  }
  return n;
}

/** Accepted requests per second ÷ min(platform rate, configured rate), as bench_pacing has it. */
export function efficiency(log, wallMs, platform, client = DEFAULT_RATE) {
  const accepted = log.filter((e) => e.status !== 429).length;
  const rate = Math.min(platform.limit / platform.windowMs, client.limit / client.windowMs);
  return { accepted, idealMs: accepted / rate, efficiency: accepted / rate / wallMs };
}
