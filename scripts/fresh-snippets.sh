#!/usr/bin/env bash
# Trunk pre-build hook. wasm-bindgen writes the JS snippets into target/wasm-bindgen/<profile>/snippets
# and leaves what an earlier build wrote there; Trunk ships and preloads every file it finds. So a
# snippet removed or renamed in the code would stay in each build after it (one more request on a
# cold load): the folder is emptied before each build, which writes the current ones again.
set -euo pipefail
TARGET="${CARGO_TARGET_DIR:-${TRUNK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}/target}"
rm -rf "$TARGET"/wasm-bindgen/*/snippets
