//! The few browser APIs the flow needs beyond Leptos: sessionStorage, leaving for the provider,
//! the user's languages and `Intl` formatting.

use std::cell::RefCell;

pub use crate::errors::BrowserError;
use crate::flow::{PendingAttempt, PendingLink, PENDING_ATTEMPT_KEY, PENDING_LINK_KEY};

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// Keeps the attempt for this tab. Fails if storage is unavailable (e.g. blocked by the browser).
pub fn save_pending(pending: &PendingAttempt) -> Result<(), BrowserError> {
    let storage = session_storage().ok_or(BrowserError::StorageBlocked)?;
    let json = crate::json::to_string(pending).ok_or(BrowserError::StorageFailed)?;
    storage.set_item(PENDING_ATTEMPT_KEY, &json).map_err(|_| BrowserError::StorageFailed)
}

/// Reads and removes this tab's attempt: each attempt is finished at most once.
pub fn take_pending() -> Option<PendingAttempt> {
    let storage = session_storage()?;
    let json = storage.get_item(PENDING_ATTEMPT_KEY).ok().flatten();
    let _ = storage.remove_item(PENDING_ATTEMPT_KEY);
    crate::json::from_str(&json?)
}

/// Keeps the connect link the pending attempt was made through.
pub fn save_pending_link(link: &PendingLink) -> Result<(), BrowserError> {
    let storage = session_storage().ok_or(BrowserError::StorageBlocked)?;
    let json = crate::json::to_string(link).ok_or(BrowserError::StorageFailed)?;
    storage.set_item(PENDING_LINK_KEY, &json).map_err(|_| BrowserError::StorageFailed)
}

/// Whether this tab has a connect link's attempt pending (back from the provider, the callback page
/// is then the link's, not an admin's).
pub fn link_pending() -> bool {
    session_storage().and_then(|storage| storage.get_item(PENDING_LINK_KEY).ok().flatten()).is_some()
}

/// Reads and removes it.
pub fn take_pending_link() -> Option<PendingLink> {
    let storage = session_storage()?;
    let json = storage.get_item(PENDING_LINK_KEY).ok().flatten();
    let _ = storage.remove_item(PENDING_LINK_KEY);
    crate::json::from_str(&json?)
}

/// The token of a connect link's page (`/connect/<token>`), when this page is one.
pub fn link_token() -> Option<String> {
    let path = web_sys::window()?.location().pathname().ok()?;
    let token = path.strip_prefix(connections_wire::paths::LINK_PAGE_PREFIX)?;
    (!token.is_empty() && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')).then(|| token.to_owned())
}

/// The current query string, including the leading `?` (empty if none).
pub fn current_query() -> String {
    web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default()
}

/// Leaves the app for the provider: a full-page navigation.
pub fn go_to(url: &str) -> Result<(), BrowserError> {
    let window = web_sys::window().ok_or(BrowserError::NoWindow)?;
    window.location().assign(url).map_err(|_| BrowserError::NavigationRefused)
}

/// The browser's preferred languages, most preferred first (`navigator.languages`).
pub fn languages() -> Vec<String> {
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else { return Vec::new() };
    let languages: Vec<String> = navigator.languages().iter().filter_map(|l| l.as_string()).collect();
    if languages.is_empty() {
        navigator.language().into_iter().collect()
    } else {
        languages
    }
}

thread_local! {
    /// One formatter per set of language tags, for every timestamp: `toLocaleString` builds a new one
    /// per call, which dominated re-rendering a large table. Kept as its bound `format` function: the
    /// getter makes a new one each time it is read.
    static DATE_TIME: RefCell<Vec<(Vec<String>, js_sys::Function)>> = const { RefCell::new(Vec::new()) };
    static NUMBER: RefCell<Vec<(Vec<String>, js_sys::Intl::NumberFormat)>> = const { RefCell::new(Vec::new()) };
}

fn tags_array(tags: &[String]) -> js_sys::Array {
    tags.iter().map(|t| wasm_bindgen::JsValue::from_str(t)).collect()
}

/// Formats a timestamp for the language `tags` (most preferred first) in the user's time zone.
pub fn local_datetime(tags: &[String], at: &connections_wire::Timestamp) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at.timestamp_millis() as f64));
    DATE_TIME.with_borrow_mut(|cache| {
        let format = match cache.iter().position(|(cached, _)| cached.as_slice() == tags) {
            Some(i) => &cache[i].1,
            None => {
                let options = js_sys::Object::new();
                for (key, value) in
                    [("year", "numeric"), ("month", "numeric"), ("day", "numeric"), ("hour", "numeric"), ("minute", "2-digit"), ("second", "2-digit")]
                {
                    let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
                }
                cache.push((tags.to_vec(), js_sys::Intl::DateTimeFormat::new(&tags_array(tags), &options).format()));
                &cache[cache.len() - 1].1
            }
        };
        format.call1(&wasm_bindgen::JsValue::NULL, &date).ok().and_then(|s| s.as_string()).unwrap_or_default()
    })
}

/// Formats a number for the language `tags` (most preferred first).
pub fn local_number(tags: &[String], n: f64) -> String {
    NUMBER.with_borrow_mut(|cache| {
        let format = match cache.iter().position(|(cached, _)| cached.as_slice() == tags) {
            Some(i) => &cache[i].1,
            None => {
                cache.push((tags.to_vec(), js_sys::Intl::NumberFormat::new(&tags_array(tags), &js_sys::Object::new())));
                &cache[cache.len() - 1].1
            }
        };
        format.format().call1(&wasm_bindgen::JsValue::NULL, &wasm_bindgen::JsValue::from_f64(n)).ok().and_then(|s| s.as_string()).unwrap_or_default()
    })
}

/// Whether the page is in a background tab or minimised (no point refreshing then).
pub fn page_hidden() -> bool {
    web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden())
}

/// The wasm is compiled and instantiated: `start` begins.
pub const MARK_STARTED: &str = "cx-wasm-started";
/// The table's first `GET /api/connections` is sent…
pub const MARK_LIST_FETCH: &str = "cx-list-fetch";
/// …and answered, its JSON read.
pub const MARK_LIST_FETCHED: &str = "cx-list-fetched";
/// The table first shows rows: the page's time to table.
pub const MARK_FIRST_ROW: &str = "cx-first-row";

/// A `performance.mark` the first time only (`performance.getEntriesByName(name)`), so the split of
/// the time to the first row (download, compile and instantiate, fetch, render) can be read by
/// real-user monitoring and the benchmark.
pub fn mark_once(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        if performance.get_entries_by_name(name).length() == 0 {
            let _ = performance.mark(name);
        }
    }
}
