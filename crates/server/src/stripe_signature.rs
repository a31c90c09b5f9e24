//! Stripe webhook signatures: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]` where
//! v1 = HMAC-SHA256(webhook secret, "<t>.<raw body>"), accepted within a 5-minute tolerance.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub(crate) const TOLERANCE_SECS: i64 = 5 * 60;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SignatureError {
    #[error("the Stripe-Signature header is missing or malformed")]
    Malformed,
    #[error("the signature timestamp is outside the {TOLERANCE_SECS}-second tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

pub fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    hex::encode(mac.finalize().into_bytes())
}

pub(crate) fn verify(secret: &str, header: &str, payload: &[u8], now: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let expected = sign(secret, timestamp, payload);
    if signatures.iter().any(|candidate| bool::from(candidate.as_bytes().ct_eq(expected.as_bytes()))) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";
    const BODY: &[u8] = br#"{"type":"account.application.deauthorized","account":"acct_1"}"#;

    #[test]
    fn a_signature_made_with_the_secret_verifies_and_any_v1_may_match() {
        let header = format!("t=1000,v1={}", sign(SECRET, 1000, BODY));
        assert_eq!(verify(SECRET, &header, BODY, 1100), Ok(()));
        let rolled = format!("t=1000,v1={},v1={}", "0".repeat(64), sign(SECRET, 1000, BODY));
        assert_eq!(verify(SECRET, &rolled, BODY, 1000), Ok(()));
    }

    #[test]
    fn tampering_staleness_and_malformed_headers_are_refused() {
        let header = format!("t=1000,v1={}", sign(SECRET, 1000, BODY));
        assert_eq!(verify(SECRET, &header, b"{}", 1000), Err(SignatureError::Mismatch));
        assert_eq!(verify("whsec_other", &header, BODY, 1000), Err(SignatureError::Mismatch));
        assert_eq!(verify(SECRET, &header, BODY, 1000 + TOLERANCE_SECS + 1), Err(SignatureError::Stale));
        assert_eq!(verify(SECRET, &header.replace("t=1000", "t=1001"), BODY, 1000), Err(SignatureError::Mismatch));
        assert_eq!(verify(SECRET, "v1=abc", BODY, 1000), Err(SignatureError::Malformed));
        assert_eq!(verify(SECRET, "t=1000", BODY, 1000), Err(SignatureError::Malformed));
        assert_eq!(verify(SECRET, "", BODY, 1000), Err(SignatureError::Malformed));
    }
}
