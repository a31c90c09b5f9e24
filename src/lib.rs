//! Connections SPA: Admin > Connections, where an administrator connects Stripe.
//!
//! `flow` and `messages` are plain logic, tested natively; `api` talks to the server; `pages` holds one
//! file per page; `app` wires the router and the shell; `i18n` chooses the language (`locales/*.json`).

pub mod api;
mod app;
pub mod browser;
mod components;
pub mod flow;
pub mod i18n;
pub mod messages;
mod pages;
pub mod table;

pub use app::App;

/// Mounts the app on `<body>`.
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
