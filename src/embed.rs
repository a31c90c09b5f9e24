//! Mounting into a host page: the `mount(element, options)` JavaScript API and the
//! `<connections-panel>` custom element. The events the host hears are `host`'s.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::api::{self, SessionToken};
use crate::app::App;
use crate::host;
use crate::options::{AppOptions, RawOptions};
use crate::split;

thread_local! {
    /// The one mounted app on this page, if any.
    static MOUNTED: RefCell<Option<Box<dyn std::any::Any>>> = RefCell::new(None);
    /// Where and with which options (as the host gave them) it was mounted: the pages bundle is
    /// mounted the same way when the table's bundle hands over (`split`).
    static MOUNTED_WITH: RefCell<Option<(web_sys::HtmlElement, JsValue)>> = const { RefCell::new(None) };
    /// After a hand-over, the pages bundle's `Mounted`: unmounting this one unmounts that.
    static HANDED_OVER: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

/// Renders the app into `element` with checked options.
fn render(element: web_sys::HtmlElement, raw: JsValue, options: AppOptions, token: Option<SessionToken>) -> Result<(), String> {
    if MOUNTED.with(|m| m.borrow().is_some()) || HANDED_OVER.with(|h| h.borrow().is_some()) {
        return Err("Connections is already mounted on this page; unmount it first".into());
    }
    api::configure(options.api_base.clone(), token);
    host::set_target(Some(element.clone().into()));
    MOUNTED_WITH.with(|m| *m.borrow_mut() = Some((element.clone(), raw)));
    let handle = leptos::mount::mount_to(element, move || leptos::view! { <App options=options.clone() /> });
    MOUNTED.with(|m| *m.borrow_mut() = Some(Box::new(handle)));
    split::mounted();
    Ok(())
}

/// Removes this bundle's app, if any (dropping the handle removes its nodes and stops its effects,
/// timers and listeners).
fn unmount_app() {
    let handle = MOUNTED.with(|m| m.borrow_mut().take());
    drop(handle);
    host::set_target(None);
}

fn unmount_current() {
    unmount_app();
    MOUNTED_WITH.with(|m| m.borrow_mut().take());
    if let Some(pages) = HANDED_OVER.with(|h| h.borrow_mut().take()) {
        let _ = call_method(&pages, "unmount", &[]);
    }
}

fn call_method(target: &JsValue, name: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
    let method: js_sys::Function = js_sys::Reflect::get(target, &name.into())?.dyn_into()?;
    method.apply(target, &args.iter().copied().collect::<js_sys::Array>())
}

/// The table's bundle gives the page to the pages bundle (`glue`, its started module): its app
/// unmounts, and the pages bundle's mounts in the same element with the same options, at `page`
/// (a path relative to the base). Keyboard focus follows to the new page's start when it was in the
/// app.
pub(crate) fn hand_over(glue: JsValue, page: &str) {
    let Some((element, options)) = MOUNTED_WITH.with(|m| m.borrow().clone()) else { return };
    let document = web_sys::window().and_then(|w| w.document());
    let focus_was_in_app =
        document.as_ref().and_then(|d| d.active_element()).is_some_and(|active| element.contains(Some(&active)) && !element.is_same_node(Some(&active)));
    unmount_app();
    match call_method(&glue, "mount_at", &[&element, &options, &JsValue::from_str(page)]) {
        Ok(pages) => HANDED_OVER.with(|h| *h.borrow_mut() = Some(pages)),
        Err(error) => web_sys::console::error_2(&"Connections: the pages bundle did not mount".into(), &error),
    }
    if focus_was_in_app {
        if let Some(main) = document.and_then(|d| d.get_element_by_id("cx-main")).and_then(|m| m.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = main.focus();
        }
    }
}

/// The standalone page: the server's `index.html` marks its body.
pub fn start_standalone() {
    let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) else { return };
    if body.has_attribute("data-connections-standalone") {
        if let Err(message) = render(body, JsValue::UNDEFINED, AppOptions::standalone(), None) {
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
    let (checked, token) = read_options(&options).map_err(|e| JsError::new(&format!("Connections: {e}")))?;
    render(element, options, checked, token).map_err(|e| JsError::new(&format!("Connections: {e}")))?;
    Ok(Mounted { live: true })
}

/// `mount`, starting at `page` (a path relative to the base path) whatever the address bar says:
/// how the table's bundle hands another page to the pages bundle (`split`). Not for host pages.
#[wasm_bindgen(js_name = mount_at)]
pub fn mount_at(element: web_sys::HtmlElement, options: JsValue, page: String) -> Result<Mounted, JsError> {
    crate::navigator::start_next_at(crate::routing::Route::parse(&page));
    mount(element, options)
}

#[wasm_bindgen(module = "/src/app.js")]
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
