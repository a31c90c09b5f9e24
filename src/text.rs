//! Case mapping and letters for search, sort and initials: ASCII in Rust, anything else by the
//! browser's own `toLowerCase`, `toUpperCase` and `\p{…}` (the same Unicode data), so Unicode's
//! tables stay out of the wasm (−9.5 KB brotli). Natively (the unit tests) Rust's own.

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

/// Whether `c` is a letter or a digit, as `char::is_alphanumeric` answers (Unicode's Alphabetic and
/// Numeric properties; the browser's `\p{Alphabetic}` and `\p{N}`).
pub fn is_alphanumeric(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    #[cfg(target_arch = "wasm32")]
    return js_sys::RegExp::new(r"^[\p{Alphabetic}\p{N}]$", "u").test(c.encode_utf8(&mut [0; 4]));
    #[cfg(not(target_arch = "wasm32"))]
    return c.is_alphanumeric();
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
        for c in ['a', 'Z', '7', 'Ö', 'ß', 'Σ', '٣', '-', ' ', '_', '€', '→'] {
            assert_eq!(is_alphanumeric(c), c.is_alphanumeric(), "{c}");
        }
    }
}
