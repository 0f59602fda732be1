// @ts-check
// Entry for bundlers that load an imported .wasm file themselves but do not follow
// `new URL('x.wasm', import.meta.url)` (esbuild): picked by the `wasm-url` export condition.
// With esbuild's `--loader:.wasm=file` the import is the emitted file's URL, relative to the
// bundle; with `--loader:.wasm=binary` it is the bytes themselves (one file, no fetch).
import init from '../pkg/learner_sync.js';
import wasm from '../pkg/learner_sync_bg.wasm';

await init({ module_or_path: typeof wasm === 'string' ? new URL(wasm, import.meta.url) : wasm });

export * from './core.js';
