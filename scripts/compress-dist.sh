#!/usr/bin/env bash
# Build step after `trunk build`: writes `name.br` (brotli -q 11) and `name.gz` (gzip -9) beside each
# built asset in dist/ (wasm, JS, CSS, SVG, and the languages' texts as JSON), which the server sends by `Accept-Encoding` (ServeDir's
# precompressed variants): the best compression, paid once per build instead of per request.
# index.html stays as it is: the server hashes it (its ETag and the CSP's script hashes).
set -euo pipefail
DIST="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/dist}"
count=0
while IFS= read -r -d '' file; do
  brotli -q 11 -f -k -o "$file.br" "$file"
  gzip -9 -n -c "$file" > "$file.gz"
  count=$((count + 1))
done < <(find "$DIST" -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.svg' -o -name '*.json' \) -print0)
echo "[compress] $count files in $DIST: .br and .gz beside each"
