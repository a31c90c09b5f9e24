// Trunk post-build hook (Trunk.toml), release builds only: minifies the table page's wasm-bindgen glue
// (`connections-{hash}.js`) and the snippets (`snippets/`), the first load's JavaScript, with terser
// (Trunk's own minifier cannot parse the glue), and writes each file's new digest into the shell's
// `integrity` attribute (its `modulepreload` link) so the browser still checks it. 9.7 -> 7.2 KB brotli
// (see README, "First-load size"). terser is installed under target/npm by scripts/setup.sh, pinned.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const stage = process.env.TRUNK_STAGING_DIR;
if (!stage) {
  console.error("[minify] run by trunk as a post_build hook");
  process.exit(1);
}
if (process.env.TRUNK_PROFILE !== "release") {
  console.log("[minify] not a release build: the glue is left as wasm-bindgen wrote it");
  process.exit(0);
}
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
let terser;
try {
  terser = createRequire(join(root, "target/npm/package.json"))("terser");
} catch (error) {
  console.error(`[minify] terser is not installed under target/npm (run scripts/setup.sh): ${error.message}`);
  process.exit(1);
}

const integrity = (text) => `sha384-${createHash("sha384").update(text).digest("base64")}`;
const shellPath = join(stage, "index.html");
let shell = readFileSync(shellPath, "utf8");
// The table page's glue (the pages bundle's is renamed by another hook meanwhile and is not first-load)
// and the snippets both bundles import.
const glues = readdirSync(stage).filter((name) => /^connections-[0-9a-f]+\.js$/.test(name));
if (glues.length !== 1) {
  console.error(`[minify] expected one table page glue in ${stage}, found: ${glues.join(", ") || "none"}`);
  process.exit(1);
}
const snippets = readdirSync(join(stage, "snippets"), { recursive: true })
  .filter((name) => name.endsWith(".js"))
  .map((name) => join("snippets", name));
for (const file of [...glues, ...snippets]) {
  const path = join(stage, file);
  const source = readFileSync(path, "utf8");
  const before = integrity(source);
  if (!shell.includes(before)) {
    console.error(`[minify] the shell does not name ${file} with its integrity ${before}`);
    process.exit(1);
  }
  const { code } = await terser.minify(source, { module: true, compress: true, mangle: true });
  writeFileSync(path, code);
  shell = shell.replaceAll(before, integrity(code));
  console.log(`[minify] ${file}: ${source.length} -> ${code.length} bytes`);
}
writeFileSync(shellPath, shell);
