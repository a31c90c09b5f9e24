//! Generates the translations module (`src/i18n.rs` includes it) from `locales/*.json`, with English as
//! the default.
//!
//! This is what `leptos_i18n_build` does, called directly: that crate also brings ICU4X's data
//! exporter (~70 crates: icu_provider_source, ureq, zip, rayon…) into every build, to bake ICU data this
//! app does not use. Its predecessor, the `load_locales!` macro, cannot turn on `interpolate_display`,
//! which `td_string!` needs for texts with variables (messages, labels).

use leptos_i18n_parser::parse_locales::options::{Config, ParseOptions};
use leptos_i18n_parser::parse_locales::parse_locales;

const DEFAULT: &str = "en";
const OTHERS: [&str; 4] = ["de", "nl", "it", "es"];

fn main() {
    let config = Config::new(DEFAULT)
        .and_then(|config| config.add_locales(OTHERS))
        .unwrap_or_else(|e| panic!("locale names: {e}"))
        .parse_options(ParseOptions::new().interpolate_display(true));
    let parsed = parse_locales(None, config).unwrap_or_else(|e| panic!("locales/: {e}"));
    for path in parsed.tracked_files.iter().flatten() {
        println!("cargo::rerun-if-changed={path}");
    }
    // A key missing from a locale is only a warning here (English is shown instead); the test
    // `i18n::tests::every_locale_has_exactly_the_english_keys_with_the_same_placeholders` fails on it.
    for warning in parsed.diag.warnings().iter() {
        println!("cargo::warning={warning}");
    }
    if let Some(error) = parsed.diag.errors().first() {
        panic!("locales/: {error}");
    }
    pages_bundle_id();
    let code = leptos_i18n_codegen::gen_code(&parsed, None, false, None, true).unwrap_or_else(|e| panic!("locales/: {e}"));
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("i18n.rs");
    std::fs::write(&out, code.to_string()).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
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
        collect(std::path::Path::new(input), &mut files);
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

fn collect(path: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
    match std::fs::read_dir(path) {
        Ok(entries) => entries.flatten().for_each(|entry| collect(&entry.path(), files)),
        Err(_) if path.is_file() => files.push(path.to_owned()),
        Err(_) => {}
    }
}
