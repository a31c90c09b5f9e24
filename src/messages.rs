//! What the user reads when something goes wrong: one place, plain words, no jargon where avoidable.

use connections_wire::ErrorCode;

use crate::api::ApiError;
use crate::flow::{CallbackError, CallbackOutcome, FlowError};

pub const ADMIN_REQUIRED: &str = "Connections requires administrator permissions";
pub const CONNECTION_SUCCESSFUL: &str = "Connection successful!";
pub const PROVIDER_UNAVAILABLE: &str = "Stripe could not be reached, try again.";
pub const NOTHING_CONNECTED: &str = "Nothing was connected.";
pub const POPUP_BLOCKED: &str =
    "Your browser blocked the window Stripe opens in. Allow pop-ups for this site and press Connect again, or open Connections in a new tab.";
pub const POPUP_CLOSED: &str = "The Stripe window was closed before it opened. Nothing was connected.";
pub const POPUP_UNSUPPORTED: &str = "This browser can't connect from inside another page. Open Connections in a new tab.";

pub fn api_error(error: &ApiError) -> String {
    match error {
        ApiError::Network => "The Connections server could not be reached. Check your connection and try again.".into(),
        ApiError::SessionToken => "Your admin portal did not provide a session for Connections. Reload the page or sign in again.".into(),
        ApiError::UnexpectedResponse(status) => format!("The Connections server sent an unexpected answer (HTTP {status}). Try again."),
        ApiError::Problem(problem) => match problem.code {
            ErrorCode::Unauthenticated => "Your session has ended. Sign in again.".into(),
            ErrorCode::AdminRequired => format!("{ADMIN_REQUIRED}."),
            ErrorCode::InvalidRequest => format!("The request was not valid: {}", problem.detail),
            ErrorCode::CrossSiteRequest => "The request was refused because it did not come from this page.".into(),
            ErrorCode::UnknownProvider => "That data source is not available.".into(),
            ErrorCode::UnknownAttempt => {
                format!("This answer from Stripe does not match a connection you started here, or it was already used. {NOTHING_CONNECTED}")
            }
            ErrorCode::AttemptExpired => format!("The connection took longer than 10 minutes and expired. {NOTHING_CONNECTED}"),
            ErrorCode::PkceMismatch => format!("The connection could not be verified (PKCE check failed). {NOTHING_CONNECTED}"),
            ErrorCode::ProviderUnavailable => format!("{PROVIDER_UNAVAILABLE} {NOTHING_CONNECTED}"),
            ErrorCode::ProviderRejected => format!("Stripe did not accept the connection: {}. {NOTHING_CONNECTED}", problem.detail),
            ErrorCode::RateLimited => "Too many attempts. Wait a minute, then try again.".into(),
            ErrorCode::PayloadTooLarge | ErrorCode::InvalidSignature => "The request was not accepted.".into(),
            ErrorCode::NotFound | ErrorCode::MethodNotAllowed => "That could not be found.".into(),
            ErrorCode::Internal | ErrorCode::Unknown => "Something went wrong on our side. Try again.".into(),
        },
    }
}

pub fn callback_error(error: &CallbackError) -> String {
    match error {
        CallbackError::NothingToFinish => "There is no connection to finish on this page.".into(),
        CallbackError::MissingState | CallbackError::Malformed(_) => {
            format!("Stripe's answer was incomplete or malformed. {NOTHING_CONNECTED}")
        }
        CallbackError::NoPendingAttempt => format!(
            "This tab did not start a Stripe connection, or already finished it. {NOTHING_CONNECTED} \
             Start from Add a Data Source in this tab."
        ),
        CallbackError::StateMismatch => {
            format!("Stripe's answer does not belong to the connection started in this tab, so it was refused. {NOTHING_CONNECTED}")
        }
    }
}

pub fn flow_error(error: &FlowError) -> String {
    match error {
        FlowError::BadProviderUrl(_) => "The data source is misconfigured on the server.".into(),
        FlowError::UnregisteredReturnAddress(address) => format!(
            "This page's return address ({address}) is not registered with Stripe, so Stripe could not send you back here. \
             Ask your administrator to add it to CONNECTIONS_EMBED_URLS."
        ),
    }
}

/// The provider said no: the user cancelled, or the provider refused (`error=…`).
pub fn provider_refused(outcome: &CallbackOutcome) -> String {
    match outcome {
        CallbackOutcome::Failed { error, description } => format!(
            "Stripe could not complete the connection ({error}{}). {NOTHING_CONNECTED}",
            if description.is_empty() { String::new() } else { format!(": {description}") },
        ),
        _ => format!("You cancelled at Stripe, so {}", NOTHING_CONNECTED.to_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connections_wire::Problem;

    #[test]
    fn the_admin_message_is_the_documented_one() {
        let error = ApiError::Problem(Problem::new(ErrorCode::AdminRequired, 403, "t", "d"));
        assert_eq!(api_error(&error), "Connections requires administrator permissions.");
    }

    #[test]
    fn stripe_failures_say_try_again_and_that_nothing_was_stored() {
        let error = ApiError::Problem(Problem::new(ErrorCode::ProviderUnavailable, 502, "t", "timeout"));
        let text = api_error(&error);
        assert!(text.starts_with("Stripe could not be reached, try again."), "{text}");
        assert!(text.contains(NOTHING_CONNECTED));
    }

    #[test]
    fn every_callback_refusal_says_nothing_was_connected() {
        for error in [CallbackError::MissingState, CallbackError::NoPendingAttempt, CallbackError::StateMismatch] {
            assert!(callback_error(&error).contains(NOTHING_CONNECTED), "{error:?}");
        }
    }
}

