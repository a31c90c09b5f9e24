//! What the user reads when something goes wrong: one place, plain words, no jargon where avoidable.
//! The texts are in `locales/*.json`; here they are put together for the mount's locale.

use connections_wire::ErrorCode;

use crate::api::ApiError;
use crate::browser::BrowserError;
use crate::flow::{CallbackError, CallbackOutcome, FlowError};
use crate::i18n::{td_string, Locale};

pub fn admin_required(locale: Locale) -> &'static str {
    td_string!(locale, messages.admin_required)
}

pub fn connection_successful(locale: Locale) -> &'static str {
    td_string!(locale, messages.connection_successful)
}

/// Ends every message about a connection that failed, in every language.
pub fn nothing_connected(locale: Locale) -> &'static str {
    td_string!(locale, messages.nothing_connected)
}

/// A failure in sentences, then "Nothing was connected."
fn and_nothing_connected(locale: Locale, failure: impl std::fmt::Display) -> String {
    format!("{failure} {}", nothing_connected(locale))
}

pub fn api_error(locale: Locale, error: &ApiError) -> String {
    match error {
        ApiError::Network => td_string!(locale, messages.network).into(),
        ApiError::UnexpectedResponse(status) => td_string!(locale, messages.unexpected_response, status = *status).to_string(),
        ApiError::SessionToken => td_string!(locale, messages.session_token).into(),
        ApiError::Problem(problem) => match problem.code {
            ErrorCode::Unauthenticated => td_string!(locale, messages.unauthenticated).into(),
            ErrorCode::AdminRequired => format!("{}.", admin_required(locale)),
            ErrorCode::InvalidRequest => td_string!(locale, messages.invalid_request, detail = &problem.detail).to_string(),
            ErrorCode::CrossSiteRequest => td_string!(locale, messages.cross_site_request).into(),
            ErrorCode::UnknownProvider => td_string!(locale, messages.unknown_provider).into(),
            ErrorCode::UnknownAttempt => and_nothing_connected(locale, td_string!(locale, messages.unknown_attempt)),
            ErrorCode::AttemptExpired => and_nothing_connected(locale, td_string!(locale, messages.attempt_expired)),
            ErrorCode::PkceMismatch => and_nothing_connected(locale, td_string!(locale, messages.pkce_mismatch)),
            ErrorCode::ProviderUnavailable => and_nothing_connected(locale, td_string!(locale, messages.provider_unavailable)),
            ErrorCode::ProviderRejected => {
                and_nothing_connected(locale, td_string!(locale, messages.provider_rejected, detail = &problem.detail))
            }
            ErrorCode::RateLimited => td_string!(locale, messages.rate_limited).into(),
            ErrorCode::PayloadTooLarge | ErrorCode::InvalidSignature => td_string!(locale, messages.not_accepted).into(),
            ErrorCode::NotFound | ErrorCode::MethodNotAllowed => td_string!(locale, messages.not_found).into(),
            ErrorCode::Internal | ErrorCode::Unknown => td_string!(locale, messages.internal).into(),
        },
    }
}

pub fn callback_error(locale: Locale, error: &CallbackError) -> String {
    match error {
        CallbackError::NothingToFinish => td_string!(locale, messages.nothing_to_finish).into(),
        CallbackError::MissingState | CallbackError::Malformed(_) => {
            and_nothing_connected(locale, td_string!(locale, messages.malformed_callback))
        }
        CallbackError::NoPendingAttempt => format!(
            "{} {}",
            and_nothing_connected(locale, td_string!(locale, messages.no_pending_attempt)),
            td_string!(locale, messages.start_from_gallery)
        ),
        CallbackError::StateMismatch => and_nothing_connected(locale, td_string!(locale, messages.state_mismatch)),
    }
}

/// Stripe sent the user back with an error instead of a code (`error`, optional `error_description`).
pub fn provider_failed(locale: Locale, error: &str, description: &str) -> String {
    if description.is_empty() {
        and_nothing_connected(locale, td_string!(locale, messages.stripe_failed, error))
    } else {
        and_nothing_connected(locale, td_string!(locale, messages.stripe_failed_described, error, description))
    }
}

pub fn browser_error(locale: Locale, error: BrowserError) -> String {
    match error {
        BrowserError::StorageBlocked => td_string!(locale, messages.storage_blocked),
        BrowserError::StorageFailed => td_string!(locale, messages.storage_failed),
        BrowserError::NoWindow => td_string!(locale, messages.no_window),
        BrowserError::NavigationRefused => td_string!(locale, messages.navigation_refused),
    }
    .into()
}

/// The provider said no: the user cancelled (`access_denied`), or it refused with another error.
pub fn provider_refused(locale: Locale, outcome: &CallbackOutcome) -> String {
    match outcome {
        CallbackOutcome::Failed { error, description } => provider_failed(locale, error, description),
        _ => td_string!(locale, messages.cancelled_at_stripe).into(),
    }
}

pub fn flow_error(locale: Locale, error: &FlowError) -> String {
    match error {
        FlowError::BadProviderUrl(_) => td_string!(locale, messages.misconfigured).into(),
        FlowError::UnregisteredReturnAddress(address) => td_string!(locale, messages.unregistered_return_address, address).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::I18nLocaleTrait;
    use connections_wire::Problem;

    #[test]
    fn the_english_texts_are_the_ones_the_tests_and_docs_quote() {
        assert_eq!(connection_successful(Locale::en), "Connection successful!");
        assert_eq!(
            callback_error(Locale::en, &CallbackError::NoPendingAttempt),
            "This tab did not start a Stripe connection, or already finished it. Nothing was connected. \
             Start from Add a Data Source in this tab."
        );
        assert_eq!(
            provider_failed(Locale::en, "invalid_scope", "<b>bad</b>"),
            "Stripe could not complete the connection (invalid_scope: <b>bad</b>). Nothing was connected."
        );
        assert_eq!(provider_failed(Locale::en, "server_error", ""), "Stripe could not complete the connection (server_error). Nothing was connected.");
        let rejected = ApiError::Problem(Problem::new(ErrorCode::ProviderRejected, 502, "t", "invalid_grant"));
        assert_eq!(api_error(Locale::en, &rejected), "Stripe did not accept the connection: invalid_grant. Nothing was connected.");
        assert_eq!(
            api_error(Locale::en, &ApiError::UnexpectedResponse(502)),
            "The Connections server sent an unexpected answer (HTTP 502). Try again."
        );
    }

    #[test]
    fn the_admin_message_is_the_documented_one() {
        let error = ApiError::Problem(Problem::new(ErrorCode::AdminRequired, 403, "t", "d"));
        assert_eq!(api_error(Locale::en, &error), "Connections requires administrator permissions.");
        assert_eq!(api_error(Locale::de, &error), "Für Verbindungen sind Administratorrechte erforderlich.");
    }

    #[test]
    fn stripe_failures_say_try_again_and_that_nothing_was_stored() {
        let error = ApiError::Problem(Problem::new(ErrorCode::ProviderUnavailable, 502, "t", "timeout"));
        let text = api_error(Locale::en, &error);
        assert_eq!(text, "Stripe could not be reached, try again. Nothing was connected.");
        for locale in Locale::get_all() {
            assert!(api_error(*locale, &error).ends_with(nothing_connected(*locale)), "{locale}");
        }
    }

    #[test]
    fn every_callback_refusal_says_nothing_was_connected() {
        for locale in Locale::get_all() {
            for error in [CallbackError::MissingState, CallbackError::NoPendingAttempt, CallbackError::StateMismatch] {
                assert!(callback_error(*locale, &error).contains(nothing_connected(*locale)), "{locale} {error:?}");
            }
            assert!(provider_failed(*locale, "access_denied", "").ends_with(nothing_connected(*locale)), "{locale}");
        }
    }
}

