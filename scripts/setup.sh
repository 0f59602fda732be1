#!/usr/bin/env bash
# Installs what learner-sync needs, idempotently, and builds the wasm package into pkg/.
#   scripts/setup.sh          the wasm target, the pinned wasm-bindgen CLI, npm packages, build
#   scripts/setup.sh --test   also Chromium (Debian's) for the browser smoke test and
#                             scim2-server (PyPI, in .venv) for the SCIM end-to-end test
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=false
[ "${1:-}" = "--test" ] && want_test=true

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

# 1. Rust's wasm target.
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# 1b. rustfmt and clippy for the test command's gates.
if $want_test; then
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || { say "adding the $c component"; rustup component add "$c"; }
  done
fi

# 2. The wasm-bindgen CLI, at exactly the version Cargo.toml pins.
WB_VERSION=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
[ -n "$WB_VERSION" ] || { echo "Cargo.toml must pin wasm-bindgen as \"=x.y.z\"" >&2; exit 1; }
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
  say "installing wasm-bindgen-cli $WB_VERSION (about 2 minutes, once)"
  cargo install wasm-bindgen-cli --version "$WB_VERSION"
fi

# 3. npm packages (binaryen's wasm-opt, miniflare, playwright-core, lodash for the benchmark;
#    esbuild, vite, wrangler and @types/node 20 and 22 for the packaging test's consumers).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ package.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
fi

# 4. Chromium from Debian for the browser test (never a browser download from a test tool).
if $want_test && [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

# 5. A real SCIM 2.0 server for the end-to-end tests, in a virtualenv.
SCIM2_SERVER_VERSION=0.8.3
if $want_test && ! .venv/bin/pip show scim2-server 2>/dev/null | grep -qx "Version: $SCIM2_SERVER_VERSION"; then
  say "installing scim2-server $SCIM2_SERVER_VERSION into .venv"
  [ -x .venv/bin/pip ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "scim2-server==$SCIM2_SERVER_VERSION"
fi

# 6. cargo-fuzz for the bounded fuzz run of the tests.
if $want_test && ! command -v cargo-fuzz >/dev/null 2>&1; then
  say "installing cargo-fuzz (about a minute, once)"
  cargo install cargo-fuzz --version 0.13.2
fi

# 7. cargo-deny for the offline dependency checks of the tests (deny.toml). --locked: the newest
#    versions of its dependencies need a newer rustc than this machine's.
if $want_test && [ "$(cargo deny --version 2>/dev/null)" != "cargo-deny 0.18.6" ]; then
  say "installing cargo-deny 0.18.6 (about 4 minutes, once)"
  cargo install cargo-deny --version 0.18.6 --locked
fi

# 8. Every crate the builds and checks need, for every target (the host's tests, wasm32, the
#    fuzz crate): `cargo test` for the host downloads only the host's crates, and the offline
#    checks (`cargo deny --offline`, which runs `cargo metadata`) need all of them.
say "fetching crates (every target)"
cargo fetch --quiet
$want_test && cargo fetch --quiet --manifest-path fuzz/Cargo.toml

# 9. Build the wasm package.
scripts/build.sh
