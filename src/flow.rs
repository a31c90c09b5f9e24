//! The browser's half of the connect flow, on plain types so it is tested without a browser: making
//! `state` and the PKCE pair, checking the authorize URL the server answers, checking what the provider
//! sent back, and the steps of the consent page. The server builds the provider's authorize URL: no
//! provider's URL rules live in the wasm.

use base64::Engine;
use connections_wire::{AuthorizationCode, GrantRequest, Mode, OAuthState, PkceVerifier, ProviderInfo, StartAttemptRequest, StartAttemptResponse};
use oauth2::{CsrfToken, PkceCodeChallenge, PkceCodeVerifier};
use serde::{Deserialize, Serialize};

use crate::options::ConnectIn;

/// `sessionStorage` key of the attempt this tab started: per tab, gone when the tab closes.
pub const PENDING_ATTEMPT_KEY: &str = "connections.pending_attempt";

/// Bytes of randomness in `state`: 256 bits, twice the 128 the flow requires.
pub const STATE_BYTES: usize = 32;
/// Bytes of randomness in the PKCE verifier: 32, which make the 43 characters oauth2's
/// `PkceCodeVerifier::new_random` makes (RFC 7636 asks for 43 to 128).
const VERIFIER_BYTES: usize = 32;

/// What this tab keeps while the user is at the provider. The verifier never leaves the tab until the
/// grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAttempt {
    pub provider: String,
    pub state: OAuthState,
    pub code_verifier: PkceVerifier,
}

/// `sessionStorage` key of the connect link the pending attempt was made through, if any.
pub const PENDING_LINK_KEY: &str = "connections.pending_link";

/// The connect link an attempt was made through: its grant goes to the link's route, with the token,
/// instead of the session's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLink {
    pub token: connections_wire::ConnectLinkToken,
    /// The attempt's `state`: the link is used only for the attempt it was saved with.
    pub state: OAuthState,
    pub provider_name: String,
}

/// The link of the callback's attempt: only one saved with that attempt's `state`.
pub fn link_of(pending: Option<&PendingAttempt>, link: Option<PendingLink>) -> Option<PendingLink> {
    link.filter(|link| pending.is_some_and(|p| p.state == link.state))
}

/// A freshly made attempt: what to register with the backend, and what to keep.
pub struct NewAttempt {
    pub register: StartAttemptRequest,
    pub pending: PendingAttempt,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlowError {
    /// The page the app runs on is not a return address registered with the provider, which would
    /// refuse it (and this tab's attempt could not be finished anywhere else).
    UnregisteredReturnAddress(String),
    /// The server answered an authorize URL that is not an http(s) address.
    BadAuthorizeUrl,
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

/// `len` bytes from the platform's CSPRNG, base64url without padding: what oauth2's `new_random`
/// makes, without the `rand` generator (ChaCha, reseeding: 4.5 KB of wasm) it puts in front of the
/// same source. Like it, panics if the platform has no CSPRNG.
fn random_b64url(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    getrandom::getrandom(&mut bytes).expect("the platform's CSPRNG (crypto.getRandomValues)");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Makes `state` and a PKCE S256 pair from the platform's CSPRNG (`crypto.getRandomValues` in the
/// browser), for the return address where the app runs (`own`), which the provider must have
/// registered, in `mode` where the provider has a client per mode.
pub fn new_attempt(provider: &ProviderInfo, own: &str, mode: Option<Mode>) -> Result<NewAttempt, FlowError> {
    let redirect_uri = registered_redirect_uri(provider, own)?;
    let verifier = PkceCodeVerifier::new(random_b64url(VERIFIER_BYTES));
    let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
    let state = CsrfToken::new(random_b64url(STATE_BYTES));
    Ok(NewAttempt {
        register: StartAttemptRequest {
            state: OAuthState::new(state.secret().clone()),
            code_challenge: challenge.as_str().to_owned(),
            code_challenge_method: challenge.method().as_str().to_owned(),
            redirect_uri: Some(redirect_uri),
            mode,
        },
        pending: PendingAttempt {
            provider: provider.id.clone(),
            state: OAuthState::new(state.secret().clone()),
            code_verifier: PkceVerifier::new(verifier.secret().clone()),
        },
    })
}

/// Where to send the browser: the server's authorize URL, only if it is an http(s) address. Anything
/// else (`javascript:`, a relative path) would run or stay here instead of reaching the provider.
pub fn authorize_destination(response: &StartAttemptResponse) -> Result<&str, FlowError> {
    let url = response.authorize_url.as_str();
    let after_scheme = ["https://", "http://"]
        .iter()
        .find(|scheme| url.get(..scheme.len()).is_some_and(|p| p.eq_ignore_ascii_case(scheme)))
        .map(|scheme| &url[scheme.len()..]);
    match after_scheme {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') && !url.chars().any(|c| c.is_whitespace() || c.is_control()) => Ok(url),
        _ => Err(FlowError::BadAuthorizeUrl),
    }
}

/// What the provider's redirect said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallbackOutcome {
    Granted {
        code: AuthorizationCode,
        state: OAuthState,
    },
    /// A code with no `state` at all: the user began at the provider, not here. Never linked silently.
    ProviderStarted {
        code: AuthorizationCode,
    },
    /// The user pressed cancel at the provider (`error=access_denied`).
    Denied,
    /// Any other OAuth error, e.g. `invalid_scope`.
    Failed {
        error: String,
        description: String,
    },
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
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
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
    let code = code.filter(|c| !c.is_empty()).map(AuthorizationCode::new).ok_or(CallbackError::NothingToFinish)?;
    match state {
        None => Ok(CallbackOutcome::ProviderStarted { code }),
        Some(state) if state.is_empty() => Err(CallbackError::MissingState),
        Some(state) => Ok(CallbackOutcome::Granted { code, state: OAuthState::new(state) }),
    }
}

/// Pairs the provider's answer with the attempt this tab kept, checking `state` first (login CSRF).
pub fn grant_request(code: AuthorizationCode, state: OAuthState, pending: Option<PendingAttempt>, provider: &str) -> Result<GrantRequest, CallbackError> {
    let pending = pending.filter(|p| p.provider == provider).ok_or(CallbackError::NoPendingAttempt)?;
    if pending.state != state {
        return Err(CallbackError::StateMismatch);
    }
    Ok(GrantRequest { code, state, code_verifier: pending.code_verifier })
}

/// What to do with the provider's answer on this tab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NextStep {
    /// Hand the grant to the server.
    Grant(GrantRequest),
    /// A provider-started install: show the account for confirmation before linking it.
    Install { code: AuthorizationCode },
}

/// Why the provider's answer cannot be finished; `messages::unfinished` words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unfinished {
    Callback(CallbackError),
    /// The provider said no (cancelled, or an OAuth error).
    Refused(CallbackOutcome),
}

/// The callback's query, checked against the attempt this tab kept for `provider`.
pub fn next_step(query: &str, pending: Option<PendingAttempt>, provider: &str) -> Result<NextStep, Unfinished> {
    match parse_callback(query).map_err(Unfinished::Callback)? {
        CallbackOutcome::Granted { code, state } => grant_request(code, state, pending, provider).map(NextStep::Grant).map_err(Unfinished::Callback),
        CallbackOutcome::ProviderStarted { code } => Ok(NextStep::Install { code }),
        refused => Err(Unfinished::Refused(refused)),
    }
}

/// The answer a popup handed over: it belongs to the attempt this page started, so it must carry a
/// `state` (a provider-started install never arrives this way).
pub fn popup_grant(query: &str, pending: PendingAttempt, provider: &str) -> Result<GrantRequest, Unfinished> {
    match next_step(query, Some(pending), provider)? {
        NextStep::Grant(request) => Ok(request),
        NextStep::Install { .. } => Err(Unfinished::Callback(CallbackError::MissingState)),
    }
}

/// The `state` to offer over the popup channel: a callback with a `state` this tab did not start may
/// belong to the framed app that opened this window, which holds the verifier.
pub fn hand_over_state(query: &str, pending: Option<&PendingAttempt>) -> Option<String> {
    callback_state(query).filter(|state| pending.is_none_or(|p| &p.state != state))
}

/// How the connect step reaches the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectWay {
    /// The whole page leaves for the provider and comes back.
    Redirect,
    /// The provider in a popup (providers refuse to be framed).
    Popup,
}

pub fn connect_way(option: ConnectIn, framed: bool) -> ConnectWay {
    match option {
        ConnectIn::Popup => ConnectWay::Popup,
        ConnectIn::Redirect => ConnectWay::Redirect,
        ConnectIn::Auto if framed => ConnectWay::Popup,
        ConnectIn::Auto => ConnectWay::Redirect,
    }
}

/// Where the consent page's connect step is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Ready,
    /// Registering the attempt, then leaving for (or loading) the provider.
    Opening,
    /// The provider is open in a popup; waiting for its answer.
    WaitingForPopup,
    /// The answer came back; the server is finishing.
    Finishing,
    /// The browser refused to open the popup.
    PopupBlocked,
}

impl Stage {
    /// While busy, a second press of Connect does nothing (one attempt at a time).
    pub fn is_busy(self) -> bool {
        matches!(self, Stage::Opening | Stage::WaitingForPopup | Stage::Finishing)
    }
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
    let mut states = form_urlencoded::parse(query.as_bytes()).filter(|(name, _)| name == "state");
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
            dialect: connections_wire::Dialect::StripeApps,
            categories: vec!["payments".into()],
            icon_url: Some("/public/stripe.svg".into()),
            scope: "stripe_apps".into(),
            access_summary: String::new(),
            data_synced: vec![],
            docs_url: None,
            has_modes: true,
            modes: Vec::new(),
            uninstall_url: Some("https://dashboard.stripe.com/settings/apps".into()),
            redirect_uri: "https://bi.example.com/connections/stripe/callback".into(),
            redirect_uris: vec![
                "https://bi.example.com/connections/stripe/callback".into(),
                "https://portal.example.com/admin/connections/stripe/callback".into(),
            ],
            key: None,
        }
    }

    const CALLBACK: &str = "https://bi.example.com/connections/stripe/callback";

    #[test]
    fn only_a_registered_return_address_is_used_and_sent() {
        let provider = stripe();
        assert_eq!(registered_redirect_uri(&provider, CALLBACK), Ok(CALLBACK.to_owned()));
        let embedded = "https://portal.example.com/admin/connections/stripe/callback";
        assert_eq!(registered_redirect_uri(&provider, embedded), Ok(embedded.to_owned()));
        let elsewhere = "http://internal:8080/connections/stripe/callback";
        assert_eq!(registered_redirect_uri(&provider, elsewhere), Err(FlowError::UnregisteredReturnAddress(elsewhere.to_owned())));
        assert!(matches!(new_attempt(&provider, elsewhere, None), Err(FlowError::UnregisteredReturnAddress(_))));
        let attempt = new_attempt(&provider, embedded, None).unwrap();
        assert_eq!(attempt.register.redirect_uri.as_deref(), Some(embedded));
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
        let first = new_attempt(&stripe(), CALLBACK, None).unwrap();
        let second = new_attempt(&stripe(), CALLBACK, None).unwrap();
        assert_eq!(first.pending.state.len(), 43, "32 bytes as unpadded base64url");
        assert_ne!(first.pending.state, second.pending.state);
        assert_ne!(first.pending.code_verifier, second.pending.code_verifier);
        assert_eq!(first.register.state, first.pending.state);
        assert_eq!(first.pending.provider, "stripe");
        assert_eq!(first.register.code_challenge_method, "S256");
        let recomputed = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(first.pending.code_verifier.secret().to_owned()));
        assert_eq!(recomputed.as_str(), first.register.code_challenge);
    }

    #[test]
    fn what_is_registered_never_carries_the_verifier() {
        let attempt = new_attempt(&stripe(), CALLBACK, None).unwrap();
        let json = serde_json::to_value(&attempt.register).unwrap();
        assert_eq!(json["redirect_uri"], CALLBACK);
        assert_eq!(json["code_challenge_method"], "S256");
        assert!(!json.to_string().contains(attempt.pending.code_verifier.secret()));
    }

    fn answer(authorize_url: &str) -> StartAttemptResponse {
        StartAttemptResponse { expires_at: connections_wire::Timestamp::from_timestamp(1_795_341_600), authorize_url: authorize_url.into() }
    }

    #[test]
    fn only_an_http_authorize_url_is_followed() {
        for ok in
            ["https://marketplace.stripe.com/oauth/v2/authorize?client_id=ca_1&state=s", "http://127.0.0.1:9000/oauth2/x/authorize", "HTTPS://EXAMPLE.COM"]
        {
            assert_eq!(authorize_destination(&answer(ok)), Ok(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            " https://a.example",
            "/oauth/authorize",
            "https://",
            "https:///path",
            "data:text/html,x",
            "https://a.example/\nx",
            "https://a.example/ x",
            "",
        ] {
            assert_eq!(authorize_destination(&answer(bad)), Err(FlowError::BadAuthorizeUrl), "{bad:?}");
        }
    }

    #[test]
    fn connect_in_a_popup_when_framed_or_asked() {
        assert_eq!(connect_way(ConnectIn::Auto, false), ConnectWay::Redirect);
        assert_eq!(connect_way(ConnectIn::Auto, true), ConnectWay::Popup);
        assert_eq!(connect_way(ConnectIn::Redirect, true), ConnectWay::Redirect);
        assert_eq!(connect_way(ConnectIn::Popup, false), ConnectWay::Popup);
    }

    #[test]
    fn connect_is_ignored_while_busy() {
        assert!(!Stage::Ready.is_busy());
        assert!(!Stage::PopupBlocked.is_busy(), "the user may press Connect again");
        assert!(Stage::Opening.is_busy() && Stage::WaitingForPopup.is_busy() && Stage::Finishing.is_busy());
    }

    #[test]
    fn a_saved_link_is_used_only_for_the_attempt_it_was_saved_with() {
        let link = |state: &str| PendingLink { token: "t".repeat(43).into(), state: state.into(), provider_name: "Stripe".into() };
        assert_eq!(link_of(Some(&pending("s1")), Some(link("s1"))), Some(link("s1")));
        // A link left over from another attempt, or no attempt at all: the grant is the session's.
        assert_eq!(link_of(Some(&pending("s2")), Some(link("s1"))), None);
        assert_eq!(link_of(None, Some(link("s1"))), None);
        assert_eq!(link_of(Some(&pending("s1")), None), None);
    }

    fn pending(state: &str) -> PendingAttempt {
        PendingAttempt { provider: "stripe".into(), state: state.into(), code_verifier: "v".repeat(43).into() }
    }

    #[test]
    fn the_next_step_is_a_grant_an_install_or_why_not() {
        let grant = next_step("?code=ac_1&state=s1", Some(pending("s1")), "stripe").unwrap();
        assert!(matches!(grant, NextStep::Grant(GrantRequest { ref code, .. }) if code == "ac_1"));
        assert_eq!(next_step("?code=ac_2", None, "stripe"), Ok(NextStep::Install { code: "ac_2".into() }));
        assert_eq!(next_step("?error=access_denied&state=s1", Some(pending("s1")), "stripe"), Err(Unfinished::Refused(CallbackOutcome::Denied)));
        assert_eq!(next_step("?code=ac_1&state=s2", Some(pending("s1")), "stripe"), Err(Unfinished::Callback(CallbackError::StateMismatch)));
        assert_eq!(next_step("", None, "stripe"), Err(Unfinished::Callback(CallbackError::NothingToFinish)));
    }

    #[test]
    fn a_popup_answer_must_belong_to_this_pages_attempt() {
        assert!(popup_grant("?code=ac_1&state=s1", pending("s1"), "stripe").is_ok());
        assert_eq!(popup_grant("?code=ac_1", pending("s1"), "stripe"), Err(Unfinished::Callback(CallbackError::MissingState)));
        assert_eq!(popup_grant("?code=ac_1&state=s1", pending("s1"), "acme"), Err(Unfinished::Callback(CallbackError::NoPendingAttempt)));
    }

    #[test]
    fn only_a_state_this_tab_did_not_start_is_offered_to_a_framed_app() {
        assert_eq!(hand_over_state("?code=ac_1&state=s1", None), Some("s1".into()));
        assert_eq!(hand_over_state("?code=ac_1&state=s1", Some(&pending("s2"))), Some("s1".into()));
        assert_eq!(hand_over_state("?code=ac_1&state=s1", Some(&pending("s1"))), None, "ours: finish here");
        assert_eq!(hand_over_state("?code=ac_1", None), None, "a provider-started install");
    }

    #[test]
    fn parses_a_granted_callback() {
        assert_eq!(parse_callback("?code=ac_123&scope=read_only&state=abc"), Ok(CallbackOutcome::Granted { code: "ac_123".into(), state: "abc".into() }));
    }

    #[test]
    fn parses_denial_and_other_provider_errors() {
        assert_eq!(parse_callback("error=access_denied&error_description=The+user+denied+your+request&state=abc"), Ok(CallbackOutcome::Denied));
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
        let pending = PendingAttempt { provider: "stripe".into(), state: "s1".into(), code_verifier: "v".repeat(43).into() };
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
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("code", &code)
                .append_pair("scope", &scope)
                .append_pair("state", &state)
                .finish();
            proptest::prop_assert_eq!(parse_callback(&format!("?{query}")), Ok(CallbackOutcome::Granted { code: code.into(), state: state.into() }));
        }
    }
}
