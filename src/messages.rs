//! What the user reads when something goes wrong: one place, plain words, no jargon where avoidable.
//! The texts are in `locales/*.json`; here they are put together for the mount's locale.

use connections_wire::{ConnectionStatus, ErrorCode};

use crate::errors::{ApiError, BrowserError};
use crate::flow::{CallbackError, CallbackOutcome, FlowError, Unfinished};
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

/// An API failure on a call that involves no provider (the session, the lists, a connection's page).
pub fn api_error(locale: Locale, error: &ApiError) -> String {
    words(locale, error, None)
}

/// An API failure on a call to or about a provider (`provider` is its display name).
pub fn provider_api_error(locale: Locale, error: &ApiError, provider: &str) -> String {
    words(locale, error, Some(provider))
}

fn words(locale: Locale, error: &ApiError, provider: Option<&str>) -> String {
    let problem = match error {
        ApiError::Network => return td_string!(locale, messages.network).into(),
        ApiError::UnexpectedResponse(status) => return td_string!(locale, messages.unexpected_response, status = *status).to_string(),
        ApiError::SessionToken => return td_string!(locale, messages.session_token).into(),
        // An id that cannot be a path segment names nothing the server has.
        ApiError::BadId => return td_string!(locale, messages.not_found).into(),
        ApiError::Problem(problem) => problem,
    };
    match (problem.code, provider) {
        (ErrorCode::Unauthenticated, _) => td_string!(locale, messages.unauthenticated).into(),
        (ErrorCode::AdminRequired, _) => format!("{}.", admin_required(locale)),
        (ErrorCode::InvalidRequest, _) => td_string!(locale, messages.invalid_request, detail = &problem.detail).to_string(),
        (ErrorCode::CrossSiteRequest, _) => td_string!(locale, messages.cross_site_request).into(),
        (ErrorCode::UnknownProvider, _) => td_string!(locale, messages.unknown_provider).into(),
        (ErrorCode::UnknownAttempt, Some(provider)) => and_nothing_connected(locale, td_string!(locale, messages.unknown_attempt, provider)),
        (ErrorCode::AttemptExpired, _) => and_nothing_connected(locale, td_string!(locale, messages.attempt_expired)),
        (ErrorCode::PkceMismatch, _) => and_nothing_connected(locale, td_string!(locale, messages.pkce_mismatch)),
        (ErrorCode::ProviderUnavailable, Some(provider)) => and_nothing_connected(locale, td_string!(locale, messages.provider_unavailable, provider)),
        (ErrorCode::ProviderRejected, Some(provider)) => {
            and_nothing_connected(locale, td_string!(locale, messages.provider_rejected, provider, detail = &problem.detail))
        }
        (ErrorCode::ReauthenticationRequired, Some(provider)) => td_string!(locale, messages.reauthentication_required, provider).to_string(),
        (ErrorCode::ReauthenticationRequired, None) => format!("{}.", td_string!(locale, status.reauthentication_required)),
        (ErrorCode::RateLimited, _) => td_string!(locale, messages.rate_limited).into(),
        (ErrorCode::KeyRefused, Some(provider)) => and_nothing_connected(locale, td_string!(locale, messages.key_refused, provider)),
        (ErrorCode::LinkExpired, _) => td_string!(locale, messages.link_expired).into(),
        (ErrorCode::LinkUsed, _) => td_string!(locale, messages.link_used).into(),
        (ErrorCode::LinkRevoked, _) => td_string!(locale, messages.link_revoked).into(),
        (ErrorCode::LinkWrongAccount, Some(provider)) => td_string!(locale, messages.link_wrong_account, provider).to_string(),
        (ErrorCode::PayloadTooLarge | ErrorCode::InvalidSignature, _) => td_string!(locale, messages.not_accepted).into(),
        (ErrorCode::NotFound | ErrorCode::MethodNotAllowed, _) => td_string!(locale, messages.not_found).into(),
        // The provider codes only answer calls about a provider; elsewhere they are unexpected.
        // The service API's own codes never answer the SPA.
        (
            ErrorCode::UnknownAttempt | ErrorCode::ProviderUnavailable | ErrorCode::ProviderRejected | ErrorCode::KeyRefused | ErrorCode::LinkWrongAccount,
            None,
        )
        | (ErrorCode::ConnectionRevoked | ErrorCode::ConnectionDisconnected | ErrorCode::BrowserContext, _)
        | (ErrorCode::Internal | ErrorCode::Unknown, _) => td_string!(locale, messages.internal).into(),
    }
}

/// A kind of data the server names (what syncs, a table checked), translated when it is one Stripe
/// has; others as given.
pub fn data_kind(locale: Locale, kind: &str) -> String {
    match kind {
        "Customers" => td_string!(locale, data.customers).into(),
        "Charges" => td_string!(locale, data.charges).into(),
        "Coupons" => td_string!(locale, data.coupons).into(),
        "Invoices" => td_string!(locale, data.invoices).into(),
        "Plans" => td_string!(locale, data.plans).into(),
        "Subscriptions" => td_string!(locale, data.subscriptions).into(),
        "Events" => td_string!(locale, data.events).into(),
        other => other.to_owned(),
    }
}

pub fn callback_error(locale: Locale, error: &CallbackError, provider: &str) -> String {
    match error {
        CallbackError::NothingToFinish => td_string!(locale, messages.nothing_to_finish).into(),
        CallbackError::MissingState | CallbackError::Malformed(_) => and_nothing_connected(locale, td_string!(locale, messages.malformed_callback, provider)),
        CallbackError::NoPendingAttempt => format!(
            "{} {}",
            and_nothing_connected(locale, td_string!(locale, messages.no_pending_attempt, provider)),
            td_string!(locale, messages.start_from_gallery)
        ),
        CallbackError::StateMismatch => and_nothing_connected(locale, td_string!(locale, messages.state_mismatch, provider)),
    }
}

/// The provider sent the user back with an error instead of a code (`error`, optional
/// `error_description`).
pub fn provider_failed(locale: Locale, error: &str, description: &str, provider: &str) -> String {
    if description.is_empty() {
        and_nothing_connected(locale, td_string!(locale, messages.provider_failed, provider, error))
    } else {
        and_nothing_connected(locale, td_string!(locale, messages.provider_failed_described, provider, error, description))
    }
}

pub fn browser_error(locale: Locale, error: BrowserError, provider: &str) -> String {
    match error {
        BrowserError::StorageBlocked => td_string!(locale, messages.storage_blocked).into(),
        BrowserError::StorageFailed => td_string!(locale, messages.storage_failed).into(),
        BrowserError::NoWindow => td_string!(locale, messages.no_window).into(),
        BrowserError::NavigationRefused => td_string!(locale, messages.navigation_refused, provider).to_string(),
    }
}

/// The provider said no: the user cancelled (`access_denied`), or it refused with another error.
pub fn provider_refused(locale: Locale, outcome: &CallbackOutcome, provider: &str) -> String {
    match outcome {
        CallbackOutcome::Failed { error, description } => provider_failed(locale, error, description, provider),
        _ => td_string!(locale, messages.cancelled_at_provider, provider).to_string(),
    }
}

/// Why the provider's answer could not be finished.
pub fn unfinished(locale: Locale, why: &Unfinished, provider: &str) -> String {
    match why {
        Unfinished::Callback(error) => callback_error(locale, error, provider),
        Unfinished::Refused(outcome) => provider_refused(locale, outcome, provider),
    }
}

pub fn flow_error(locale: Locale, error: &FlowError, provider: &str) -> String {
    match error {
        FlowError::BadAuthorizeUrl => td_string!(locale, messages.misconfigured).into(),
        FlowError::UnregisteredReturnAddress(address) => td_string!(locale, messages.unregistered_return_address, provider, address).to_string(),
    }
}

/// Test or live, for providers that have modes.
pub fn mode_label(locale: Locale, mode: connections_wire::Mode) -> &'static str {
    use connections_wire::Mode;
    match mode {
        Mode::Live => td_string!(locale, mode.live),
        Mode::Test => td_string!(locale, mode.test),
        Mode::Sandbox => td_string!(locale, mode.sandbox),
    }
}

/// A connection's status in words.
pub fn status_label(locale: Locale, status: ConnectionStatus) -> &'static str {
    match status {
        ConnectionStatus::Connected => td_string!(locale, status.connected),
        ConnectionStatus::ReauthenticationRequired => td_string!(locale, status.reauthentication_required),
        ConnectionStatus::Revoked => td_string!(locale, status.revoked),
        ConnectionStatus::Disconnected => td_string!(locale, status.disconnected),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connections_wire::Problem;

    fn problem(code: ErrorCode, detail: &str) -> ApiError {
        ApiError::Problem(Box::new(Problem::new(code, 502, "t", detail)))
    }

    #[test]
    fn the_english_texts_are_the_ones_the_tests_and_docs_quote() {
        assert_eq!(connection_successful(Locale::en), "Connection successful!");
        assert_eq!(
            callback_error(Locale::en, &CallbackError::NoPendingAttempt, "Stripe"),
            "This tab did not start a Stripe connection, or already finished it. Nothing was connected. \
             Start from Add a Data Source in this tab."
        );
        assert_eq!(
            provider_failed(Locale::en, "invalid_scope", "<b>bad</b>", "Stripe"),
            "Stripe could not complete the connection (invalid_scope: <b>bad</b>). Nothing was connected."
        );
        assert_eq!(
            provider_failed(Locale::en, "server_error", "", "Northwind CRM"),
            "Northwind CRM could not complete the connection (server_error). Nothing was connected."
        );
        assert_eq!(
            provider_api_error(Locale::en, &problem(ErrorCode::ProviderRejected, "invalid_grant"), "Stripe"),
            "Stripe did not accept the connection: invalid_grant. Nothing was connected."
        );
        assert_eq!(provider_refused(Locale::en, &CallbackOutcome::Denied, "Stripe"), "You cancelled at Stripe, so nothing was connected.");
        assert_eq!(api_error(Locale::en, &ApiError::UnexpectedResponse(502)), "The Connections server sent an unexpected answer (HTTP 502). Try again.");
    }

    #[test]
    fn the_admin_message_is_the_documented_one() {
        let error = problem(ErrorCode::AdminRequired, "d");
        assert_eq!(api_error(Locale::en, &error), "Connections requires administrator permissions.");
        assert_eq!(api_error(Locale::de, &error), "Für Verbindungen sind Administratorrechte erforderlich.");
    }

    #[test]
    fn provider_failures_name_the_provider_say_try_again_and_that_nothing_was_stored() {
        let error = problem(ErrorCode::ProviderUnavailable, "timeout");
        assert_eq!(provider_api_error(Locale::en, &error, "Stripe"), "Stripe could not be reached, try again. Nothing was connected.");
        for locale in Locale::get_all() {
            let text = provider_api_error(*locale, &error, "Northwind CRM");
            assert!(text.contains("Northwind CRM") && text.ends_with(nothing_connected(*locale)), "{locale}: {text}");
        }
        assert_eq!(api_error(Locale::en, &error), api_error(Locale::en, &problem(ErrorCode::Internal, "")), "no provider to name");
    }

    #[test]
    fn every_callback_refusal_names_the_provider_and_says_nothing_was_connected() {
        for locale in Locale::get_all() {
            for error in [CallbackError::MissingState, CallbackError::NoPendingAttempt, CallbackError::StateMismatch] {
                let text = callback_error(*locale, &error, "Adpulse");
                assert!(text.contains(nothing_connected(*locale)) && text.contains("Adpulse"), "{locale} {error:?}: {text}");
            }
            assert!(provider_failed(*locale, "access_denied", "", "Adpulse").ends_with(nothing_connected(*locale)), "{locale}");
        }
    }

    #[test]
    fn a_refused_key_names_the_provider_in_our_words_and_says_nothing_was_connected() {
        for locale in Locale::get_all() {
            let text = provider_api_error(*locale, &problem(ErrorCode::KeyRefused, "Pipeline CRM refused the key; nothing was stored"), "Pipeline CRM");
            assert!(text.contains("Pipeline CRM") && text.ends_with(nothing_connected(*locale)), "{locale}: {text}");
            assert!(*locale == Locale::en || !text.contains("refused the key"), "not the server's English: {text}");
        }
    }

    /// Another provider's messages never mention Stripe.
    #[test]
    fn no_message_about_another_provider_names_stripe() {
        let provider = "Northwind CRM";
        for locale in Locale::get_all().iter().copied() {
            let mut texts = vec![
                unfinished(locale, &Unfinished::Refused(CallbackOutcome::Denied), provider),
                unfinished(locale, &Unfinished::Refused(CallbackOutcome::Failed { error: "e".into(), description: "d".into() }), provider),
                browser_error(locale, BrowserError::NavigationRefused, provider),
                flow_error(locale, &FlowError::UnregisteredReturnAddress("https://x.example/cb".into()), provider),
                flow_error(locale, &FlowError::BadAuthorizeUrl, provider),
            ];
            for error in [CallbackError::NothingToFinish, CallbackError::MissingState, CallbackError::NoPendingAttempt, CallbackError::StateMismatch] {
                texts.push(callback_error(locale, &error, provider));
            }
            for code in [ErrorCode::UnknownAttempt, ErrorCode::ProviderUnavailable, ErrorCode::ProviderRejected, ErrorCode::AttemptExpired] {
                texts.push(provider_api_error(locale, &problem(code, "x"), provider));
            }
            for text in texts {
                assert!(!text.contains("Stripe"), "{locale}: {text}");
            }
        }
    }

    #[test]
    fn a_lapsed_access_says_to_reauthenticate() {
        let error = problem(ErrorCode::ReauthenticationRequired, "x");
        assert_eq!(
            provider_api_error(Locale::en, &error, "Northwind CRM"),
            "Northwind CRM no longer accepts the stored access. Reauthenticate the connection to restore it."
        );
        assert_eq!(api_error(Locale::en, &error), "Reauthentication required.");
    }

    #[test]
    fn an_id_that_cannot_be_a_path_is_not_found() {
        assert_eq!(api_error(Locale::en, &ApiError::BadId), "That could not be found.");
    }

    #[test]
    fn known_kinds_of_data_are_translated_and_others_shown_as_given() {
        assert_eq!(data_kind(Locale::de, "Customers"), "Kunden");
        assert_eq!(data_kind(Locale::de, "Deals"), "Deals");
    }
}
