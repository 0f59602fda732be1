// The pacing benchmark on the real clock: rows of examples/bench_pacing.rs (which runs on a
// simulated clock) run again with the built package (pkg/, scripts/build.sh) against the JS
// Foundry simulator over loopback, timed by the wall clock and judged by the simulator's own
// log. Prints one Markdown row per scenario; asserts nothing (js/test/pacing.e2e.test.js does).
// The rows run at once (each has its own simulator): about a minute in all.
//   node js/bench/pacing.js
import { bursts429, efficiency, mostAcceptedInWindow, runPacing } from './pacing-run.js';

const per = (limit, seconds) => ({ limit, windowMs: seconds * 1000 });
const label = (r) => `${r.limit}/${r.windowMs / 1000} s`;
const rows = [
  { row: '1', name: 'platform stricter than the default', platform: per(40, 4), retryAfter: false },
  { row: '1', name: 'platform stricter than the default, Retry-After', platform: per(40, 4), retryAfter: true },
  { row: '3', name: 'platform half the configured', platform: per(20, 4), client: per(40, 4), retryAfter: false },
  { row: '3', name: 'platform half the configured, Retry-After', platform: per(20, 4), client: per(40, 4), retryAfter: true },
  { row: '4', name: 'longer platform window', platform: per(60, 12), client: per(40, 4), retryAfter: false },
  { row: '4', name: 'longer platform window, Retry-After', platform: per(60, 12), client: per(40, 4), retryAfter: true },
];

const results = await Promise.all(rows.map((s) => runPacing(s)));
console.log('Pacing on the real clock: JS Foundry simulator on loopback, the built package, 190 changes\n');
console.log('| # | scenario | platform | client | requests | 429s | 429 bursts | most accepted in a window | wall s | ideal s | efficiency | done |');
console.log('|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|');
for (const [i, s] of rows.entries()) {
  const r = results[i];
  const e = efficiency(r.log, r.wallMs, s.platform, s.client);
  const refused = r.log.filter((x) => x.status === 429).length;
  console.log(
    `| ${s.row} | ${s.name} | ${label(s.platform)} | ${s.client ? label(s.client) : 'default 200/60 s'} | ${r.log.length} | ${refused} | ` +
      `${bursts429(r.log)} | ${mostAcceptedInWindow(r.log, s.platform.windowMs)} of ${s.platform.limit} | ${(r.wallMs / 1000).toFixed(1)} | ` +
      `${(e.idealMs / 1000).toFixed(1)} | ${(e.efficiency * 100).toFixed(0)}% | ${r.report.counts.done} of 190 |`,
  );
}
