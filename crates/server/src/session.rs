//! Who is calling. The host portal signs a session token (HS256 JWT with `sub`, `name`, `role`, `exp`),
//! sent as the `connections_session` cookie or as `Authorization: Bearer`.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use connections_wire::Role;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::secret::Secret;
use crate::AppState;

pub const SESSION_COOKIE: &str = "connections_session";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub name: String,
    pub role: String,
    pub exp: i64,
}

pub struct SessionKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl SessionKeys {
    pub fn new(secret: &Secret<String>) -> Self {
        SessionKeys {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
        }
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, ApiError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding).map_err(ApiError::internal)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        // Only HS256: a token claiming `none` or another algorithm is refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp", "sub"]);
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation) {
            Ok(data) if !data.claims.sub.is_empty() => Ok(data.claims),
            Ok(_) => Err(ApiError::Unauthenticated("The session token has no subject.")),
            Err(error) => match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => Err(ApiError::Unauthenticated("Your session has expired. Sign in again.")),
                _ => Err(ApiError::Unauthenticated("The session token is not valid. Sign in again.")),
            },
        }
    }
}

/// The signed-in user, whatever their role.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub subject: String,
    pub name: String,
    pub role: Role,
}

fn token_from(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        if let Some(token) = value.strip_prefix("Bearer ") {
            return Some(token.trim().to_owned());
        }
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = token_from(parts).ok_or(ApiError::Unauthenticated("Sign in to continue."))?;
        let claims = state.sessions.verify(&token)?;
        Ok(CurrentUser { subject: claims.sub, name: claims.name, role: Role::from_claim(&claims.role) })
    }
}

/// A signed-in administrator; anyone else is refused with 403.
#[derive(Debug, Clone)]
pub struct Admin(pub CurrentUser);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        match user.role {
            Role::Admin => Ok(Admin(user)),
            Role::Viewer => Err(ApiError::AdminRequired),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> SessionKeys {
        SessionKeys::new(&Secret::new("k".repeat(32)))
    }

    fn claims(exp_offset: i64) -> Claims {
        Claims { sub: "u1".into(), name: "Ada".into(), role: "admin".into(), exp: chrono::Utc::now().timestamp() + exp_offset }
    }

    #[test]
    fn a_token_signed_with_the_secret_verifies() {
        let token = keys().sign(&claims(600)).unwrap();
        assert_eq!(keys().verify(&token).unwrap().sub, "u1");
    }

    #[test]
    fn expired_tampered_and_foreign_tokens_are_refused() {
        let expired = keys().sign(&claims(-3600)).unwrap();
        assert!(matches!(keys().verify(&expired), Err(ApiError::Unauthenticated(m)) if m.contains("expired")));
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
