//! The connect step in a popup, for an app inside an iframe: providers refuse to be framed, and a
//! full-page redirect would take the whole host page away. The popup comes back to the app's callback
//! on the app's origin, which hands the provider's answer over a `BroadcastChannel` to the frame that
//! started the attempt. Nothing relies on `window.opener`, which is cut as soon as the popup opens.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::flow::PopupMessage;

const CHANNEL: &str = "connections.oauth-popup";
/// How long the popup waits for the frame that started the attempt to answer.
const HAND_OVER_WAIT_MS: i32 = 2_000;

/// Opens an empty popup. Call it directly in the click handler: browsers only allow popups there.
/// `None` when the browser blocked it.
pub fn open_blank() -> Option<web_sys::Window> {
    let window = web_sys::window()?;
    let popup = window.open_with_url_and_target_and_features("", "connections-provider", "popup,width=520,height=720").ok().flatten()?;
    // The provider's pages get no handle on this app.
    let _ = js_sys::Reflect::set(&popup, &"opener".into(), &JsValue::NULL);
    Some(popup)
}

/// Whether the app runs inside a frame.
pub fn is_framed() -> bool {
    let Some(window) = web_sys::window() else { return false };
    match window.top() {
        Ok(Some(top)) => !js_sys::Object::is(&top, &window),
        _ => false,
    }
}

fn post(channel: &web_sys::BroadcastChannel, message: &PopupMessage) {
    if let Some(json) = crate::json::to_string(message) {
        let _ = channel.post_message(&JsValue::from_str(&json));
    }
}

fn read(event: &web_sys::MessageEvent) -> Option<PopupMessage> {
    crate::json::from_str(&event.data().as_string()?)
}

/// The frame's side: waits for the callback with this attempt's `state`, acknowledges it, and passes
/// the provider's query on. Dropping it stops listening.
pub struct Listener {
    channel: web_sys::BroadcastChannel,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
}

impl Listener {
    pub fn new(state: String, mut on_callback: impl FnMut(String) + 'static) -> Option<Self> {
        let channel = web_sys::BroadcastChannel::new(CHANNEL).ok()?;
        let reply = channel.clone();
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            if let Some(PopupMessage::Callback { state: their_state, query }) = read(&event) {
                // Answers from other attempts (another tab, a forged page) are not ours to finish.
                if their_state == state {
                    post(&reply, &PopupMessage::Received { state: their_state });
                    on_callback(query);
                }
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Some(Listener { channel, _on_message: on_message })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}

/// The popup's side: offers the provider's answer to whichever frame started the attempt. `true` when
/// that frame took it; `false` when none answered in time (then this is not a popup attempt).
pub async fn hand_over(state: &str, query: &str) -> bool {
    let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) else { return false };
    let mut keep_alive = None;
    let answered = js_sys::Promise::new(&mut |resolve, _reject| {
        let on_timeout = resolve.clone();
        let expected = state.to_owned();
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            if matches!(read(&event), Some(PopupMessage::Received { state }) if state == expected) {
                let _ = resolve.call1(&JsValue::NULL, &JsValue::TRUE);
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        keep_alive = Some(on_message);
        let timeout = Closure::once_into_js(move || {
            let _ = on_timeout.call1(&JsValue::NULL, &JsValue::FALSE);
        });
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(timeout.unchecked_ref(), HAND_OVER_WAIT_MS);
        }
    });
    post(&channel, &PopupMessage::Callback { state: state.to_owned(), query: query.to_owned() });
    let taken = wasm_bindgen_futures::JsFuture::from(answered).await.ok().and_then(|v| v.as_bool()).unwrap_or(false);
    channel.set_onmessage(None);
    channel.close();
    drop(keep_alive);
    taken
}

/// Closes this window if a script opened it (the popup), after the hand-over.
pub fn close_this_window() {
    if let Some(window) = web_sys::window() {
        let _ = window.close();
    }
}
