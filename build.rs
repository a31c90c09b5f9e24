//! Generates the texts module (`src/i18n.rs` includes it) from `locales/*.json`, English being the
//! default, and each other language's texts as a file the wasm fetches when that language is chosen.
//!
//! - `td_string!(locale, group.key)` names a text; a key that is not in `locales/en.json` does not
//!   compile. A text with variables takes each by name (`td_string!(locale, table.count, shown = a,
//!   total = b)`, or `provider` alone for `provider = provider`); a missing or unknown variable does
//!   not compile either.
//! - English is compiled into the wasm, each text where it is used, so a bundle carries only the
//!   English texts its code names. The other languages are not in the wasm: each is written to
//!   `$OUT_DIR/texts-{lang}-{digest}.json` (a JSON array of the texts in key order, the digest of its
//!   content in the name), which the post-build hook `scripts/copy-texts.sh` puts beside the bundles
//!   and `i18n::load` fetches when that language is chosen (see README, "Languages").
//! - Natively (the unit tests) every language is compiled in, from the same arrays.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

const DEFAULT: &str = "en";
const OTHERS: [&str; 4] = ["de", "nl", "it", "es"];

fn main() {
    texts();
    pages_bundle_id();
}

/// Every text in a locale file, by dotted key (`table.count`).
fn read_locale(name: &str) -> BTreeMap<String, String> {
    let path = format!("locales/{name}.json");
    println!("cargo::rerun-if-changed={path}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut texts = BTreeMap::new();
    flatten(&value, "", &mut texts, &path);
    texts
}

fn flatten(value: &serde_json::Value, prefix: &str, out: &mut BTreeMap<String, String>, path: &str) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                assert!(
                    !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                    "{path}: the key {key:?} is not a lowercase identifier"
                );
                let full = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten(value, &full, out, path);
            }
        }
        serde_json::Value::String(text) => {
            out.insert(prefix.to_owned(), text.clone());
        }
        other => panic!("{path}: {prefix} is not a text: {other}"),
    }
}

/// The variables a text names (`{{ provider }}`), in order of first appearance, each once.
fn variables(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else { break };
        let name = rest[start + 2..start + end].trim().to_owned();
        if !found.contains(&name) {
            found.push(name);
        }
        rest = &rest[start + end + 2..];
    }
    found
}

/// SipHash with fixed keys: the same input gives the same digest on every machine and run.
fn digest(parts: &[&[u8]]) -> u64 {
    use std::hash::Hasher;
    #[allow(deprecated)]
    let mut hasher = std::hash::SipHasher::new();
    for part in parts {
        hasher.write(part);
    }
    hasher.finish()
}

fn texts() {
    let out_dir = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let english = read_locale(DEFAULT);
    let keys: Vec<&String> = english.keys().collect();
    let mut code = String::new();
    let locales: Vec<&str> = std::iter::once(DEFAULT).chain(OTHERS).collect();

    // The languages.
    code.push_str(
        "/// The languages with texts, English first (the default).\n\
         #[derive(Copy, Clone, Debug, Hash, PartialEq, Eq, Default)]\n#[allow(non_camel_case_types)]\npub enum Locale {\n",
    );
    for (i, locale) in locales.iter().enumerate() {
        let default = if i == 0 { "#[default] " } else { "" };
        writeln!(code, "    {default}{locale},").unwrap();
    }
    code.push_str("}\n\n");
    writeln!(code, "const ALL: [Locale; {}] = [{}];\n", locales.len(), locales.iter().map(|l| format!("Locale::{l}")).collect::<Vec<_>>().join(", ")).unwrap();
    writeln!(code, "/// How many texts there are (each language's file has them all, in key order).\npub const TEXTS: usize = {};\n", keys.len()).unwrap();

    // Each other language's texts: the file the wasm fetches, and natively the same array.
    let mut files = Vec::new();
    let mut built_in = String::new();
    for locale in OTHERS {
        let translated = read_locale(locale);
        let mut array: Vec<&str> = Vec::new();
        for key in &keys {
            match translated.get(*key) {
                Some(text) => array.push(text),
                None => {
                    // Shown in English; `i18n::tests::every_locale_has_exactly_the_english_keys_with_the_same_placeholders` fails on it.
                    println!("cargo::warning=locales/{locale}.json lacks {key}");
                    array.push(&english[*key]);
                }
            }
        }
        for key in translated.keys().filter(|key| !english.contains_key(*key)) {
            println!("cargo::warning=locales/{locale}.json has {key}, which English does not");
        }
        let json = serde_json::to_string(&array).expect("texts as JSON");
        let name = format!("texts-{locale}-{:016x}.json", digest(&[json.as_bytes()]));
        std::fs::write(out_dir.join(&name), &json).unwrap_or_else(|e| panic!("{name}: {e}"));
        files.push((locale, name));
        writeln!(built_in, "    &[{}],", array.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>().join(", ")).unwrap();
    }
    code.push_str("impl Locale {\n    /// The language's tag (`en`, `de`…).\n    pub fn as_str(self) -> &'static str {\n        match self {\n");
    for locale in &locales {
        writeln!(code, "            Locale::{locale} => {locale:?},").unwrap();
    }
    code.push_str("        }\n    }\n\n    /// Every language, English first.\n    pub fn get_all() -> &'static [Locale] {\n        &ALL\n    }\n\n");
    code.push_str(
        "    /// The file with this language's texts, beside the bundles (`None`: English, compiled in).\n    \
         pub fn texts_file(self) -> Option<&'static str> {\n        match self {\n",
    );
    writeln!(code, "            Locale::{DEFAULT} => None,").unwrap();
    for (locale, name) in &files {
        writeln!(code, "            Locale::{locale} => Some({name:?}),").unwrap();
    }
    code.push_str("        }\n    }\n}\n\n");
    writeln!(
        code,
        "/// Natively (the unit tests), the other languages' texts compiled in: what their files hold.\n\
         #[cfg(not(target_arch = \"wasm32\"))]\npub static BUILT_IN: [&[&str; TEXTS]; {}] = [\n{built_in}];\n",
        OTHERS.len()
    )
    .unwrap();

    // The variables of each text that has some, as a struct: a call naming a wrong one fails to compile.
    code.push_str("/// The variables of the texts that have some, one field each.\npub mod vars {\n");
    for key in &keys {
        let names = variables(&english[*key]);
        if names.is_empty() {
            continue;
        }
        let ty = key.replace('.', "__");
        writeln!(code, "    #[allow(non_camel_case_types)]\n    pub struct {ty}<'a> {{").unwrap();
        for name in &names {
            writeln!(code, "        pub {name}: &'a dyn ::core::fmt::Display,").unwrap();
        }
        writeln!(code, "    }}\n    impl {ty}<'_> {{\n        pub fn fill(self, text: &str) -> String {{").unwrap();
        let pairs: Vec<String> = names.iter().map(|n| format!("({n:?}, self.{n})")).collect();
        writeln!(code, "            crate::i18n::fill(text, &[{}])\n        }}\n    }}", pairs.join(", ")).unwrap();
    }
    code.push_str("}\n\n");

    // The macro: one rule per key.
    code.push_str(
        "/// The text `group.key` in `locale`: a `&'static str`, or a `String` for a text with variables.\n\
         macro_rules! td_string {\n",
    );
    for (index, key) in keys.iter().enumerate() {
        let text = &english[*key];
        let path = key.replace('.', " . ");
        let names = variables(text);
        if names.is_empty() {
            writeln!(code, "    ($locale:expr, {path}) => {{ $crate::i18n::text($locale, {index}, {text:?}) }};").unwrap();
        } else {
            let ty = key.replace('.', "__");
            writeln!(
                code,
                "    ($locale:expr, {path}, $($var:ident $(= $value:expr)?),+ $(,)?) => {{ \
                 $crate::i18n::vars::{ty} {{ $($var: $crate::i18n::td_var!($var $(= $value)?)),+ }}\
                 .fill($crate::i18n::text($locale, {index}, {text:?})) }};"
            )
            .unwrap();
        }
    }
    code.push_str("}\npub(crate) use td_string;\n");

    let out = out_dir.join("i18n.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}

/// `CONNECTIONS_PAGES_ID`: what names this build's pages bundle (`connections-pages-{id}.js`, see
/// `src/split.rs` and `scripts/name-pages-bundle.sh`), a digest of everything both bundles are built
/// from (sources, lock file, Trunk's settings, the compiler's version), so a changed app gets a new
/// name (the server caches hashed names for a year) and an unchanged one keeps its name (and the
/// browser's cached copy).
fn pages_bundle_id() {
    use std::hash::Hasher;
    let mut files = Vec::new();
    for input in ["src", "locales", "crates/wire/src", "Cargo.lock", "Cargo.toml", "build.rs", "index.html", "Trunk.toml"] {
        println!("cargo::rerun-if-changed={input}");
        collect(Path::new(input), &mut files);
    }
    files.sort();
    // SipHash with fixed keys: the same inputs give the same id on every machine and run.
    #[allow(deprecated)]
    let mut hasher = std::hash::SipHasher::new();
    // The compiler too (wasm-bindgen's and wasm-opt's versions are in Cargo.lock and Trunk.toml).
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    if let Ok(version) = std::process::Command::new(rustc).arg("-V").output() {
        hasher.write(&version.stdout);
    }
    for file in &files {
        hasher.write(file.to_string_lossy().as_bytes());
        hasher.write(&std::fs::read(file).unwrap_or_default());
    }
    println!("cargo::rustc-env=CONNECTIONS_PAGES_ID={:016x}", hasher.finish());
}

fn collect(path: &Path, files: &mut Vec<std::path::PathBuf>) {
    match std::fs::read_dir(path) {
        Ok(entries) => entries.flatten().for_each(|entry| collect(&entry.path(), files)),
        Err(_) if path.is_file() => files.push(path.to_owned()),
        Err(_) => {}
    }
}
