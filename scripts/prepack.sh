#!/usr/bin/env bash
# npm's prepack (before `npm pack` and `npm publish`): builds pkg/ if it is missing or older than
# src/ (scripts/build.sh, which needs the Rust toolchain of scripts/setup.sh), then refuses to go
# on unless every file of pkg/ that the package ships is there, the .wasm a WebAssembly module:
# a tarball without it installs, then fails at its first import.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! scripts/build.sh; then
  echo "prepack: could not build pkg/ (run scripts/setup.sh first: it installs the Rust target, wasm-bindgen and wasm-opt)" >&2
  exit 1
fi
for f in pkg/learner_sync.js pkg/learner_sync_bg.wasm pkg/index.d.cts; do
  if [ ! -s "$f" ]; then
    echo "prepack: $f is missing or empty: refusing to pack a package that cannot load (run scripts/build.sh)" >&2
    exit 1
  fi
done
if [ "$(head -c 4 pkg/learner_sync_bg.wasm | od -An -tx1 | tr -d ' \n')" != "0061736d" ]; then
  echo "prepack: pkg/learner_sync_bg.wasm is not a WebAssembly module (no \\0asm header): refusing to pack it (run scripts/build.sh)" >&2
  exit 1
fi
