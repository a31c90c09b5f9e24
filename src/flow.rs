//! The browser's half of the connect flow, on plain types so it is tested without a browser:
//! making `state` and the PKCE pair, building the authorization URL, and checking what Stripe sent back.

use connections_wire::{GrantRequest, ProviderInfo, StartAttemptRequest};
use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope};
use serde::{Deserialize, Serialize};
use url::Url;

/// `sessionStorage` key of the attempt this tab started: per tab, gone when the tab closes.
pub const PENDING_ATTEMPT_KEY: &str = "connections.pending_attempt";

/// Bytes of randomness in `state`: 256 bits, twice the 128 the flow requires.
pub const STATE_BYTES: u32 = 32;

/// What this tab keeps while the user is at Stripe. The verifier never leaves the tab until the grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAttempt {
    pub provider: String,
    pub state: String,
    pub code_verifier: String,
}

/// A freshly made attempt: what to register with the backend, what to keep, and where to go.
pub struct NewAttempt {
    pub register: StartAttemptRequest,
    pub pending: PendingAttempt,
    pub authorize_url: Url,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlowError {
    /// The provider information from the server has a URL that doesn't parse.
    BadProviderUrl(String),
    /// The page the app runs on is not a return address registered with the provider, which would
    /// refuse it (and this tab's attempt could not be finished anywhere else).
    UnregisteredReturnAddress(String),
}

/// The app's return address where it runs (`origin + base path + /{provider}/callback`), if the
/// provider has it registered.
pub fn registered_redirect_uri(provider: &ProviderInfo, own: &str) -> Result<String, FlowError> {
    if provider.redirect_uri == own || provider.redirect_uris.iter().any(|uri| uri == own) {
        Ok(own.to_owned())
    } else {
        Err(FlowError::UnregisteredReturnAddress(own.to_owned()))
    }
}

/// Makes `state` and a PKCE S256 pair from the platform's CSPRNG (`crypto.getRandomValues` in the
/// browser) and builds the authorization URL with the `oauth2` crate.
pub fn new_attempt(provider: &ProviderInfo, redirect_uri: &str) -> Result<NewAttempt, FlowError> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = CsrfToken::new_random_len(STATE_BYTES);
    let authorize_url = authorize_url(provider, redirect_uri, &state, &challenge)?;
    Ok(NewAttempt {
        register: StartAttemptRequest {
            state: state.secret().clone(),
            code_challenge: challenge.as_str().to_owned(),
            code_challenge_method: challenge.method().as_str().to_owned(),
        },
        pending: PendingAttempt { provider: provider.id.clone(), state: state.secret().clone(), code_verifier: verifier.secret().clone() },
        authorize_url,
    })
}

/// `response_type=code`, `client_id`, `scope`, `redirect_uri`, `state`, `code_challenge`,
/// `code_challenge_method=S256`, all from the server's configuration.
pub fn authorize_url(provider: &ProviderInfo, redirect_uri: &str, state: &CsrfToken, challenge: &PkceCodeChallenge) -> Result<Url, FlowError> {
    let client = BasicClient::new(ClientId::new(provider.client_id.clone()))
        .set_auth_uri(AuthUrl::new(provider.authorize_url.clone()).map_err(|e| FlowError::BadProviderUrl(e.to_string()))?)
        .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| FlowError::BadProviderUrl(e.to_string()))?);
    let (url, _) = client
        .authorize_url(|| state.clone())
        .add_scope(Scope::new(provider.scope.clone()))
        .set_pkce_challenge(challenge.clone())
        .url();
    Ok(url)
}

/// What the provider's redirect said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallbackOutcome {
    Granted { code: String, state: String },
    /// A code with no `state` at all: the user began at Stripe, not here. Never linked silently.
    ProviderStarted { code: String },
    /// The user pressed cancel at Stripe (`error=access_denied`).
    Denied,
    /// Any other OAuth error, e.g. `invalid_scope`.
    Failed { error: String, description: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallbackError {
    /// No `code` and no `error`: nothing to finish (e.g. the page was reloaded).
    NothingToFinish,
    /// A `state` parameter that is present but empty.
    MissingState,
    /// A parameter appears twice, or is unreasonably long.
    Malformed(&'static str),
    /// This tab did not start a connect attempt (or already finished it).
    NoPendingAttempt,
    /// `state` is not the one this tab sent: a forged or crossed callback.
    StateMismatch,
}

const MAX_PARAM_LEN: usize = 2048;

/// Parses the callback's query string (with or without the leading `?`).
pub fn parse_callback(query: &str) -> Result<CallbackOutcome, CallbackError> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut description = None;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match name.as_ref() {
            "code" => &mut code,
            "state" => &mut state,
            "error" => &mut error,
            "error_description" => &mut description,
            _ => continue,
        };
        if slot.is_some() {
            return Err(CallbackError::Malformed("a parameter appears more than once"));
        }
        if value.len() > MAX_PARAM_LEN {
            return Err(CallbackError::Malformed("a parameter is too long"));
        }
        *slot = Some(value.into_owned());
    }
    if let Some(error) = error {
        return Ok(if error == "access_denied" {
            CallbackOutcome::Denied
        } else {
            CallbackOutcome::Failed { error, description: description.unwrap_or_default() }
        });
    }
    let code = code.filter(|c| !c.is_empty()).ok_or(CallbackError::NothingToFinish)?;
    match state {
        None => Ok(CallbackOutcome::ProviderStarted { code }),
        Some(state) if state.is_empty() => Err(CallbackError::MissingState),
        Some(state) => Ok(CallbackOutcome::Granted { code, state }),
    }
}

/// Pairs the provider's answer with the attempt this tab kept, checking `state` first (login CSRF).
pub fn grant_request(code: String, state: String, pending: Option<PendingAttempt>, provider: &str) -> Result<GrantRequest, CallbackError> {
    let pending = pending.filter(|p| p.provider == provider).ok_or(CallbackError::NoPendingAttempt)?;
    if pending.state != state {
        return Err(CallbackError::StateMismatch);
    }
    Ok(GrantRequest { code, state, code_verifier: pending.code_verifier })
}

/// The popup flow's messages on its `BroadcastChannel`: the popup hands over the provider's answer,
/// and the tab that started the attempt (the one holding the verifier) says it took it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PopupMessage {
    Callback { state: String, query: String },
    Received { state: String },
}

/// `state` of a callback query, whatever else it says: the popup hand-over is keyed by it.
pub fn callback_state(query: &str) -> Option<String> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut states = url::form_urlencoded::parse(query.as_bytes()).filter(|(name, _)| name == "state");
    let state = states.next()?.1.into_owned();
    (states.next().is_none() && !state.is_empty() && state.len() <= MAX_PARAM_LEN).then_some(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oauth2::PkceCodeVerifier;

    #[test]
    fn popup_messages_round_trip_and_name_their_state() {
        let message = PopupMessage::Callback { state: "s1".into(), query: "?code=ac_1&state=s1".into() };
        let json = serde_json::to_string(&message).unwrap();
        assert_eq!(json, r#"{"type":"callback","state":"s1","query":"?code=ac_1&state=s1"}"#);
        assert_eq!(serde_json::from_str::<PopupMessage>(&json).unwrap(), message);
        assert!(serde_json::from_str::<PopupMessage>(r#"{"type":"other"}"#).is_err());
        assert_eq!(callback_state("?code=ac_1&state=s1"), Some("s1".into()));
        assert_eq!(callback_state("?error=access_denied&state=s2"), Some("s2".into()));
        assert_eq!(callback_state("?code=ac_1"), None);
        assert_eq!(callback_state("?code=ac_1&state="), None);
        assert_eq!(callback_state("?state=a&state=b"), None, "ambiguous");
    }

    fn stripe() -> ProviderInfo {
        ProviderInfo {
            id: "stripe".into(),
            name: "Stripe".into(),
            logo_path: "/public/stripe.svg".into(),
            scope: "read_only".into(),
            access_summary: String::new(),
            data_synced: vec![],
            authorize_url: "https://connect.stripe.com/oauth/authorize".into(),
            client_id: "ca_123".into(),
            redirect_uri: "https://bi.example.com/connections/stripe/callback".into(),
            redirect_uris: vec![
                "https://bi.example.com/connections/stripe/callback".into(),
                "https://portal.example.com/admin/connections/stripe/callback".into(),
            ],
        }
    }

    const CALLBACK: &str = "https://bi.example.com/connections/stripe/callback";

    #[test]
    fn only_a_registered_return_address_is_used() {
        let provider = stripe();
        assert_eq!(registered_redirect_uri(&provider, CALLBACK), Ok(CALLBACK.to_owned()));
        let embedded = "https://portal.example.com/admin/connections/stripe/callback";
        assert_eq!(registered_redirect_uri(&provider, embedded), Ok(embedded.to_owned()));
        let elsewhere = "http://internal:8080/connections/stripe/callback";
        assert_eq!(registered_redirect_uri(&provider, elsewhere), Err(FlowError::UnregisteredReturnAddress(elsewhere.to_owned())));
        let attempt = new_attempt(&provider, embedded).unwrap();
        let params: std::collections::HashMap<_, _> = attempt.authorize_url.query_pairs().into_owned().collect();
        assert_eq!(params["redirect_uri"], embedded);
    }

    #[test]
    fn rfc_7636_appendix_b_vector() {
        let verifier = PkceCodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        assert_eq!(challenge.as_str(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert_eq!(challenge.method().as_str(), "S256");
    }

    #[test]
    fn a_new_attempt_has_a_fresh_256_bit_state_and_a_matching_pkce_pair() {
        let first = new_attempt(&stripe(), CALLBACK).unwrap();
        let second = new_attempt(&stripe(), CALLBACK).unwrap();
        assert_eq!(first.pending.state.len(), 43, "32 bytes as unpadded base64url");
        assert_ne!(first.pending.state, second.pending.state);
        assert_ne!(first.pending.code_verifier, second.pending.code_verifier);
        assert_eq!(first.register.state, first.pending.state);
        assert_eq!(first.register.code_challenge_method, "S256");
        let recomputed =
            PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(first.pending.code_verifier.clone()));
        assert_eq!(recomputed.as_str(), first.register.code_challenge);
    }

    #[test]
    fn the_authorize_url_carries_every_parameter_and_never_the_verifier() {
        let attempt = new_attempt(&stripe(), CALLBACK).unwrap();
        let url = attempt.authorize_url;
        assert_eq!(url.origin().ascii_serialization(), "https://connect.stripe.com");
        assert_eq!(url.path(), "/oauth/authorize");
        let params: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(params["response_type"], "code");
        assert_eq!(params["client_id"], "ca_123");
        assert_eq!(params["scope"], "read_only");
        assert_eq!(params["redirect_uri"], "https://bi.example.com/connections/stripe/callback");
        assert_eq!(params["state"], attempt.pending.state);
        assert_eq!(params["code_challenge"], attempt.register.code_challenge);
        assert_eq!(params["code_challenge_method"], "S256");
        assert!(!url.as_str().contains(&attempt.pending.code_verifier));
    }

    #[test]
    fn a_bad_provider_url_is_an_error_not_a_panic() {
        let mut provider = stripe();
        provider.authorize_url = "not a url".into();
        assert!(matches!(new_attempt(&provider, CALLBACK), Err(FlowError::BadProviderUrl(_))));
        assert!(matches!(new_attempt(&stripe(), "not a url"), Err(FlowError::BadProviderUrl(_))));
    }

    #[test]
    fn parses_a_granted_callback() {
        assert_eq!(
            parse_callback("?code=ac_123&scope=read_only&state=abc"),
            Ok(CallbackOutcome::Granted { code: "ac_123".into(), state: "abc".into() })
        );
    }

    #[test]
    fn parses_denial_and_other_provider_errors() {
        assert_eq!(
            parse_callback("error=access_denied&error_description=The+user+denied+your+request&state=abc"),
            Ok(CallbackOutcome::Denied)
        );
        assert_eq!(
            parse_callback("error=invalid_scope&error_description=%3Cb%3Ebad%3C%2Fb%3E"),
            Ok(CallbackOutcome::Failed { error: "invalid_scope".into(), description: "<b>bad</b>".into() })
        );
    }

    #[test]
    fn a_code_without_any_state_is_a_provider_started_install() {
        assert_eq!(parse_callback("?code=ac_1&scope=read_only"), Ok(CallbackOutcome::ProviderStarted { code: "ac_1".into() }));
    }

    #[test]
    fn refuses_malformed_callbacks() {
        assert_eq!(parse_callback(""), Err(CallbackError::NothingToFinish));
        assert_eq!(parse_callback("?code="), Err(CallbackError::NothingToFinish));
        assert_eq!(parse_callback("?code=ac_1&state="), Err(CallbackError::MissingState));
        assert!(matches!(parse_callback("?code=a&code=b&state=s"), Err(CallbackError::Malformed(_))));
        assert!(matches!(parse_callback("?code=a&state=s&state=t"), Err(CallbackError::Malformed(_))));
        let long = format!("?code={}&state=s", "a".repeat(5000));
        assert!(matches!(parse_callback(&long), Err(CallbackError::Malformed(_))));
        assert!(matches!(parse_callback("?%ZZ=%ZZ&code=a&state=s"), Ok(CallbackOutcome::Granted { .. })));
    }

    #[test]
    fn the_grant_needs_this_tabs_pending_attempt_with_the_same_state() {
        let pending = PendingAttempt { provider: "stripe".into(), state: "s1".into(), code_verifier: "v".repeat(43) };
        let grant = grant_request("ac_1".into(), "s1".into(), Some(pending.clone()), "stripe").unwrap();
        assert_eq!(grant.code_verifier, "v".repeat(43));
        assert_eq!(grant_request("ac_1".into(), "s2".into(), Some(pending.clone()), "stripe"), Err(CallbackError::StateMismatch));
        assert_eq!(grant_request("ac_1".into(), "s1".into(), None, "stripe"), Err(CallbackError::NoPendingAttempt));
        assert_eq!(grant_request("ac_1".into(), "s1".into(), Some(pending), "other"), Err(CallbackError::NoPendingAttempt));
    }

    proptest::proptest! {
        #[test]
        fn parse_callback_never_panics(query in ".{0,600}") {
            let _ = parse_callback(&query);
        }

        #[test]
        fn granted_callbacks_round_trip_through_encoding(
            code in "[ -~]{1,200}",
            state in "[ -~]{1,200}",
            scope in "[a-z_]{0,20}",
        ) {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("code", &code)
                .append_pair("scope", &scope)
                .append_pair("state", &state)
                .finish();
            proptest::prop_assert_eq!(parse_callback(&format!("?{query}")), Ok(CallbackOutcome::Granted { code, state }));
        }
    }
}
