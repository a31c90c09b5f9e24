//! The API paths the SPA calls with a value in them (a provider, connection or install id). Each value
//! becomes exactly one percent-encoded path segment, so an id read from the address bar or a server
//! answer can never point a request at another route (`../x/disconnect?` stays inside its segment).

use connections_wire::paths;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but `A-Z a-z 0-9 - _ ~` is encoded. Dots too: proxies that decode before normalising
/// would otherwise see `..`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

/// A value that cannot be a path segment at all: empty, or `.` / `..` (the URL parser resolves those
/// even when encoded as `%2E`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadSegment;

/// One encoded path segment.
pub fn segment(value: &str) -> Result<String, BadSegment> {
    if value.is_empty() || value == "." || value == ".." {
        return Err(BadSegment);
    }
    Ok(utf8_percent_encode(value, SEGMENT).to_string())
}

pub fn connection(id: &str) -> Result<String, BadSegment> {
    Ok(paths::connection(&segment(id)?))
}

pub fn disconnect(id: &str) -> Result<String, BadSegment> {
    Ok(paths::disconnect(&segment(id)?))
}

pub fn check(id: &str) -> Result<String, BadSegment> {
    Ok(paths::check(&segment(id)?))
}

pub fn data_check(id: &str) -> Result<String, BadSegment> {
    Ok(paths::data_check(&segment(id)?))
}

pub fn retry_delivery(id: &str) -> Result<String, BadSegment> {
    Ok(paths::retry_delivery(&segment(id)?))
}

pub fn attempts(provider: &str) -> Result<String, BadSegment> {
    Ok(paths::attempts(&segment(provider)?))
}

pub fn keys(provider: &str) -> Result<String, BadSegment> {
    Ok(paths::keys(&segment(provider)?))
}

pub fn grants(provider: &str) -> Result<String, BadSegment> {
    Ok(paths::grants(&segment(provider)?))
}

pub fn installs(provider: &str) -> Result<String, BadSegment> {
    Ok(paths::installs(&segment(provider)?))
}

pub fn confirm_install(provider: &str, id: &str) -> Result<String, BadSegment> {
    Ok(paths::confirm_install(&segment(provider)?, &segment(id)?))
}

pub fn decline_install(provider: &str, id: &str) -> Result<String, BadSegment> {
    Ok(paths::decline_install(&segment(provider)?, &segment(id)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The path as a browser would send it (the WHATWG parser resolves dot segments, `?` and `#`).
    fn sent(path: &str) -> (Vec<String>, Option<String>) {
        let url = url::Url::parse("https://bi.example.com").unwrap().join(path).unwrap();
        let segments = url.path_segments().unwrap().map(str::to_owned).collect();
        (segments, url.query().map(str::to_owned))
    }

    #[test]
    fn plain_ids_are_unchanged() {
        assert_eq!(connection("conn_42").unwrap(), "/api/connections/conn_42");
        assert_eq!(attempts("northwind-crm").unwrap(), "/api/providers/northwind-crm/attempts");
        assert_eq!(confirm_install("stripe", "inst_1").unwrap(), "/api/providers/stripe/installs/inst_1/confirm");
    }

    #[test]
    fn a_crafted_segment_cannot_change_the_api_path() {
        let crafted = "../connections/x/disconnect?";
        let path = connection(crafted).unwrap();
        assert_eq!(path, "/api/connections/%2E%2E%2Fconnections%2Fx%2Fdisconnect%3F");
        let (segments, query) = sent(&path);
        assert_eq!(segments.len(), 3, "{segments:?}");
        assert_eq!(&segments[..2], ["api", "connections"]);
        assert_eq!(query, None);
        for (path, route) in [
            (check(crafted).unwrap(), "check"),
            (disconnect(crafted).unwrap(), "disconnect"),
            (grants(crafted).unwrap(), "grants"),
            (installs(crafted).unwrap(), "installs"),
        ] {
            let (segments, query) = sent(&path);
            assert_eq!(segments.len(), 4, "{path}");
            assert_eq!(segments.last().map(String::as_str), Some(route), "{path}");
            assert_eq!(query, None, "{path}");
        }
        let (segments, _) = sent(&decline_install("a/b#", "../../connections/x").unwrap());
        assert_eq!(segments.len(), 6);
        assert_eq!(segments.last().map(String::as_str), Some("decline"));
    }

    #[test]
    fn dot_segments_and_empty_ids_are_refused() {
        for bad in ["", ".", ".."] {
            assert_eq!(segment(bad), Err(BadSegment), "{bad:?}");
            assert_eq!(connection(bad), Err(BadSegment), "{bad:?}");
            assert_eq!(confirm_install("stripe", bad), Err(BadSegment), "{bad:?}");
        }
        assert_eq!(segment("...").unwrap(), "%2E%2E%2E");
    }

    #[test]
    fn unicode_and_reserved_characters_are_encoded() {
        assert_eq!(segment("conn 1/2?#%é").unwrap(), "conn%201%2F2%3F%23%25%C3%A9");
    }

    proptest::proptest! {
        #[test]
        fn any_id_stays_one_segment(id in "\\PC{1,40}") {
            if let Ok(path) = disconnect(&id) {
                let (segments, query) = sent(&path);
                proptest::prop_assert_eq!(segments.len(), 4);
                proptest::prop_assert_eq!(segments[3].as_str(), "disconnect");
                proptest::prop_assert_eq!(query, None);
            }
        }
    }
}
