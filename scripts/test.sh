#!/usr/bin/env bash
# Runs every test: installs what is missing (scripts/setup.sh --test), then
#   0. the gates: cargo fmt --check, cargo clippy -D warnings (host and wasm32),
#   1. native cargo tests (planner, sources, walkthrough, properties),
#   1b. cargo-deny's offline dependency checks (deny.toml),
#   2. the wasm binding's conversions inside wasm (wasm-bindgen-test-runner, in Node),
#   3. JS tests on the built package in Node (API, CLI, types against real output, and the
#      packaging test: the packed tarball installed offline into fresh Node, TypeScript,
#      esbuild, vite and wrangler projects, run in Node, Chromium and workerd),
#   4. a bounded fuzz run of every parser (FUZZ_SECONDS each, default 10),
#   5. one smoke test per runtime: workerd (Miniflare) and headless Chromium, and the
#      end-to-end tests against the simulators and a real SCIM server (scim2-server).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --test

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "formatting and lints (rustfmt, clippy -D warnings: host and wasm32)"
cargo fmt --check
(cd fuzz && cargo fmt --check)
cargo clippy --quiet --all-targets -- -D warnings
cargo clippy --quiet --lib --test wasm_binding --target wasm32-unknown-unknown -- -D warnings

step "native tests"
cargo test --quiet --all-targets

step "dependency checks (cargo-deny: sources, licences, bans; offline)"
cargo deny --offline check bans licenses sources

step "wasm binding tests"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --target wasm32-unknown-unknown --test wasm_binding

step "fuzzing every parser (bounded)"
scripts/fuzz.sh "${FUZZ_SECONDS:-10}"

step "JS tests (Node, workerd, Chromium)"
node --test --test-concurrency=1 js/test/*.test.js
