#!/usr/bin/env bash
# Builds pkg/: the release wasm, its wasm-bindgen glue (--target web: one build that every
# runtime entry in js/ loads its own way), then wasm-opt from npm's binaryen. Skips the work
# when pkg/ is newer than every input.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=pkg/.built
if [ -f "$stamp" ] && [ -z "$(find src Cargo.toml Cargo.lock -newer "$stamp" -print -quit)" ]; then
  exit 0
fi
printf '\033[1m[build]\033[0m %s\n' "wasm package" >&2
cargo build --quiet --release --lib --target wasm32-unknown-unknown
rm -rf pkg
wasm-bindgen --target web --out-dir pkg --out-name learner_sync \
  target/wasm32-unknown-unknown/release/learner_sync.wasm
# --low-memory-unused: below 1 KiB lies only the far end of the 1 MiB stack (Rust puts the
# stack first, data above it), reached by nothing but a stack overflow, so wasm-opt may fold
# address arithmetic into load and store offsets; --converge repeats -Oz while it shrinks.
node_modules/.bin/wasm-opt -Oz --converge --low-memory-unused --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals \
  pkg/learner_sync_bg.wasm -o pkg/learner_sync_bg.wasm
touch "$stamp"
