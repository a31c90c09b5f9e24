//! The router's browser side: which page is showing, moving between pages, the address bar.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::routing::{BasePath, Route, Routing};

/// Shared through context; cheap to copy.
#[derive(Clone, Copy)]
pub struct Navigator {
    route: RwSignal<Route>,
    base: StoredValue<BasePath>,
    routing: Routing,
}

pub fn use_navigator() -> Navigator {
    expect_context::<Navigator>()
}

thread_local! {
    /// The page the next app starts at, when it is not the address bar's: a page handed over from
    /// the table's bundle with memory routing (`split`).
    static START_AT: std::cell::RefCell<Option<Route>> = const { std::cell::RefCell::new(None) };
}

pub fn start_next_at(route: Route) {
    START_AT.with(|s| *s.borrow_mut() = Some(route));
}

fn location_path() -> String {
    web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default()
}

impl Navigator {
    /// Starts at the page the address bar names when it is under the base path (so a provider's
    /// redirect back lands on the callback even with memory routing), else at the table, leaving an
    /// address outside the base path as the host made it.
    pub fn new(base: BasePath, routing: Routing) -> Self {
        let initial = START_AT.with(|s| s.borrow_mut().take()).or_else(|| base.route_of(&location_path())).unwrap_or(Route::List);
        let navigator = Navigator { route: RwSignal::new(initial), base: StoredValue::new(base), routing };
        if routing == Routing::AddressBar {
            // Back and forward within the app's pages.
            let handle = window_event_listener(leptos::ev::popstate, move |_| {
                if let Some(route) = navigator.base.with_value(|base| base.route_of(&location_path())) {
                    navigator.route.set(route);
                }
            });
            on_cleanup(move || handle.remove());
        }
        navigator
    }

    pub fn route(&self) -> Route {
        self.route.get()
    }

    pub fn href(&self, route: &Route) -> String {
        self.base.with_value(|base| base.href(route))
    }

    /// The absolute URL of a route on this page's origin, e.g. the callback a provider returns to.
    pub fn absolute_url(&self, route: &Route) -> String {
        let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
        format!("{origin}{}", self.href(route))
    }

    pub fn go(&self, route: Route) {
        self.write_history(&route, false);
        self.route.set(route);
        // The link that was followed is gone: start keyboard and screen-reader users at the new page.
        request_animation_frame(|| {
            let main = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("cx-main"));
            if let Some(main) = main.and_then(|m| m.dyn_into::<web_sys::HtmlElement>().ok()) {
                let _ = main.focus();
            }
        });
    }

    /// Like `go`, without a history entry (e.g. leaving the callback, which must not be revisited).
    pub fn replace(&self, route: Route) {
        self.write_history(&route, true);
        self.route.set(route);
    }

    /// Drops the provider's answer (the authorization code) from the address bar and its history
    /// entry. With memory routing the address was only the provider's way back in: it returns to the
    /// base path, so a reload shows the table rather than a used callback.
    pub fn scrub_callback_url(&self) {
        let Some(window) = web_sys::window() else { return };
        let path = match self.routing {
            Routing::AddressBar => window.location().pathname().unwrap_or_default(),
            Routing::Memory => self.href(&Route::List),
        };
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
        }
    }

    fn write_history(&self, route: &Route, replace: bool) {
        if self.routing != Routing::AddressBar {
            return;
        }
        let Some(history) = web_sys::window().and_then(|w| w.history().ok()) else { return };
        let href = self.href(route);
        let _ = if replace {
            history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&href))
        } else {
            history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&href))
        };
    }

    /// For a click anywhere in the app: follows links to the app's own pages without reloading.
    /// Listening on the app's root, not the window, leaves the host page's links alone.
    pub fn on_click(&self, event: web_sys::MouseEvent) {
        if event.default_prevented() || event.button() != 0 || event.meta_key() || event.ctrl_key() || event.shift_key() || event.alt_key() {
            return;
        }
        let Some(anchor) = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("a[href]").ok().flatten())
            .and_then(|e| e.dyn_into::<web_sys::HtmlAnchorElement>().ok())
        else {
            return;
        };
        let raw_href = anchor.get_attribute("href").unwrap_or_default();
        if raw_href.starts_with('#') || !anchor.target().is_empty() || anchor.has_attribute("download") {
            return;
        }
        let same_origin = web_sys::window().and_then(|w| w.location().origin().ok()).is_some_and(|origin| origin == anchor.origin());
        if !same_origin {
            return;
        }
        if let Some(route) = self.base.with_value(|base| base.route_of(&anchor.pathname())) {
            event.prevent_default();
            self.go(route);
        }
    }
}
