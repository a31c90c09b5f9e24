//! Who may call the service API (`/service/v1/`): the product's own backends, each with a key sent as
//! `Authorization: Bearer <key>`. Only the SHA-256 of each key is configured, so neither the server's
//! environment nor its memory holds a key; the digest is compared in constant time.
//!
//! Never a browser: a request that carries a cookie, an `Origin` or any `Sec-Fetch-*` header (which
//! every current browser sends, and a server-side HTTP client does not) is refused, so a key pasted
//! into a web page is useless there, and an admin's session cookie can never reach these routes.

use axum::http::header;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

#[derive(Clone, Debug, Default)]
pub(crate) struct ServiceKeys(Vec<(String, [u8; 32])>);

impl ServiceKeys {
    /// `name=<64 hex digits>`, comma separated; names of `[A-Za-z0-9_.-]`, each once.
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        let mut keys: Vec<(String, [u8; 32])> = Vec::new();
        for (index, part) in value.split(',').map(str::trim).filter(|p| !p.is_empty()).enumerate() {
            let at = index + 1;
            let (name, digest) = part.split_once('=').ok_or_else(|| format!("entry {at} must be name=<hex SHA-256 of the key>"))?;
            let name = name.trim();
            if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
                return Err(format!("entry {at}: the name must be 1 to 64 characters of letters, digits, _ - ."));
            }
            let digest = parse_hex_digest(digest.trim())
                .ok_or_else(|| format!("entry {at} ({name}): the key's digest must be 64 hex digits (sha256sum of the key), never the key"))?;
            if keys.iter().any(|(known, _)| known == name) {
                return Err(format!("the name {name} is listed twice"));
            }
            keys.push((name.to_owned(), digest));
        }
        Ok(ServiceKeys(keys))
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The name of the key whose digest matches; every configured digest is compared, in constant time.
    pub(crate) fn identify(&self, key: &str) -> Option<&str> {
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let mut found = None;
        for (name, known) in &self.0 {
            if bool::from(known.ct_eq(&digest)) {
                found = Some(name.as_str());
            }
        }
        found
    }
}

fn parse_hex_digest(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut digest = [0u8; 32];
    for (i, byte) in digest.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(digest)
}

/// Whether a request was made by a browser: browsers send a cookie, an `Origin` or `Sec-Fetch-Site`
/// with what a page asks for. `Sec-Fetch-Mode` and `Sec-Fetch-Dest` alone are no sign of one: Node's,
/// Deno's and Bun's built-in `fetch` send `sec-fetch-mode: cors` on every request.
pub(crate) fn from_browser(headers: &axum::http::HeaderMap) -> bool {
    headers.contains_key(header::COOKIE) || headers.contains_key(header::ORIGIN) || headers.contains_key("sec-fetch-site")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(key: &str) -> String {
        hex::encode(Sha256::digest(key.as_bytes()))
    }

    #[test]
    fn a_key_is_known_by_its_digest_only() {
        let keys = ServiceKeys::parse(&format!("sync={}, billing={}", digest("k1"), digest("k2"))).unwrap();
        assert_eq!(keys.identify("k1"), Some("sync"));
        assert_eq!(keys.identify("k2"), Some("billing"));
        assert_eq!(keys.identify(&digest("k1")), None, "the digest itself is not a key");
        assert_eq!(keys.identify("k3"), None);
        assert!(ServiceKeys::parse("").unwrap().is_empty());
    }

    #[test]
    fn a_browser_is_known_by_a_cookie_an_origin_or_sec_fetch_site_only() {
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = axum::http::HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(*name, axum::http::HeaderValue::from_static(value));
            }
            from_browser(&headers)
        };
        assert!(!with(&[]));
        assert!(!with(&[("sec-fetch-mode", "cors"), ("sec-fetch-dest", "empty"), ("user-agent", "node")]), "Node's fetch");
        assert!(with(&[("cookie", "a=b")]));
        assert!(with(&[("origin", "https://page.example")]));
        assert!(with(&[("sec-fetch-site", "same-origin"), ("sec-fetch-mode", "cors")]));
    }

    #[test]
    fn bad_entries_are_refused_naming_the_entry() {
        assert!(ServiceKeys::parse("sync").unwrap_err().contains("entry 1"));
        assert!(ServiceKeys::parse("sync=abc").unwrap_err().contains("64 hex digits"));
        assert!(ServiceKeys::parse(&format!("sync={0},sync={0}", digest("k"))).unwrap_err().contains("twice"));
        assert!(ServiceKeys::parse(&format!("has space={}", digest("k"))).unwrap_err().contains("name"));
    }
}
