//! Connections SPA: Admin > Connections, where an administrator connects the data sources (providers)
//! the server is configured with.
//!
//! `flow`, `catalog`, `endpoints`, `routing`, `options`, `table` and `messages` are plain logic, tested
//! natively; `api` talks to the server; `host` tells the host page what happened; `pages` holds one
//! file per page and `components` what they share; `app` wires the router and the shell; `embed`
//! mounts it; `i18n` chooses the language (`locales/*.json`).

pub mod api;
mod app;
pub mod browser;
pub mod catalog;
mod components;
pub mod embed;
pub mod endpoints;
pub mod errors;
pub mod flow;
pub mod host;
pub mod i18n;
pub mod json;
pub mod messages;
mod navigator;
pub mod options;
mod pages;
mod popup;
pub mod routing;
pub mod rows;
mod split;
pub mod table;
mod text;

pub use app::App;

/// The table page's bundle (`src/main.rs`) when its wasm loads: renders the standalone page when
/// this is the server's own `index.html`, and defines `<connections-panel>` for host pages either way.
/// It shows the table itself and hands any other page over to the pages bundle (`split`).
pub fn start() {
    split::choose(split::table_only, true);
    browser::mark_once(browser::MARK_STARTED);
    console_error_panic_hook::set_once();
    embed::define_custom_element();
    embed::start_standalone();
}

/// The pages bundle (`src/bin/connections-pages.rs`) when its wasm loads: it mounts nothing itself;
/// the table's bundle mounts it (`mount_at`) when another page is opened.
pub fn start_pages() {
    split::choose(split::every_page, false);
    console_error_panic_hook::set_once();
}
