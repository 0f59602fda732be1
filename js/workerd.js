// @ts-check
// Cloudflare Workers (workerd) entry: the runtime compiles imported .wasm files into a
// WebAssembly.Module, which is instantiated synchronously.
import wasmModule from '../pkg/learner_sync_bg.wasm';
import { initSync } from '../pkg/learner_sync.js';

initSync({ module: wasmModule });

export * from './core.js';
