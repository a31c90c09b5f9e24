#!/usr/bin/env bash
# Prints every speed and size figure of the budgets, measured side by side with their references in
# one run (see README, "Benchmarks"). The server is built for speed (profile server-release).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
"$ROOT/scripts/setup.sh"
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v wrk >/dev/null; then
  echo "[bench] installing wrk from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
trunk build --release --offline
"$ROOT/scripts/compress-dist.sh"
if command -v twiggy >/dev/null; then
  echo "[bench] where the wasm's bytes go (twiggy top, before wasm-bindgen and wasm-opt):"
  twiggy top -n 12 target/wasm32-unknown-unknown/release/connections.wasm || true
fi
exec cargo run --offline --profile server-release -p connections-bench -- --dist dist --reference bench/reference "$@"
