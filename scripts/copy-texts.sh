#!/usr/bin/env bash
# Trunk post-build hook (Trunk.toml): puts the other languages' texts beside the bundles. build.rs
# writes each as `texts-{lang}-{digest}.json` into the crate's build output (OUT_DIR); the table page's
# wasm names the files it fetches (src/i18n.rs), and each is copied from where build.rs wrote it. The
# digest of the content in the name makes the server cache them for a year like Trunk's hashed files.
set -euo pipefail
STAGE="${TRUNK_STAGING_DIR:?run by trunk as a post_build hook}"
table_wasm=$(find "$STAGE" -maxdepth 1 -name 'connections-*_bg.wasm' ! -name 'connections-pages*' | head -n 1)
names=$(grep -aoE 'texts-[a-z]{2,3}-[0-9a-f]{16}\.json' "$table_wasm" | sort -u || true)
if [ -z "$names" ]; then
  echo "[texts] the table's bundle ($table_wasm) names no texts file" >&2
  exit 1
fi
target="${CARGO_TARGET_DIR:-}"
if [ -z "$target" ]; then
  target=$(cargo metadata --format-version 1 --no-deps --offline | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
fi
for name in $names; do
  # target/<triple>/<profile>/build/connections-<hash>/out/ (Trunk builds for wasm32); the name's
  # digest is of the content, so any copy under that name is the one.
  found=""
  for file in "$target"/*/*/build/connections-*/out/"$name" "$target"/*/build/connections-*/out/"$name"; do
    if [ -f "$file" ]; then
      found="$file"
      break
    fi
  done
  if [ -z "$found" ]; then
    echo "[texts] $name is not in $target's build output" >&2
    exit 1
  fi
  cp "$found" "$STAGE/$name"
done
echo "[texts]" $names
