// One benchmark size, in its own worker so the wasm memory it reports is its own.
import { readFileSync } from 'node:fs';
import { workerData, parentPort } from 'node:worker_threads';
import { initSync } from '../../pkg/learner_sync.js';
import { generate } from './generate.js';
import { lodashPlan, mapPlan } from './baselines.js';

const wasm = initSync({ module: readFileSync(new URL('../../pkg/learner_sync_bg.wasm', import.meta.url)) });
const { Planner } = await import('../core.js');
const { n, reps } = workerData;
const { source, pages } = generate(n);
const memoryBefore = wasm.memory.buffer.byteLength;

function wasmPlan() {
  const p = new Planner({ platform: 'foundry' });
  p.addSource(source, { format: 'csv' });
  for (const page of pages) p.addTarget(page, { format: 'foundry' });
  const json = p.finishJson();
  p.free();
  return json;
}

function time(fn) {
  fn(); // warm-up
  const runs = [];
  let out;
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    out = fn();
    runs.push(performance.now() - t);
  }
  const sorted = [...runs].sort((a, b) => a - b);
  return { medianMs: sorted[Math.floor(sorted.length / 2)], runsMs: runs, out };
}

const w = time(wasmPlan);
const peakWasmBytes = wasm.memory.buffer.byteLength;
const summary = JSON.parse(w.out).summary;
const m = time(() => mapPlan(source, pages));
const l = time(() => lodashPlan(source, pages));
const pick = (s) => [s.create, s.update, s.deactivate, s.review, s.unchanged].join('/');
parentPort.postMessage({
  n,
  bytes: { source: source.length, target: pages.reduce((a, p) => a + p.length, 0), pages: pages.length },
  wasm: { medianMs: w.medianMs, runsMs: w.runsMs },
  map: { medianMs: m.medianMs, runsMs: m.runsMs },
  lodash: { medianMs: l.medianMs, runsMs: l.runsMs },
  counts: { wasm: pick(summary), map: pick(m.out.summary), lodash: pick(l.out.summary) },
  memory: { beforeBytes: memoryBefore, peakBytes: peakWasmBytes },
});
