// The planner benchmark: "response bytes in, plan out" for N learners against two JS
// baselines and the native build. Reports medians, ratios and the peak wasm memory; asserts
// nothing (targets are printed beside the figures).
//   node js/bench/bench.js [--n 10000,100000,1000000] [--reps K]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import { generate } from './generate.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({ options: { n: { type: 'string', default: '10000,100000,1000000' }, reps: { type: 'string' } } });
const sizes = values.n.split(',').map(Number);
const repsFor = (n) => Number(values.reps ?? (n <= 10_000 ? 7 : n <= 100_000 ? 5 : 3));

execFileSync('cargo', ['build', '--quiet', '--release', '--example', 'bench_native'], { cwd: ROOT, stdio: 'inherit' });
const native = join(ROOT, 'target/release/examples/bench_native');
const wasmBytes = readFileSync(join(ROOT, 'pkg/learner_sync_bg.wasm'));
const size = { rawBytes: wasmBytes.length, gzipBytes: gzipSync(wasmBytes, { level: 9 }).length };

function runWorker(n, reps) {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: { n, reps }, resourceLimits: { maxOldGenerationSizeMb: 12_000 } });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

const results = [];
for (const n of sizes) {
  const reps = repsFor(n);
  process.stderr.write(`N = ${n}: wasm and JS baselines (${reps} runs each)…\n`);
  const r = await runWorker(n, reps);
  process.stderr.write(`N = ${n}: native…\n`);
  const dir = mkdtempSync(join(tmpdir(), 'ls-bench-'));
  try {
    const { source, pages } = generate(n);
    writeFileSync(join(dir, 'source.csv'), source);
    pages.forEach((p, i) => writeFileSync(join(dir, `target-${i}.json`), p));
    r.native = JSON.parse(execFileSync(native, [dir, String(reps)], { encoding: 'utf8' }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  results.push(r);
  const agree = r.counts.wasm === r.counts.map && r.counts.wasm === r.counts.lodash;
  if (!agree) process.stderr.write(`!! BASELINES DISAGREE at N=${n} (create/update/deactivate/review/unchanged): ${JSON.stringify(r.counts)}\n`);
}

const f = (x, d = 1) => x.toFixed(d);
const rows = [['N', 'wasm ms', 'us/learner', 'map ms', 'lodash ms', 'native ms', 'map/wasm', 'lodash/wasm', 'wasm/native', 'peak wasm MB', 'counts agree']];
for (const r of results) {
  rows.push([
    String(r.n), f(r.wasm.medianMs), f((r.wasm.medianMs * 1000) / r.n, 2), f(r.map.medianMs), f(r.lodash.medianMs), f(r.native.medianMs),
    f(r.map.medianMs / r.wasm.medianMs, 2), f(r.lodash.medianMs / r.wasm.medianMs, 2), f(r.wasm.medianMs / r.native.medianMs, 2),
    f(r.memory.peakBytes / 2 ** 20), r.counts.wasm === r.counts.map && r.counts.wasm === r.counts.lodash ? 'yes' : 'NO',
  ]);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
console.log(rows.map((row) => row.map((c, i) => c.padStart(widths[i])).join('  ')).join('\n'));
console.log(`\nwasm: ${f(size.rawBytes / 1024)} KB, ${f(size.gzipBytes / 1024)} KB gzipped (target < 150 KB gzipped)`);
const at100k = results.find((r) => r.n === 100_000);
if (at100k) {
  console.log(`targets at N=100k: <= 1.5 us/learner (${f((at100k.wasm.medianMs * 1000) / 100_000, 2)}), >= 2x the Map baseline (${f(at100k.map.medianMs / at100k.wasm.medianMs, 2)}x), within 1.5x of native (${f(at100k.wasm.medianMs / at100k.native.medianMs, 2)}x), peak wasm < 48 MB (${f(at100k.memory.peakBytes / 2 ** 20)} MB)`);
}
for (const r of results) {
  console.log(`N=${r.n}: source ${f(r.bytes.source / 2 ** 20)} MB CSV, ${r.bytes.pages} Foundry pages (${f(r.bytes.target / 2 ** 20)} MB); native phases: source ${f(r.native.sourceMs)} ms, target ${f(r.native.targetMs)} ms, finish ${f(r.native.finishMs)} ms`);
}
mkdirSync(join(ROOT, 'target'), { recursive: true });
writeFileSync(join(ROOT, 'target/bench-results.json'), JSON.stringify({ size, results }, null, 2));
console.log('\nraw figures: target/bench-results.json');
