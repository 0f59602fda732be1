// @ts-check
// Node entry: loads the wasm from the package folder synchronously (no top-level await), so
// it also works through require().
import { readFileSync } from 'node:fs';
import { initSync } from '../pkg/learner_sync.js';

initSync({ module: readFileSync(new URL('../pkg/learner_sync_bg.wasm', import.meta.url)) });

export * from './core.js';
