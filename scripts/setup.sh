#!/usr/bin/env bash
# Installs what building and testing Connections needs, skipping whatever is already there at the
# right version, so a second run takes seconds. Everything comes from the package registries only.
set -euo pipefail

TRUNK_VERSION=0.21.14
BINARYEN_VERSION=132
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '[setup] %s\n' "$*"; }

# The wasm-bindgen CLI must match the library in Cargo.lock exactly, or the generated JS glue breaks.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION"; then
  log "installing trunk $TRUNK_VERSION (about 11 minutes the first time)"
  cargo install trunk --version "$TRUNK_VERSION" --locked
fi

WB_VERSION=$(wasm_bindgen_version)
if [ -z "$WB_VERSION" ]; then
  echo "[setup] could not read the wasm-bindgen version from Cargo.lock" >&2
  exit 1
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WB_VERSION\$"; then
  log "installing wasm-bindgen-cli $WB_VERSION"
  # Not --locked: the CLI's own lock file names a yanked crate.
  cargo install wasm-bindgen-cli --version "=$WB_VERSION"
fi

if ! wasm-opt --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; then
  log "installing wasm-opt (npm binaryen@$BINARYEN_VERSION)"
  npm install --global --no-fund --no-audit "binaryen@$BINARYEN_VERSION" >/dev/null
fi

# Under target/ (not committed), both in one install (npm removes what a --no-save install does not name):
# axe-core, for the accessibility checks in the browser tests; terser, which minifies the table page's
# wasm-bindgen glue in release builds (the post-build hook scripts/minify-glue.mjs).
AXE_VERSION=4.14.1
TERSER_VERSION=5.51.4
if [ ! -f "$ROOT/target/npm/node_modules/axe-core/axe.min.js" ] || \
   ! grep -q "\"version\": \"$AXE_VERSION\"" "$ROOT/target/npm/node_modules/axe-core/package.json" || \
   ! grep -q "\"version\": \"$TERSER_VERSION\"" "$ROOT/target/npm/node_modules/terser/package.json" 2>/dev/null; then
  log "installing axe-core $AXE_VERSION and terser $TERSER_VERSION (npm)"
  npm install --prefix "$ROOT/target/npm" --no-save --no-audit --no-fund "axe-core@$AXE_VERSION" "terser@$TERSER_VERSION" >/dev/null
fi

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
command -v brotli >/dev/null || need_apt+=(brotli)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

log "fetching crates"
(cd "$ROOT" && cargo fetch --quiet)
log "ready: $(trunk --version), $(wasm-bindgen --version), $(wasm-opt --version | head -1), $(chromium --version)"
