//! RFC 9457 problem details, with a stable machine-readable `code` the SPA maps to its own words.

use serde::{Deserialize, Serialize};

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Every error the API can answer with. Adding a variant is backwards compatible: older SPAs read
/// unknown codes as [`ErrorCode::Unknown`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No valid session: signed out, expired or badly signed token.
    Unauthenticated,
    /// Signed in, but not an administrator.
    AdminRequired,
    /// The request body or query was malformed.
    InvalidRequest,
    /// A cross-site request to a state-changing route.
    CrossSiteRequest,
    UnknownProvider,
    /// No pending attempt matches this `state` for this session (forged, another session's, or used).
    UnknownAttempt,
    /// The attempt was found but is older than its lifetime.
    AttemptExpired,
    /// `S256(code_verifier)` did not equal the registered challenge.
    PkceMismatch,
    /// Stripe (or the network to it) failed; trying again may work.
    ProviderUnavailable,
    /// Stripe answered, and refused (e.g. `invalid_grant`).
    ProviderRejected,
    /// The connection's access lapsed at the provider: an administrator must reauthenticate it.
    ReauthenticationRequired,
    /// The account owner withdrew the app at the provider: the connection holds no access.
    ConnectionRevoked,
    /// An administrator disconnected it: the connection holds no access.
    ConnectionDisconnected,
    /// A service-API route asked from a browser (a cookie, `Origin` or `Sec-Fetch-Site`).
    BrowserContext,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    /// A webhook whose `Stripe-Signature` does not verify.
    InvalidSignature,
    RateLimited,
    /// A pasted key was refused, or can read none of the data: nothing was stored. `tables` says
    /// per table what failed.
    KeyRefused,
    Internal,
    /// A connect link that expired (or never existed: not told apart).
    LinkExpired,
    /// A connect link already used for a connection.
    LinkUsed,
    /// A connect link an administrator revoked.
    LinkRevoked,
    /// A reconnect link's consent was for another account than the connection's.
    LinkWrongAccount,
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::AdminRequired => "admin_required",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::CrossSiteRequest => "cross_site_request",
            ErrorCode::UnknownProvider => "unknown_provider",
            ErrorCode::UnknownAttempt => "unknown_attempt",
            ErrorCode::AttemptExpired => "attempt_expired",
            ErrorCode::PkceMismatch => "pkce_mismatch",
            ErrorCode::ProviderUnavailable => "provider_unavailable",
            ErrorCode::ProviderRejected => "provider_rejected",
            ErrorCode::ReauthenticationRequired => "reauthentication_required",
            ErrorCode::ConnectionRevoked => "connection_revoked",
            ErrorCode::ConnectionDisconnected => "connection_disconnected",
            ErrorCode::BrowserContext => "browser_context",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::InvalidSignature => "invalid_signature",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::KeyRefused => "key_refused",
            ErrorCode::Internal => "internal",
            ErrorCode::LinkExpired => "link_expired",
            ErrorCode::LinkUsed => "link_used",
            ErrorCode::LinkRevoked => "link_revoked",
            ErrorCode::LinkWrongAccount => "link_wrong_account",
            ErrorCode::Unknown => "unknown",
        }
    }

    /// The problem `type` URI: stable, and unique per code.
    pub fn type_uri(self) -> String {
        format!("urn:connections:problem:{}", self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    #[serde(default)]
    pub detail: String,
    pub code: ErrorCode,
    /// The id of the request this answers (also its `x-request-id` header), to find it in the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// `key_refused`: what the key could read, per table, in our words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<crate::TableCheck>,
}

impl Problem {
    pub fn new(code: ErrorCode, status: u16, title: impl Into<String>, detail: impl Into<String>) -> Self {
        Problem { type_uri: code.type_uri(), title: title.into(), status, detail: detail.into(), code, request_id: None, tables: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_serialises_as_rfc_9457_with_a_code() {
        let problem = Problem::new(ErrorCode::PkceMismatch, 400, "PKCE check failed", "verifier does not match");
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(json["type"], "urn:connections:problem:pkce_mismatch");
        assert_eq!(json["code"], "pkce_mismatch");
        assert_eq!(json["status"], 400);
    }

    #[test]
    fn unknown_codes_from_a_newer_server_are_read_as_unknown() {
        let json = r#"{"type":"urn:x","title":"t","status":418,"code":"teapot"}"#;
        let problem: Problem = serde_json::from_str(json).unwrap();
        assert_eq!(problem.code, ErrorCode::Unknown);
        assert_eq!(problem.detail, "");
    }

    #[test]
    fn the_request_id_is_left_out_until_known_and_read_back_when_sent() {
        let mut problem = Problem::new(ErrorCode::Internal, 500, "t", "d");
        assert!(serde_json::to_value(&problem).unwrap().get("request_id").is_none());
        problem.request_id = Some("0af7651916cd43dd8448eb211c80319c".into());
        let json = serde_json::to_string(&problem).unwrap();
        assert_eq!(serde_json::from_str::<Problem>(&json).unwrap(), problem);
    }

    #[test]
    fn as_str_matches_serde_for_every_code() {
        use ErrorCode::*;
        for code in [
            Unauthenticated,
            AdminRequired,
            InvalidRequest,
            CrossSiteRequest,
            UnknownProvider,
            UnknownAttempt,
            AttemptExpired,
            PkceMismatch,
            ProviderUnavailable,
            ProviderRejected,
            ReauthenticationRequired,
            ConnectionRevoked,
            ConnectionDisconnected,
            BrowserContext,
            NotFound,
            MethodNotAllowed,
            PayloadTooLarge,
            InvalidSignature,
            RateLimited,
            KeyRefused,
            Internal,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }
}
