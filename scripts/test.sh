#!/usr/bin/env bash
# Installs what is missing, builds the release SPA, and runs every test: unit, API (real HTTP, a fresh
# database per test, on SQLite and then on PostgreSQL), the stand-in's own, wasm tests in headless
# Chromium, and the end-to-end browser flows.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
"$ROOT/scripts/setup.sh"
export PATH="$HOME/.cargo/bin:$PATH"
export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
export CHROME="${CHROME:-$(command -v chromium)}"

echo "[test] building the SPA (release: opt-level z, LTO, wasm-opt)"
trunk build --release --offline
"$ROOT/scripts/size-report.sh"

echo "[test] native tests on SQLite (unit, API, stand-in, end-to-end in headless Chromium)"
cargo test --workspace --offline

echo "[test] storage and API tests again on PostgreSQL"
TEST_DATABASE_URL=$("$ROOT/scripts/postgres.sh")
export TEST_DATABASE_URL
cargo test --offline -p connections-server --test api --test security --test faults --test lifecycle --test load --test instances
unset TEST_DATABASE_URL

echo "[test] wasm tests in headless Chromium"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  WASM_BINDGEN_TEST_TIMEOUT=120 \
  cargo test --offline --target wasm32-unknown-unknown --test browser
