#!/usr/bin/env bash
# Fuzzes every parser (Foundry, Learnifier and SCIM pages, CSV and JSON sources, options) for a
# bounded time each: scripts/fuzz.sh [SECONDS_EACH] (default 10). Needs cargo-fuzz, which
# scripts/setup.sh --test installs. libFuzzer's sanitizer flags need nightly features; the
# stable toolchain allows them with RUSTC_BOOTSTRAP=1, for this fuzz build only.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
export RUSTC_BOOTSTRAP=1
targets=$(sed -n 's/^name = "\([a-z_]*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^learner-sync-fuzz$')
cargo fuzz build --release >/dev/null
for t in $targets; do
  out=$(cargo fuzz run --release "$t" -- -max_total_time="$secs" 2>&1) || { printf '%s\n' "$out" | tail -40; echo "fuzz target $t failed" >&2; exit 1; }
  printf 'fuzz %-16s %s\n' "$t" "$(printf '%s\n' "$out" | grep -E '^Done [0-9]+ runs' | tail -1)"
done
