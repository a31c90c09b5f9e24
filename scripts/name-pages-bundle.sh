#!/usr/bin/env bash
# Trunk post-build hook (Trunk.toml): names the pages bundle (src/split.rs) as the table page's bundle
# asks for it, `connections-pages-{id}.js` and `…_bg.wasm`. The id is a digest of the sources
# (build.rs), written into the table's wasm; the hex id in the name makes the server cache the files
# for a year like Trunk's own hashed files. Trunk names a worker bundle without a hash.
set -euo pipefail
STAGE="${TRUNK_STAGING_DIR:?run by trunk as a post_build hook}"
table_wasm=$(find "$STAGE" -maxdepth 1 -name 'connections-*_bg.wasm' ! -name 'connections-pages*' | head -n 1)
name=$(grep -aoE 'connections-pages-[0-9a-f]{16}' "$table_wasm" | head -n 1 || true)
if [ -z "$name" ]; then
  echo "[pages] the table's bundle ($table_wasm) names no pages bundle" >&2
  exit 1
fi
for built in connections-pages connections_pages; do
  if [ -f "$STAGE/$built.js" ]; then
    mv "$STAGE/$built.js" "$STAGE/$name.js"
    mv "$STAGE/${built}_bg.wasm" "$STAGE/${name}_bg.wasm"
    echo "[pages] $built -> $name"
    exit 0
  fi
done
echo "[pages] no pages bundle in $STAGE" >&2
ls "$STAGE" >&2
exit 1
