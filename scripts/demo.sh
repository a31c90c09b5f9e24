#!/usr/bin/env bash
# Installs what is missing, builds the SPA, and runs the demo: the server with embedded SQLite (.demo/)
# and the local Stripe stand-in. Extra arguments go to the server (e.g. --addr 127.0.0.1:9000).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
"$ROOT/scripts/setup.sh"
export PATH="$HOME/.cargo/bin:$PATH"
trunk build --release --offline
"$ROOT/scripts/compress-dist.sh"
# Stripe (as a Stripe App) and two made-up OAuth 2.0 sources, all served by the local stand-in.
exec cargo run --offline -p connections-server --features demo -- --demo --providers examples/providers.toml "$@"
