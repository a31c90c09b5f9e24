//! Outgoing webhooks to the product's backend (`CONNECTIONS_WEBHOOK_URL`): what the events are, how
//! they are signed (the Standard Webhooks specification, so receivers can use its libraries), and
//! the retry schedule. The service that makes a change chooses its notification; `storage` writes it
//! to the outbox in the transaction of the change; `services::delivery` sends it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use connections_wire::ConnectionView;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use url::Url;

use crate::secret::Secret;

/// Retries stop once an event is older than this (at least a day, as the issue asks, with room for
/// the last back-off step).
pub(crate) const GIVE_UP_AFTER_MS: i64 = 30 * 3600 * 1000;
/// The back-off doubles from the first retry delay up to this.
pub(crate) const MAX_RETRY_DELAY_MS: i64 = 2 * 3600 * 1000;
pub(crate) const DEFAULT_FIRST_RETRY_MS: i64 = 5_000;

/// What happened to a connection, as the `type` of an outgoing event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notification {
    Created,
    Reauthenticated,
    ReauthenticationRequired,
    Revoked,
    Disconnected,
    /// Reauthentication was required, and a later renewal or check found the access working again
    /// without a new consent.
    Recovered,
}

impl Notification {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Notification::Created => "connection.created",
            Notification::Reauthenticated => "connection.reauthenticated",
            Notification::ReauthenticationRequired => "connection.reauthentication_required",
            Notification::Revoked => "connection.revoked",
            Notification::Disconnected => "connection.disconnected",
            Notification::Recovered => "connection.recovered",
        }
    }
}

/// The body of an event: `{"type", "timestamp", "data": {"workspace", "connection"}}`, the shape the
/// Standard Webhooks specification recommends. Never a token: `ConnectionView` has none.
#[derive(Serialize)]
pub(crate) struct NotificationBody<'a> {
    #[serde(rename = "type")]
    pub event_type: &'static str,
    pub timestamp: DateTime<Utc>,
    pub data: NotificationData<'a>,
}

#[derive(Serialize)]
pub(crate) struct NotificationData<'a> {
    pub workspace: &'a str,
    pub connection: &'a ConnectionView,
    /// The connect link the change was made through (its id), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via_link: Option<&'a str>,
}

/// `CONNECTIONS_WEBHOOK_URL` with its signing key and retry schedule.
#[derive(Clone, Debug)]
pub(crate) struct WebhookSettings {
    pub url: Url,
    pub signer: Signer,
    pub first_retry_ms: i64,
}

/// The key of `whsec_<base64>`, as the specification writes secrets.
#[derive(Clone, Debug)]
pub(crate) struct Signer(Secret<Vec<u8>>);

impl Signer {
    pub(crate) fn from_secret(secret: &str) -> Result<Self, String> {
        let encoded = secret.trim().strip_prefix("whsec_").ok_or("must start with whsec_ (then the key bytes in base64)")?;
        let key = STANDARD.decode(encoded).map_err(|_| "the part after whsec_ is not valid base64".to_owned())?;
        if !(24..=64).contains(&key.len()) {
            return Err(format!("the key must be 24 to 64 bytes, got {}", key.len()));
        }
        Ok(Signer(Secret::new(key)))
    }

    /// `webhook-signature`: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    // Our own, not `standardwebhooks` 1.0: its `Webhook` holds the key in a plain Vec (no Clone, no redacted Debug, no zeroize), rejects non-UTF-8 bodies, and brings a second HMAC, base64 0.21 and `time`.
    pub(crate) fn sign(&self, message_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose()).expect("HMAC takes any key length");
        mac.update(message_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// When to try again after `attempts` failed attempts: the first retry delay, doubled per attempt,
/// capped; `None` once the event is too old to keep trying.
pub(crate) fn next_attempt_ms(first_retry_ms: i64, attempts: u32, created_ms: i64, now_ms: i64) -> Option<i64> {
    let doubling = 1_i64.checked_shl(attempts.saturating_sub(1).min(40)).unwrap_or(i64::MAX);
    let delay = first_retry_ms.saturating_mul(doubling).min(MAX_RETRY_DELAY_MS);
    let at = now_ms + delay;
    (at - created_ms <= GIVE_UP_AFTER_MS).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // The specification's worked example.
        let signer = Signer::from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(signer.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_must_be_whsec_and_base64_of_a_real_key() {
        assert!(Signer::from_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_err().contains("whsec_"));
        assert!(Signer::from_secret("whsec_not base64!").unwrap_err().contains("base64"));
        assert!(Signer::from_secret("whsec_c2hvcnQ=").unwrap_err().contains("24 to 64 bytes"));
    }

    #[test]
    fn retries_double_up_to_two_hours_and_stop_after_a_day_and_more() {
        let created = 0;
        assert_eq!(next_attempt_ms(5_000, 1, created, 0), Some(5_000));
        assert_eq!(next_attempt_ms(5_000, 2, created, 0), Some(10_000));
        assert_eq!(next_attempt_ms(5_000, 30, created, 0), Some(MAX_RETRY_DELAY_MS));
        // Still trying a day later, given up past thirty hours.
        assert!(next_attempt_ms(5_000, 20, created, 24 * 3600 * 1000).is_some());
        assert_eq!(next_attempt_ms(5_000, 21, created, 29 * 3600 * 1000), None);
    }
}
