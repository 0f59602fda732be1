// For tsc -p js only (the JS glue's check; not shipped): what an
// imported .wasm file is to the entries that import one. workerd and wrangler give a compiled
// WebAssembly.Module (workerd.js); esbuild's file loader a URL, its binary loader the bytes
// (wasm-url.js).
declare module '*.wasm' {
  const wasm: WebAssembly.Module | string | Uint8Array;
  export default wasm;
}
