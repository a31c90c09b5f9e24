//! The one error type of the API. Every failure leaves as RFC 9457 problem+json with a stable code.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use connections_wire::{ErrorCode, Problem, PROBLEM_CONTENT_TYPE};

use crate::services::connect::ConnectError;
use crate::services::keys::KeyError;
use crate::services::lifecycle::LifecycleError;
use crate::services::tokens::TokenError;
use crate::session::SessionError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("Connections requires administrator permissions")]
    AdminRequired,
    #[error("{0}")]
    InvalidRequest(String),
    #[error("cross-site request refused")]
    CrossSite,
    #[error("unknown provider {0:?}")]
    UnknownProvider(String),
    #[error("{0}")]
    UnknownAttempt(&'static str),
    #[error("the connection attempt expired")]
    AttemptExpired,
    #[error("the PKCE code verifier does not match the challenge registered for this attempt")]
    PkceMismatch,
    /// The provider (or the network to it) failed; nothing changed. `reason` is in our own words.
    #[error("{provider} could not be reached ({reason}); nothing was changed, try again")]
    ProviderUnavailable { provider: String, reason: String },
    /// The provider answered and refused. Only its error code is repeated: its own description
    /// stays in the server log (a provider's text is not ours to show).
    #[error("{provider} did not accept the request ({error})")]
    ProviderRejected { provider: String, error: String },
    /// The connection's access lapsed at the provider; an administrator must connect it again.
    #[error("{provider} no longer accepts this connection's access; reauthenticate it")]
    ReauthenticationRequired { provider: String },
    #[error("this connection was revoked at {provider}: it holds no access; an administrator must connect it again")]
    ConnectionRevoked { provider: String },
    #[error("this connection was disconnected: it holds no access; an administrator must connect it again")]
    ConnectionDisconnected,
    #[error("the service API takes server-to-server requests only: no cookie, Origin or Sec-Fetch-Site header")]
    BrowserContext,
    #[error(
        "this connection's stored tokens cannot be decrypted (their key is no longer in CONNECTIONS_ENCRYPTION_KEY), so its access cannot be withdrawn at {provider}; nothing was changed. Put the key back and disconnect again, or remove it here only (disconnect with remove_locally=true) and remove the app in {provider}"
    )]
    TokensUnreadable { provider: String },
    #[error("not found")]
    NotFound,
    #[error("this route does not take that method")]
    MethodNotAllowed,
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("too many requests; try again in {0} seconds")]
    RateLimited(u64),
    /// A connect link that expired, or a token no link has (not told apart).
    #[error("This link has expired. Ask whoever sent it for a new one.")]
    LinkExpired,
    #[error("This link was already used to connect an account. Ask whoever sent it for a new one if you need to connect again.")]
    LinkUsed,
    #[error("This link was revoked by an administrator. Ask whoever sent it for a new one.")]
    LinkRevoked,
    #[error("{provider} signed in to another account than the one this link reconnects; nothing was changed. Sign in to that account and try again.")]
    LinkWrongAccount { provider: String },
    #[error("webhook signature refused: {0}")]
    InvalidSignature(String),
    /// A connection's mode has no client in the configuration (any more): nothing was asked.
    #[error("{0}")]
    ModeNotConfigured(String),
    /// A grant in another mode would replace a live connection.
    #[error("{0}")]
    ModeChange(String),
    /// A pasted key refused, or reading none of the data: nothing stored.
    #[error("{detail}")]
    KeyRefused { detail: String, tables: Vec<connections_wire::TableCheck> },
    /// Details go to the log, never to the client.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub(crate) fn internal(error: impl std::fmt::Display) -> Self {
        ApiError::Internal(error.to_string())
    }

    fn parts(&self) -> (StatusCode, ErrorCode, String) {
        use ApiError::*;
        let (status, code, title) = match self {
            Unauthenticated(_) => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated, "Sign in required"),
            AdminRequired => (StatusCode::FORBIDDEN, ErrorCode::AdminRequired, "Administrator permissions required"),
            InvalidRequest(_) => (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, "Invalid request"),
            CrossSite => (StatusCode::FORBIDDEN, ErrorCode::CrossSiteRequest, "Cross-site request refused"),
            UnknownProvider(_) => (StatusCode::NOT_FOUND, ErrorCode::UnknownProvider, "Unknown data source"),
            UnknownAttempt(_) => (StatusCode::BAD_REQUEST, ErrorCode::UnknownAttempt, "No matching connection attempt"),
            AttemptExpired => (StatusCode::BAD_REQUEST, ErrorCode::AttemptExpired, "Connection attempt expired"),
            PkceMismatch => (StatusCode::BAD_REQUEST, ErrorCode::PkceMismatch, "PKCE verification failed"),
            ProviderUnavailable { provider, .. } => {
                return (StatusCode::BAD_GATEWAY, ErrorCode::ProviderUnavailable, format!("{provider} could not be reached"))
            }
            ProviderRejected { provider, .. } => return (StatusCode::BAD_GATEWAY, ErrorCode::ProviderRejected, format!("{provider} refused the connection")),
            ReauthenticationRequired { .. } => (StatusCode::CONFLICT, ErrorCode::ReauthenticationRequired, "Reauthentication required"),
            ConnectionRevoked { .. } => (StatusCode::CONFLICT, ErrorCode::ConnectionRevoked, "Connection revoked"),
            ConnectionDisconnected => (StatusCode::CONFLICT, ErrorCode::ConnectionDisconnected, "Connection disconnected"),
            BrowserContext => (StatusCode::FORBIDDEN, ErrorCode::BrowserContext, "Not for browsers"),
            TokensUnreadable { .. } => (StatusCode::CONFLICT, ErrorCode::InvalidRequest, "Stored tokens cannot be decrypted"),
            NotFound => (StatusCode::NOT_FOUND, ErrorCode::NotFound, "Not found"),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed, "Method not allowed"),
            PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge, "Request too large"),
            RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, "Too many requests"),
            InvalidSignature(_) => (StatusCode::BAD_REQUEST, ErrorCode::InvalidSignature, "Invalid signature"),
            // Its words are what to do: shown as they are (the SPA shows `invalid_request`'s detail).
            ModeNotConfigured(_) => (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::InvalidRequest, "Mode not configured"),
            ModeChange(_) => (StatusCode::CONFLICT, ErrorCode::InvalidRequest, "Connected in another mode"),
            KeyRefused { .. } => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::KeyRefused, "Key refused"),
            LinkExpired => (StatusCode::GONE, ErrorCode::LinkExpired, "Link expired"),
            LinkUsed => (StatusCode::GONE, ErrorCode::LinkUsed, "Link already used"),
            LinkRevoked => (StatusCode::GONE, ErrorCode::LinkRevoked, "Link revoked"),
            LinkWrongAccount { .. } => (StatusCode::CONFLICT, ErrorCode::LinkWrongAccount, "Another account"),
            Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, "Internal error"),
        };
        (status, code, title.to_owned())
    }

    pub(crate) fn problem(&self) -> Problem {
        let (status, code, title) = self.parts();
        let detail = match self {
            ApiError::Internal(_) => "Something went wrong on our side. Nothing was changed.".to_owned(),
            other => other.to_string(),
        };
        let mut problem = Problem::new(code, status.as_u16(), title, detail);
        if let ApiError::KeyRefused { tables, .. } = self {
            problem.tables = tables.clone();
        }
        problem
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let mut problem = self.problem();
        problem.request_id = crate::observability::request_id();
        let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, [(header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE)], body).into_response();
        if let ApiError::RateLimited(seconds) = self {
            response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(crate::app::MAX_BODY_BYTES)
        } else {
            ApiError::InvalidRequest(rejection.body_text())
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::InvalidRequest(rejection.body_text())
    }
}

/// Provider failures, once, where the answer is made: the cause chain goes to the log, our own words
/// to the client.
impl From<crate::providers::ProviderError> for ApiError {
    fn from(error: crate::providers::ProviderError) -> Self {
        use crate::providers::ProviderError::*;
        crate::observability::log_chain(&error);
        match error {
            Unavailable { provider, reason, .. } => ApiError::ProviderUnavailable { provider, reason },
            Malformed { provider, .. } => ApiError::ProviderUnavailable { provider, reason: "its answer could not be read".into() },
            // Refused here, before any call: the configuration's business, in its words.
            Rejected { error, description, .. } if error == crate::providers::MODE_NOT_CONFIGURED => ApiError::ModeNotConfigured(description),
            Rejected { provider, error, .. } | PermissionMissing { provider, error, .. } => ApiError::ProviderRejected { provider, error },
            TokenRefused { provider } => ApiError::ReauthenticationRequired { provider },
        }
    }
}

// The services' errors, in the API's words: the services themselves know nothing of HTTP.
impl From<ConnectError> for ApiError {
    fn from(error: ConnectError) -> Self {
        match error {
            ConnectError::Invalid(message) => ApiError::InvalidRequest(message.into()),
            ConnectError::UnregisteredReturnAddress | ConnectError::Mode(_) => ApiError::InvalidRequest(error.to_string()),
            ConnectError::UnknownAttempt => ApiError::UnknownAttempt("No connection attempt of yours matches this response from the data source."),
            ConnectError::AttemptUsed => ApiError::UnknownAttempt("This connection attempt was already used."),
            ConnectError::UnknownInstall => {
                ApiError::UnknownAttempt("No pending install of yours has this id; it may have expired (10 minutes) or been answered already.")
            }
            ConnectError::AttemptExpired => ApiError::AttemptExpired,
            ConnectError::PkceMismatch => ApiError::PkceMismatch,
            ConnectError::AccountMismatch { provider } => {
                ApiError::ProviderUnavailable { provider, reason: "it returned a different account than it authorized".into() }
            }
            ConnectError::LinkClosed(state) => match state {
                crate::storage::LinkState::Used => ApiError::LinkUsed,
                crate::storage::LinkState::Revoked => ApiError::LinkRevoked,
                crate::storage::LinkState::Expired | crate::storage::LinkState::Open => ApiError::LinkExpired,
            },
            ConnectError::LinkWrongAccount { provider } => ApiError::LinkWrongAccount { provider },
            ConnectError::ModeChange { .. } => ApiError::ModeChange(error.to_string()),
            ConnectError::Provider(error) => error.into(),
            ConnectError::Database(error) => error.into(),
        }
    }
}

impl From<KeyError> for ApiError {
    fn from(error: KeyError) -> Self {
        match error {
            KeyError::Invalid(message) => ApiError::InvalidRequest(message.into()),
            KeyError::Refused { detail, tables } => ApiError::KeyRefused { detail, tables },
            KeyError::Provider(error) => error.into(),
            KeyError::Link(error) => error.into(),
            KeyError::Database(error) => error.into(),
        }
    }
}

impl From<crate::services::links::LinkError> for ApiError {
    fn from(error: crate::services::links::LinkError) -> Self {
        use crate::services::links::LinkError;
        match error {
            LinkError::Invalid(message) => ApiError::InvalidRequest(message),
            LinkError::UnknownProvider(provider) => ApiError::UnknownProvider(provider),
            LinkError::NotFound => ApiError::NotFound,
            LinkError::Connect(error) => error.into(),
            LinkError::Database(error) => error.into(),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::NoTokens => ApiError::InvalidRequest("this connection holds no access; connect it again".into()),
            TokenError::ReauthenticationRequired { provider } => ApiError::ReauthenticationRequired { provider },
            TokenError::Provider(error) => error.into(),
            TokenError::Busy => ApiError::ProviderUnavailable { provider: "The data source".into(), reason: "a renewal is still under way".into() },
            TokenError::Undecryptable(error) => ApiError::internal(format!("stored token: {error}")),
            TokenError::Database(error) => error.into(),
        }
    }
}

impl From<LifecycleError> for ApiError {
    fn from(error: LifecycleError) -> Self {
        match error {
            LifecycleError::Token(error) => error.into(),
            LifecycleError::Provider(error) => error.into(),
            LifecycleError::Gone => ApiError::NotFound,
            LifecycleError::UnreadableTokens { provider } => ApiError::TokensUnreadable { provider },
            LifecycleError::Undecryptable | LifecycleError::KeptChanging => ApiError::internal(error),
            LifecycleError::Database(error) => error.into(),
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::Unauthenticated(message) => ApiError::Unauthenticated(message),
            SessionError::CannotSign | SessionError::Signing(_) => ApiError::internal(error),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ApiError::internal(format!("database: {error}"))
    }
}

/// `axum::Json`, but a malformed body answers problem+json instead of plain text.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(crate) struct ApiJson<T>(pub T);
