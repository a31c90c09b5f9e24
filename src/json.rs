//! JSON in the wasm is the browser's: `JSON.parse` and `JSON.stringify`, with serde reading and writing
//! the JavaScript values (`serde-wasm-bindgen`) instead of serde_json's parser and printer in the
//! wasm. Same JSON as before: maps as objects, `None` as `null`, numbers as numbers.

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;

/// `value` as the JavaScript value `JSON.parse(serde_json::to_string(value))` would give.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Option<JsValue> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).ok()
}

/// `value` as JSON text.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    js_sys::JSON::stringify(&to_js(value)?).ok()?.as_string()
}

/// A JavaScript value (a parsed JSON answer) read into `T`.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Option<T> {
    serde_wasm_bindgen::from_value(value).ok()
}

/// JSON text read into `T`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Option<T> {
    from_js(js_sys::JSON::parse(text).ok()?)
}
