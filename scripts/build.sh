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
node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals \
  pkg/learner_sync_bg.wasm -o pkg/learner_sync_bg.wasm
touch "$stamp"
