//! Mounting into a host page: the `mount(element, options)` JavaScript API, the
//! `<connections-panel>` custom element, and the events the host hears.

use std::cell::RefCell;

use connections_wire::{ConnectionView, GrantOutcome, GrantResponse};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::api::{self, SessionToken};
use crate::app::App;
use crate::options::{AppOptions, RawOptions};

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
    /// The one mounted app on this page, if any.
    static MOUNTED: RefCell<Option<Box<dyn std::any::Any>>> = RefCell::new(None);
}

fn dispatch(event: HostEvent, detail: &impl serde::Serialize) {
    let Some(target) = EVENT_TARGET.with(|t| t.borrow().clone()) else { return };
    let detail = serde_json::to_string(detail).ok().and_then(|json| js_sys::JSON::parse(&json).ok()).unwrap_or(JsValue::NULL);
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

/// Renders the app into `element` with checked options.
fn render(element: web_sys::HtmlElement, options: AppOptions, token: Option<SessionToken>) -> Result<(), String> {
    if MOUNTED.with(|m| m.borrow().is_some()) {
        return Err("Connections is already mounted on this page; unmount it first".into());
    }
    api::configure(options.api_base.clone(), token);
    EVENT_TARGET.with(|t| *t.borrow_mut() = Some(element.clone().into()));
    let handle = leptos::mount::mount_to(element, move || leptos::view! { <App options=options.clone() /> });
    MOUNTED.with(|m| *m.borrow_mut() = Some(Box::new(handle)));
    Ok(())
}

fn unmount_current() {
    // Dropping the handle removes the app's nodes and stops its effects, timers and listeners.
    let handle = MOUNTED.with(|m| m.borrow_mut().take());
    drop(handle);
    EVENT_TARGET.with(|t| *t.borrow_mut() = None);
}

/// The standalone page: the server's `index.html` marks its body.
pub fn start_standalone() {
    let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) else { return };
    if body.has_attribute("data-connections-standalone") {
        if let Err(message) = render(body, AppOptions::standalone(), None) {
            web_sys::console::error_1(&message.into());
        }
    }
}

/// What `mount` returns to the host.
#[wasm_bindgen]
pub struct Mounted {
    live: bool,
}

#[wasm_bindgen]
impl Mounted {
    /// Removes the app from the page. Safe to call twice.
    pub fn unmount(&mut self) {
        if std::mem::take(&mut self.live) {
            unmount_current();
        }
    }
}

fn string_option(options: &JsValue, name: &str) -> Result<Option<String>, String> {
    let value = js_sys::Reflect::get(options, &name.into()).unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value.as_string().map(Some).ok_or_else(|| format!("{name} must be a string"))
}

fn read_options(options: &JsValue) -> Result<(AppOptions, Option<SessionToken>), String> {
    if options.is_undefined() || options.is_null() {
        return Ok((AppOptions::standalone(), None));
    }
    if !options.is_object() {
        return Err("options must be an object".into());
    }
    let raw = RawOptions {
        base_path: string_option(options, "basePath")?,
        api_base: string_option(options, "apiBase")?,
        locale: string_option(options, "locale")?,
        routing: string_option(options, "routing")?,
        connect_in: string_option(options, "connectIn")?,
    };
    let token = js_sys::Reflect::get(options, &"sessionToken".into()).unwrap_or(JsValue::UNDEFINED);
    let token = if token.is_undefined() || token.is_null() {
        None
    } else if let Some(value) = token.as_string() {
        Some(SessionToken::Value(value))
    } else if let Ok(function) = token.dyn_into::<js_sys::Function>() {
        Some(SessionToken::Provider(function))
    } else {
        return Err("sessionToken must be a string or a function returning one (or a promise of one)".into());
    };
    Ok((AppOptions::from_raw(raw)?, token))
}

/// `mount(element, options)`: renders Connections into `element`. Throws with the name of a wrong
/// option, so the mistake shows in the host developer's console at once.
#[wasm_bindgen]
pub fn mount(element: web_sys::HtmlElement, options: JsValue) -> Result<Mounted, JsError> {
    let (options, token) = read_options(&options).map_err(|e| JsError::new(&format!("Connections: {e}")))?;
    render(element, options, token).map_err(|e| JsError::new(&format!("Connections: {e}")))?;
    Ok(Mounted { live: true })
}

#[wasm_bindgen(inline_js = r#"
export function defineConnectionsPanel(mount) {
  if (customElements.get("connections-panel")) return;
  // Attributes mirror mount()'s options; a session token is a property (never an attribute, which
  // would put it in the DOM for every script and extension to read).
  const attributes = { basePath: "base-path", apiBase: "api-base", locale: "locale", routing: "routing", connectIn: "connect-in" };
  customElements.define("connections-panel", class extends HTMLElement {
    connectedCallback() {
      const options = {};
      for (const [option, attribute] of Object.entries(attributes)) {
        if (this.hasAttribute(attribute)) options[option] = this.getAttribute(attribute);
      }
      if (this.sessionToken !== undefined) options.sessionToken = this.sessionToken;
      try {
        this._mounted = mount(this, options);
      } catch (error) {
        this.dispatchEvent(new CustomEvent("connections:error", { bubbles: true, composed: true, detail: { code: "mount_failed", message: String(error.message || error) } }));
        throw error;
      }
    }
    disconnectedCallback() {
      if (this._mounted) { this._mounted.unmount(); this._mounted = undefined; }
    }
  });
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = defineConnectionsPanel)]
    fn define_connections_panel(mount: &js_sys::Function);
}

/// Defines `<connections-panel>`; its attributes are the mount options in kebab-case.
pub fn define_custom_element() {
    let mount_from_element = Closure::<dyn Fn(web_sys::HtmlElement, JsValue) -> Result<JsValue, JsValue>>::new(|element, options| {
        mount(element, options).map(JsValue::from).map_err(JsValue::from)
    });
    define_connections_panel(mount_from_element.as_ref().unchecked_ref());
    // The element class calls it for the page's lifetime.
    mount_from_element.forget();
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
