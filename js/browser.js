// @ts-check
// Browser (and bundler) entry: fetches and compiles the wasm next to this package's glue.
import init from '../pkg/learner_sync.js';

await init({ module_or_path: new URL('../pkg/learner_sync_bg.wasm', import.meta.url) });

export * from './core.js';
