//! The events the host page hears: a `CustomEvent` on the mount element for each connection made,
//! renewed or removed, and for each failure. Pages call these; `embed` says where they go.

use std::cell::RefCell;

use connections_wire::{ConnectionView, GrantOutcome, GrantResponse};
use wasm_bindgen::JsValue;

/// What happened, as the host hears it: a `CustomEvent` of this name on the mount element. Names are
/// prefixed so they can't be mistaken for the DOM's own `error` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostEvent {
    Connected,
    Reauthenticated,
    Disconnected,
    Error,
}

impl HostEvent {
    pub fn name(self) -> &'static str {
        match self {
            HostEvent::Connected => "connections:connected",
            HostEvent::Reauthenticated => "connections:reauthenticated",
            HostEvent::Disconnected => "connections:disconnected",
            HostEvent::Error => "connections:error",
        }
    }
}

thread_local! {
    /// Where events go: the mount element (`<body>` for the standalone app).
    static EVENT_TARGET: RefCell<Option<web_sys::Element>> = const { RefCell::new(None) };
}

/// Set by `embed` when the app mounts, cleared when it unmounts.
pub(crate) fn set_target(target: Option<web_sys::Element>) {
    EVENT_TARGET.with(|t| *t.borrow_mut() = target);
}

fn dispatch(event: HostEvent, detail: &impl serde::Serialize) {
    let Some(target) = EVENT_TARGET.with(|t| t.borrow().clone()) else { return };
    let detail = crate::json::to_js(detail).unwrap_or(JsValue::NULL);
    let init = web_sys::CustomEventInit::new();
    init.set_detail(&detail);
    init.set_bubbles(true);
    init.set_composed(true);
    if let Ok(custom) = web_sys::CustomEvent::new_with_event_init_dict(event.name(), &init) {
        let _ = target.dispatch_event(&custom);
    }
}

/// Tells the host about a connection. `ConnectionView` has no token fields, by construction.
pub fn emit_connection(event: HostEvent, connection: &ConnectionView) {
    #[derive(serde::Serialize)]
    struct Detail<'a> {
        connection: &'a ConnectionView,
    }
    dispatch(event, &Detail { connection });
}

impl HostEvent {
    /// After a grant or a confirmed install: whether it connected an account afresh or restored one
    /// that had lost its access, as the server says.
    pub fn after(outcome: GrantOutcome) -> Self {
        match outcome {
            GrantOutcome::Created => HostEvent::Connected,
            GrantOutcome::Renewed => HostEvent::Reauthenticated,
        }
    }
}

/// Tells the host about a grant: the event names the outcome, the detail is the connection alone.
pub fn announce_grant(response: &GrantResponse) {
    emit_connection(HostEvent::after(response.outcome), &response.connection);
}

/// Tells the host something failed, with the same words the user reads.
pub fn emit_error(code: &str, message: &str) {
    #[derive(serde::Serialize)]
    struct Detail<'a> {
        code: &'a str,
        message: &'a str,
    }
    dispatch(HostEvent::Error, &Detail { code, message });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grant_outcome_names_the_event() {
        assert_eq!(HostEvent::after(GrantOutcome::Created).name(), "connections:connected");
        assert_eq!(HostEvent::after(GrantOutcome::Renewed).name(), "connections:reauthenticated");
    }
}
