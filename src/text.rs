//! Case mapping for search, sort and initials: ASCII in Rust, anything else by the browser's own
//! `toLowerCase`/`toUpperCase` (the same Unicode mapping), so Unicode's case tables stay out of the
//! wasm. Natively (the unit tests) Rust's own mapping.

/// `s` in lower case, as `str::to_lowercase` gives it.
pub fn lowercase(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    #[cfg(target_arch = "wasm32")]
    return js_sys::JsString::from(s).to_lower_case().into();
    #[cfg(not(target_arch = "wasm32"))]
    return s.to_lowercase();
}

/// `s` in upper case, as `str::to_uppercase` gives it.
pub fn uppercase(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_uppercase();
    }
    #[cfg(target_arch = "wasm32")]
    return js_sys::JsString::from(s).to_upper_case().into();
    #[cfg(not(target_arch = "wasm32"))]
    return s.to_uppercase();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_ascii_and_the_rest_like_the_standard_library() {
        for s in ["Acme Books", "acct_1ABC", "ÖL & Gas", "İstanbul", "ΣΊΣΥΦΟΣ", "straße", ""] {
            assert_eq!(lowercase(s), s.to_lowercase(), "{s}");
            assert_eq!(uppercase(s), s.to_uppercase(), "{s}");
        }
    }
}
