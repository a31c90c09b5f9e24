//! The values of the connect flow that must never print: the authorization code, the PKCE verifier
//! and `state`. Each has its own type from the moment it is read (the callback's query in the SPA,
//! the request body on the server), like oauth2-rs's `AuthorizationCode`, `PkceCodeVerifier` and
//! `CsrfToken`. On the wire each is the plain JSON string it always was (`serde(transparent)`).

use std::fmt;

use serde::{Deserialize, Serialize};

// Our own, not `secrecy`: these are in the SPA's budgeted wasm too, and must stay plain serde strings with Hash and Ord (SecretBox has neither).
macro_rules! redacted_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            /// The one way to read the value; grep for it to audit every use.
            pub fn secret(&self) -> &str {
                &self.0
            }

            /// Its length in bytes, which is no secret (the format checks need it).
            pub fn len(&self) -> usize {
                self.0.len()
            }

            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name(value.to_owned())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    };
}

redacted_string!(
    /// The provider's authorization code: single use, exchanged for tokens once.
    AuthorizationCode
);
redacted_string!(
    /// The PKCE code verifier (RFC 7636): only the tab that started the attempt holds it until the grant.
    PkceVerifier
);
redacted_string!(
    /// An API key (or a Stripe restricted key) an administrator pastes: it crosses the browser once, to
    /// the server, and is never answered back.
    ApiKey
);
redacted_string!(
    /// A connect link's token (256 random bits): whoever holds it may connect one provider for one
    /// workspace, once. Shown once, in the link's address; stored only as its SHA-256.
    ConnectLinkToken
);
redacted_string!(
    /// The `state` of a connect attempt: binds the provider's answer to the tab and session that asked.
    OAuthState
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value_and_json_is_the_plain_string() {
        let code = AuthorizationCode::new("ac_secret");
        let verifier = PkceVerifier::new("v".repeat(43));
        let state = OAuthState::new("s".repeat(43));
        assert_eq!(format!("{:?}", ApiKey::new("rk_test_secret")), "ApiKey([redacted])");
        let printed = format!("{code:?} {verifier:?} {state:?}");
        assert_eq!(printed, "AuthorizationCode([redacted]) PkceVerifier([redacted]) OAuthState([redacted])");
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"ac_secret\"");
        assert_eq!(serde_json::from_str::<OAuthState>(&format!("\"{}\"", "s".repeat(43))).unwrap(), state);
        assert_eq!(code.secret(), "ac_secret");
    }
}
