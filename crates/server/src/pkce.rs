//! RFC 7636 checks the backend makes itself, because Stripe does not document PKCE.

use oauth2::{PkceCodeChallenge, PkceCodeVerifier};
use subtle::ConstantTimeEq;

/// `code_verifier = 43*128unreserved` (RFC 7636 §4.1).
pub(crate) fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len()) && verifier.bytes().all(is_unreserved)
}

/// An S256 challenge is the base64url (no padding) of a SHA-256 digest: 43 characters.
pub(crate) fn is_valid_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// `BASE64URL(SHA256(verifier))`, by oauth2-rs (the SPA makes its challenge with the same crate).
/// Panics, as oauth2-rs does, unless the verifier is 43 to 128 characters long.
pub fn s256_challenge(verifier: &str) -> String {
    PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.to_owned())).as_str().to_owned()
}

/// `BASE64URL(SHA256(verifier)) == challenge`, compared in constant time. A verifier of a length
/// RFC 7636 does not allow matches nothing.
pub(crate) fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    (43..=128).contains(&verifier.len()) && bool::from(s256_challenge(verifier).as_bytes().ct_eq(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636, Appendix B.
    const RFC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc_7636_appendix_b_vector() {
        assert_eq!(s256_challenge(RFC_VERIFIER), RFC_CHALLENGE);
        assert!(verifier_matches(RFC_VERIFIER, RFC_CHALLENGE));
        assert!(!verifier_matches(&RFC_VERIFIER.replace('d', "e"), RFC_CHALLENGE));
    }

    #[test]
    fn verifier_charset_and_length_follow_rfc_7636() {
        assert!(is_valid_verifier(RFC_VERIFIER));
        assert!(is_valid_verifier(&"a~._-".repeat(9)[..43]));
        assert!(is_valid_verifier(&"a".repeat(128)));
        assert!(!is_valid_verifier(&"a".repeat(42)));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        assert!(!is_valid_verifier(&format!("{}+", "a".repeat(42))));
        assert!(!is_valid_verifier(&format!("{}é", "a".repeat(42))));
    }

    #[test]
    fn challenge_shape() {
        assert!(is_valid_s256_challenge(RFC_CHALLENGE));
        assert!(!is_valid_s256_challenge(&RFC_CHALLENGE[..42]));
        assert!(!is_valid_s256_challenge(&format!("{}=", &RFC_CHALLENGE[..42])));
    }
}
