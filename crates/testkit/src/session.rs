//! Session tokens, signed the way the host portal signs them.

use connections_server::secret::Secret;
use connections_server::session::{Claims, SessionKeys};

/// `claims` signed with the shared secret `secret` (HS256).
pub fn sign(secret: &str, claims: &Claims) -> String {
    SessionKeys::new(&Secret::new(secret.to_owned())).sign(claims).unwrap()
}

/// A session of `subject` (named `name`) with `role` in `workspace`, valid for `secs` seconds.
pub fn session_token(secret: &str, subject: &str, name: &str, role: &str, workspace: &str, secs: i64) -> String {
    sign(secret, &Claims::new(subject, name, role, workspace, secs))
}
