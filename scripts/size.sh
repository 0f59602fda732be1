#!/usr/bin/env bash
# Prints what the .wasm weighs, raw and gzipped (gzip -9), built as scripts/build.sh builds it:
#   full          pkg/ as shipped (the planner and the executor)
#   planner-only  --no-default-features: the binding without the `sync` feature (RawPlanner and
#                 planToCsv only), so the linker drops the executor, the platforms' wire code
#                 and the redactor; the difference is what the executor costs
#   …-z           the same at opt-level "z" (CARGO_PROFILE_RELEASE_OPT_LEVEL=z)
# The variants are built in target/size/ (their own cargo target dirs): pkg/ is left alone.
# First run: a release build per variant (minutes); later runs reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."

measure() {
  local name=$1 wasm=$2
  printf '%-14s %9s bytes  %8s gzipped\n' "$name" "$(wc -c < "$wasm")" "$(gzip -9c "$wasm" | wc -c)"
}

scripts/build.sh
measure full pkg/learner_sync_bg.wasm
LEARNER_SYNC_PKG=target/size/planner-only/pkg LEARNER_SYNC_FEATURES=--no-default-features \
  CARGO_TARGET_DIR=target/size/planner-only scripts/build.sh
measure planner-only target/size/planner-only/pkg/learner_sync_bg.wasm
# The same two at opt-level "z" (size over speed) instead of the release profile's 3: what the
# speed costs in bytes (the planner benchmark decides whether it may be traded).
LEARNER_SYNC_PKG=target/size/full-z/pkg CARGO_PROFILE_RELEASE_OPT_LEVEL=z \
  CARGO_TARGET_DIR=target/size/full-z scripts/build.sh
measure full-z target/size/full-z/pkg/learner_sync_bg.wasm
LEARNER_SYNC_PKG=target/size/planner-only-z/pkg LEARNER_SYNC_FEATURES=--no-default-features CARGO_PROFILE_RELEASE_OPT_LEVEL=z \
  CARGO_TARGET_DIR=target/size/planner-only-z scripts/build.sh
measure planner-only-z target/size/planner-only-z/pkg/learner_sync_bg.wasm
# Where the code goes, by crate (cargo's output, before wasm-bindgen and wasm-opt).
printf '\n'
node js/bench/wasm-breakdown.js target/wasm32-unknown-unknown/release/learner_sync.wasm 12
node js/bench/wasm-breakdown.js target/size/planner-only/wasm32-unknown-unknown/release/learner_sync.wasm 12
