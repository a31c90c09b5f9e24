//! Who is calling, and for which workspace. The host portal signs a session token (a JWT with `sub`,
//! `name`, `role`, `org`, `aud`, `exp`, optionally `iss` and `nbf`), sent as the session cookie or as
//! `Authorization: Bearer`. HS256 with a shared secret, or RS256/EdDSA checked with the portal's
//! public key, so that Connections can verify sessions without being able to mint them.

use connections_wire::Role;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// The cookie's name over http (the demo, localhost).
pub(crate) const SESSION_COOKIE: &str = "connections_session";
/// Over https: the `__Host-` prefix makes browsers refuse it unless Secure, Path=/ and without a
/// Domain, so a sibling subdomain cannot plant one (cookie tossing).
pub(crate) const SECURE_SESSION_COOKIE: &str = "__Host-connections_session";
/// The audience tokens are checked for unless `CONNECTIONS_SESSION_AUDIENCE` says otherwise.
pub(crate) const DEFAULT_AUDIENCE: &str = "connections";
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;

/// Why a session token was not accepted (or could not be made), in words the signed-in person can act on.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// Sessions are verified with a public key here: nothing can be signed.
    #[error("sessions are verified with a public key here; they cannot be signed")]
    CannotSign,
    #[error("the session token could not be signed: {0}")]
    Signing(jsonwebtoken::errors::Error),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub name: String,
    pub role: String,
    /// The workspace (the company using the BI product) the session acts for.
    pub org: String,
    /// The workspace's display name, if the portal sends one (a connect link's page shows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_name: Option<String>,
    pub aud: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

impl Claims {
    /// Claims for the default audience, valid for `secs`.
    pub fn new(sub: &str, name: &str, role: &str, org: &str, secs: i64) -> Self {
        Claims {
            sub: sub.into(),
            name: name.into(),
            role: role.into(),
            org: org.into(),
            org_name: None,
            aud: DEFAULT_AUDIENCE.into(),
            exp: chrono::Utc::now().timestamp() + secs,
            iss: None,
            nbf: None,
        }
    }
}

/// `org`: 1 to 128 characters of `[A-Za-z0-9._:-]`.
pub(crate) fn is_workspace_id(org: &str) -> bool {
    (1..=128).contains(&org.len()) && org.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// How session tokens are checked (and, with a shared secret, minted: the demo and tests).
pub struct SessionKeys {
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
    /// What a token must satisfy, built once: it is the same for every request.
    validation: Validation,
    /// Tokens whose signature and claims were checked, by the whole token. A client sends the same
    /// token with every request and the keys never change while the process runs, so checking it
    /// again could only give the same answer; the expiry is still checked on every use.
    verified: std::sync::Mutex<std::collections::HashMap<String, Claims>>,
}

/// Verified tokens kept at most; the memory is emptied when it is full (each is checked again).
const VERIFIED_KEPT: usize = 4096;

/// The portal's public key, for tokens Connections checks but cannot mint.
#[derive(Clone, Debug)]
pub(crate) enum PublicKey {
    Rsa(Vec<u8>),
    Ed(Vec<u8>),
}

impl SessionKeys {
    /// HS256 with the shared secret, the default audience and no issuer.
    pub fn new(secret: &Secret<String>) -> Self {
        SessionKeys {
            encoding: Some(EncodingKey::from_secret(secret.expose().as_bytes())),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation: validation(Algorithm::HS256, DEFAULT_AUDIENCE, None),
            verified: Default::default(),
        }
    }

    /// Verification with the portal's public key (RS256 or EdDSA, from PEM); nothing can be signed.
    pub(crate) fn with_public_key(key: &PublicKey) -> Result<Self, jsonwebtoken::errors::Error> {
        let (decoding, algorithm) = match key {
            PublicKey::Rsa(pem) => (DecodingKey::from_rsa_pem(pem)?, Algorithm::RS256),
            PublicKey::Ed(pem) => (DecodingKey::from_ed_pem(pem)?, Algorithm::EdDSA),
        };
        Ok(SessionKeys { encoding: None, decoding, validation: validation(algorithm, DEFAULT_AUDIENCE, None), verified: Default::default() })
    }

    pub(crate) fn for_audience(mut self, audience: &str, issuer: Option<&str>) -> Self {
        self.validation = validation(self.validation.algorithms[0], audience, issuer);
        // Checked against other rules: nothing verified before counts.
        self.verified.get_mut().expect("verified lock poisoned").clear();
        self
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, SessionError> {
        let encoding = self.encoding.as_ref().ok_or(SessionError::CannotSign)?;
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, encoding).map_err(SessionError::Signing)
    }

    pub(crate) fn verify(&self, token: &str) -> Result<Claims, SessionError> {
        let now = jsonwebtoken::get_current_timestamp() as i64;
        let known = self.verified.lock().expect("verified lock poisoned").get(token).cloned();
        // `nbf` was checked when the token was verified: it was already valid then, so still is.
        // Expired, it goes through the whole check again, which names the error.
        if let Some(claims) = known.filter(|claims| claims.exp >= now - LEEWAY_SECS as i64) {
            return Ok(claims);
        }
        let claims = self.verify_signed(token)?;
        let mut verified = self.verified.lock().expect("verified lock poisoned");
        if verified.len() >= VERIFIED_KEPT {
            verified.clear();
        }
        verified.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }

    fn verify_signed(&self, token: &str) -> Result<Claims, SessionError> {
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation) {
            Ok(data) if data.claims.sub.is_empty() => Err(SessionError::Unauthenticated("The session token has no subject.")),
            Ok(data) if !is_workspace_id(&data.claims.org) => Err(SessionError::Unauthenticated("The session token names no valid workspace (org).")),
            Ok(data) => Ok(data.claims),
            Err(error) => match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => Err(SessionError::Unauthenticated("Your session has expired. Sign in again.")),
                jsonwebtoken::errors::ErrorKind::ImmatureSignature => Err(SessionError::Unauthenticated("The session token is not valid yet.")),
                jsonwebtoken::errors::ErrorKind::Json(_) | jsonwebtoken::errors::ErrorKind::MissingRequiredClaim(_) => {
                    Err(SessionError::Unauthenticated("The session token lacks a required claim (sub, org, aud, exp). Sign in again."))
                }
                _ => Err(SessionError::Unauthenticated("The session token is not valid. Sign in again.")),
            },
        }
    }
}

/// Only `algorithm`: a token claiming `none` or another algorithm is refused.
fn validation(algorithm: Algorithm, audience: &str, issuer: Option<&str>) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.algorithms = vec![algorithm];
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "sub", "aud"]);
    if let Some(issuer) = issuer {
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "sub", "aud", "iss"]);
    }
    validation
}

/// The signed-in user, whatever their role, and the workspace they act for.
#[derive(Debug, Clone)]
pub(crate) struct CurrentUser {
    pub subject: String,
    pub name: String,
    pub role: Role,
    pub workspace: String,
    /// The workspace's display name, when the session carries one.
    pub workspace_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> SessionKeys {
        SessionKeys::new(&Secret::new("k".repeat(32)))
    }

    fn claims(exp_offset: i64) -> Claims {
        Claims::new("u1", "Ada", "admin", "acme", exp_offset)
    }

    #[test]
    fn audience_issuer_not_before_and_workspace_are_checked() {
        let wrong_audience = Claims { aud: "other".into(), ..claims(600) };
        assert!(keys().verify(&keys().sign(&wrong_audience).unwrap()).is_err());
        let future = Claims { nbf: Some(chrono::Utc::now().timestamp() + 3600), ..claims(600) };
        assert!(matches!(keys().verify(&keys().sign(&future).unwrap()), Err(SessionError::Unauthenticated(m)) if m.contains("not valid yet")));
        let skewed = Claims { nbf: Some(chrono::Utc::now().timestamp() + 10), ..claims(600) };
        assert!(keys().verify(&keys().sign(&skewed).unwrap()).is_ok(), "a small clock skew is tolerated");
        for org in ["", "a b", "<x>", &"o".repeat(129)] {
            let bad = Claims { org: org.into(), ..claims(600) };
            assert!(keys().verify(&keys().sign(&bad).unwrap()).is_err(), "{org:?}");
        }
        let issuer_keys = keys().for_audience("connections", Some("https://portal.example.com"));
        assert!(issuer_keys.verify(&keys().sign(&claims(600)).unwrap()).is_err(), "no iss");
        let issued = Claims { iss: Some("https://portal.example.com".into()), ..claims(600) };
        assert!(issuer_keys.verify(&keys().sign(&issued).unwrap()).is_ok());
        // A token without `org` at all is refused.
        let header = jsonwebtoken::Header::new(Algorithm::HS256);
        let no_org = serde_json::json!({ "sub": "u1", "name": "Ada", "role": "admin", "aud": "connections", "exp": chrono::Utc::now().timestamp() + 600 });
        let token = jsonwebtoken::encode(&header, &no_org, &EncodingKey::from_secret("k".repeat(32).as_bytes())).unwrap();
        assert!(keys().verify(&token).is_err());
    }

    #[test]
    fn a_verified_token_is_known_until_it_expires_and_only_that_exact_token() {
        let keys = keys();
        let token = keys.sign(&claims(600)).unwrap();
        assert_eq!(keys.verify(&token).unwrap().sub, "u1");
        assert_eq!(keys.verify(&token).unwrap().sub, "u1", "known now");
        // Another signature on the same claims is a token never verified: checked, and refused.
        let mut forged = token.clone();
        forged.replace_range(forged.len() - 2.., if token.ends_with("AA") { "BB" } else { "AA" });
        assert!(keys.verify(&forged).is_err());
        // A token verified while it was valid and past its expiry (and the leeway) since is refused
        // like any expired one.
        let lapsed = Claims { exp: chrono::Utc::now().timestamp() - LEEWAY_SECS as i64 - 1, ..claims(0) };
        let token = keys.sign(&lapsed).unwrap();
        keys.verified.lock().unwrap().insert(token.clone(), lapsed);
        assert!(matches!(keys.verify(&token), Err(SessionError::Unauthenticated(m)) if m.contains("expired")));
        assert!(!keys.verified.lock().unwrap().is_empty(), "the valid one stays known");
    }

    #[test]
    fn a_public_key_verifies_rs256_tokens() {
        // A 2048-bit RSA key pair made with `openssl genrsa` for the tests.
        let private = include_bytes!("../tests/fixtures/session-rsa-private.pem");
        let public = include_bytes!("../tests/fixtures/session-rsa-public.pem");
        let verifier = SessionKeys::with_public_key(&PublicKey::Rsa(public.to_vec())).unwrap();
        let token = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims(600), &EncodingKey::from_rsa_pem(private).unwrap()).unwrap();
        assert_eq!(verifier.verify(&token).unwrap().sub, "u1");
        let hs = keys().sign(&claims(600)).unwrap();
        assert!(verifier.verify(&hs).is_err(), "an HS256 token is refused where RS256 is configured");
    }

    #[test]
    fn a_public_key_verifies_eddsa_tokens_it_cannot_sign() {
        // An Ed25519 key pair (PKCS#8 / SPKI PEM) made with `openssl genpkey -algorithm ed25519` for this test.
        let private = b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIFuit9XO5RwJGx44BAXiQyEKmE9m7woDjl+SrAm7Lycu\n-----END PRIVATE KEY-----\n";
        let public = b"-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAa7bOFRMDZd265qi2UplrJTmBHYZF/+nN6yFxfo0EbPM=\n-----END PUBLIC KEY-----\n";
        let verifier = SessionKeys::with_public_key(&PublicKey::Ed(public.to_vec())).unwrap();
        let token = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims(600), &EncodingKey::from_ed_pem(private).unwrap()).unwrap();
        assert_eq!(verifier.verify(&token).unwrap().org, "acme");
        assert!(verifier.sign(&claims(600)).is_err(), "a public key cannot mint sessions");
        let hs = keys().sign(&claims(600)).unwrap();
        assert!(verifier.verify(&hs).is_err(), "an HS256 token is refused where EdDSA is configured");
    }

    #[test]
    fn a_token_signed_with_the_secret_verifies() {
        let token = keys().sign(&claims(600)).unwrap();
        assert_eq!(keys().verify(&token).unwrap().sub, "u1");
    }

    #[test]
    fn expired_tampered_and_foreign_tokens_are_refused() {
        let expired = keys().sign(&claims(-3600)).unwrap();
        assert!(matches!(keys().verify(&expired), Err(SessionError::Unauthenticated(m)) if m.contains("expired")));
        let foreign = SessionKeys::new(&Secret::new("x".repeat(32))).sign(&claims(600)).unwrap();
        assert!(keys().verify(&foreign).is_err());
        let mut tampered = keys().sign(&claims(600)).unwrap();
        tampered.insert(tampered.len() / 2, 'A');
        assert!(keys().verify(&tampered).is_err());
        // An unsigned token (`alg: none`) must never pass.
        let unsigned = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1MSIsIm5hbWUiOiJBZGEiLCJyb2xlIjoiYWRtaW4iLCJleHAiOjQxMDI0NDQ4MDB9.";
        assert!(keys().verify(unsigned).is_err());
    }
}
