//! What can go wrong talking to the server (`api`) or the browser (`browser`), as plain values that
//! `messages` words without importing either.

use connections_wire::Problem;

use crate::endpoints::BadSegment;

#[derive(Clone, Debug, PartialEq)]
pub enum ApiError {
    /// The server answered with problem+json (boxed: a refused key's carries its tables).
    Problem(Box<Problem>),
    /// No answer at all.
    Network,
    /// An answer that is neither the expected JSON nor a problem.
    UnexpectedResponse(u16),
    /// The host's session token function failed or gave no token.
    SessionToken,
    /// An id that cannot be a path segment (empty, `.` or `..`): nothing was sent.
    BadId,
}

impl From<BadSegment> for ApiError {
    fn from(_: BadSegment) -> Self {
        ApiError::BadId
    }
}

impl ApiError {
    pub fn code(&self) -> Option<connections_wire::ErrorCode> {
        match self {
            ApiError::Problem(problem) => Some(problem.code),
            _ => None,
        }
    }
}

/// What can go wrong in the browser before leaving for the provider; `messages::browser_error` words it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrowserError {
    StorageBlocked,
    StorageFailed,
    NoWindow,
    NavigationRefused,
}
