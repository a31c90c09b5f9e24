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
# A CI run builds everything once: incremental caches would only cost disk (over a GB).
if [ "${CI:-}" = "true" ]; then export CARGO_INCREMENTAL=0; fi

echo "[test] format and lints (rustfmt.toml; clippy with warnings as errors)"
cargo fmt --all --check
cargo clippy --workspace --all-targets --offline -- -D warnings

echo "[test] building the SPA (release: opt-level z, LTO, wasm-opt)"
trunk build --release --offline
"$ROOT/scripts/compress-dist.sh"
"$ROOT/scripts/size-report.sh"

echo "[test] native tests on SQLite (unit, API, stand-in, end-to-end in headless Chromium)"
cargo test --workspace --offline

echo "[test] storage and API tests again on PostgreSQL"
TEST_DATABASE_URL=$("$ROOT/scripts/postgres.sh")
export TEST_DATABASE_URL
cargo test --offline -p connections-server --test integration -- api:: security:: faults:: lifecycle:: load:: instances:: migrations:: operating:: providers:: stripe_apps:: workspaces:: hardening:: service_api:: outgoing_webhooks:: data_access:: renewals:: keys:: connect_links:: stripe_modes::
unset TEST_DATABASE_URL

echo "[test] wasm tests in headless Chromium"
# wasm-bindgen-test-runner stops ChromeDriver without ending its session, so Chromium's profile
# (~80 MB) would stay in the temporary directory after every run: give it one we remove.
BROWSER_TMP=$(mktemp -d)
trap 'rm -rf "$BROWSER_TMP"' EXIT
TMPDIR="$BROWSER_TMP" CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  WASM_BINDGEN_TEST_TIMEOUT=120 \
  cargo test --offline --target wasm32-unknown-unknown --test browser
