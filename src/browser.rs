//! The few browser APIs the flow needs beyond Leptos: sessionStorage, the address bar, navigation.

use crate::flow::{PendingAttempt, PENDING_ATTEMPT_KEY};

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// Keeps the attempt for this tab. Fails if storage is unavailable (e.g. blocked by the browser).
pub fn save_pending(pending: &PendingAttempt) -> Result<(), &'static str> {
    let storage = session_storage().ok_or("This browser blocks session storage, which connecting needs.")?;
    let json = serde_json::to_string(pending).map_err(|_| "Could not save the connection attempt.")?;
    storage.set_item(PENDING_ATTEMPT_KEY, &json).map_err(|_| "Could not save the connection attempt.")
}

/// Reads and removes this tab's attempt: each attempt is finished at most once.
pub fn take_pending() -> Option<PendingAttempt> {
    let storage = session_storage()?;
    let json = storage.get_item(PENDING_ATTEMPT_KEY).ok().flatten();
    let _ = storage.remove_item(PENDING_ATTEMPT_KEY);
    serde_json::from_str(&json?).ok()
}

/// The current query string, including the leading `?` (empty if none).
pub fn current_query() -> String {
    web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default()
}

/// Drops the query (the authorization code) from the address bar and history entry.
pub fn scrub_query() {
    if let Some(window) = web_sys::window() {
        let path = window.location().pathname().unwrap_or_default();
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
        }
    }
}

/// Leaves the app for the provider: a full-page navigation.
pub fn go_to(url: &str) -> Result<(), &'static str> {
    let window = web_sys::window().ok_or("No browser window.")?;
    window.location().assign(url).map_err(|_| "The browser refused to open Stripe.")
}

/// Formats a timestamp in the user's locale and time zone.
pub fn local_datetime(at: &chrono::DateTime<chrono::Utc>) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at.timestamp_millis() as f64));
    date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED).into()
}

/// Whether the page is in a background tab or minimised (no point refreshing then).
pub fn page_hidden() -> bool {
    web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden())
}
