//! Stripe's signed event deliveries (`Stripe-Signature: t=…,v1=…`).

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::store::random_id;

/// `Stripe-Signature`'s v1: hex HMAC-SHA256 over `"{t}.{payload}"`.
fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(payload);
    hex::encode(mac.finalize().into_bytes())
}

/// An `account.application.*` event about `account_id` and the application (`id`, `name`).
pub(crate) struct ApplicationEvent {
    pub kind: &'static str,
    pub account_id: String,
    pub livemode: bool,
    pub created: i64,
    pub application_id: String,
    pub application_name: String,
}

impl ApplicationEvent {
    fn to_json(&self) -> Value {
        json!({
            "id": random_id("evt_", 24),
            "object": "event",
            "type": self.kind,
            "account": self.account_id,
            "created": self.created,
            "livemode": self.livemode,
            "data": { "object": { "id": self.application_id, "object": "application", "name": self.application_name } },
        })
    }

    /// Posts the event to `url`, signed with `secret`; answers the receiver's HTTP status.
    pub(crate) async fn deliver(self, url: String, secret: String) -> Option<u16> {
        let payload = serde_json::to_vec(&self.to_json()).expect("an event serialises");
        let signature = format!("t={},v1={}", self.created, sign(&secret, self.created, &payload));
        let response = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json; charset=utf-8")
            .header("stripe-signature", signature)
            .body(payload)
            .send()
            .await
            .ok()?;
        Some(response.status().as_u16())
    }

    /// Delivers without waiting, as Stripe does after an install: the redirect does not wait for it.
    pub(crate) fn deliver_in_background(self, url: String, secret: String) {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(self.deliver(url, secret));
            }
            Err(_) => tracing::warn!(kind = self.kind, "stripe stand-in: no async runtime, event not sent"),
        }
    }
}
