#!/usr/bin/env bash
# Installs what is missing, builds the release SPA, and runs every test: unit, API (real HTTP, fresh
# SQLite per test), the stand-in's own, wasm tests in headless Chromium, and the end-to-end browser flow.
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

echo "[test] native tests (unit, API, stand-in, end-to-end in headless Chromium)"
cargo test --workspace --offline

echo "[test] wasm tests in headless Chromium"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  WASM_BINDGEN_TEST_TIMEOUT=120 \
  cargo test --offline --target wasm32-unknown-unknown --test browser
