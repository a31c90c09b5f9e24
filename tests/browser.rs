//! Runs inside headless Chromium (wasm-bindgen-test): the flow's randomness comes from the browser's
//! `crypto.getRandomValues`, and the pending attempt survives in `sessionStorage` as JSON; dates and
//! numbers come out of the browser's `Intl` in the language asked for; the host's `apiBase` is checked
//! by the browser's own `URL`.

#![cfg(target_arch = "wasm32")]

use connections::browser::{local_datetime, local_number};
use connections::flow::{self, PendingAttempt, PENDING_ATTEMPT_KEY};
use connections::options::{AppOptions, RawOptions};
use connections_wire::{Dialect, ProviderInfo};
use oauth2::{PkceCodeChallenge, PkceCodeVerifier};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn stripe() -> ProviderInfo {
    ProviderInfo {
        id: "stripe".into(),
        name: "Stripe".into(),
        dialect: Dialect::StripeApps,
        categories: vec!["payments".into()],
        icon_url: Some("/public/stripe.svg".into()),
        scope: "stripe_apps".into(),
        access_summary: String::new(),
        data_synced: vec![],
        docs_url: None,
        has_modes: true,
        uninstall_url: None,
        redirect_uri: "https://bi.example.com/connections/stripe/callback".into(),
        redirect_uris: vec![],
    }
}

#[wasm_bindgen_test]
fn attempts_made_in_the_browser_are_random_and_well_formed() {
    let attempts: Vec<_> = (0..20).map(|_| flow::new_attempt(&stripe(), &stripe().redirect_uri).unwrap()).collect();
    let mut states: Vec<_> = attempts.iter().map(|a| a.pending.state.clone()).collect();
    states.sort();
    states.dedup();
    assert_eq!(states.len(), 20, "every state is fresh");
    for attempt in &attempts {
        assert_eq!(attempt.pending.state.len(), 43);
        assert_eq!(attempt.pending.code_verifier.len(), 43);
        assert_eq!(attempt.register.code_challenge_method, "S256");
        assert_eq!(attempt.register.redirect_uri.as_deref(), Some(stripe().redirect_uri.as_str()));
        // The challenge is S256 of this attempt's verifier, hashed by the wasm build of sha2.
        let verifier = PkceCodeVerifier::new(attempt.pending.code_verifier.secret().to_owned());
        assert_eq!(PkceCodeChallenge::from_code_verifier_sha256(&verifier).as_str(), attempt.register.code_challenge);
    }
}

#[wasm_bindgen_test]
fn the_pending_attempt_round_trips_through_session_storage() {
    let storage = web_sys::window().unwrap().session_storage().unwrap().unwrap();
    let pending = PendingAttempt { provider: "stripe".into(), state: "s".repeat(43).into(), code_verifier: "v".repeat(43).into() };
    storage.set_item(PENDING_ATTEMPT_KEY, &serde_json::to_string(&pending).unwrap()).unwrap();
    let read: PendingAttempt = serde_json::from_str(&storage.get_item(PENDING_ATTEMPT_KEY).unwrap().unwrap()).unwrap();
    assert_eq!(read, pending);
    let grant = flow::grant_request("ac_1".into(), pending.state.clone(), Some(read), "stripe").unwrap();
    assert_eq!(grant.code_verifier, pending.code_verifier);
    storage.remove_item(PENDING_ATTEMPT_KEY).unwrap();
}

#[wasm_bindgen_test]
fn dates_and_numbers_follow_the_language_asked_for_each_with_its_own_formatter() {
    let tags = |tags: &[&str]| tags.iter().map(|t| t.to_string()).collect::<Vec<_>>();
    // Late morning UTC: the same day in every time zone from UTC-10 to UTC+13.
    let at = connections_wire::Timestamp::parse_rfc3339("2026-11-22T10:00:00Z").unwrap();
    let german = local_datetime(&tags(&["de-DE", "de"]), &at);
    let american = local_datetime(&tags(&["en-US", "en"]), &at);
    let british = local_datetime(&tags(&["en-GB", "en"]), &at);
    assert!(german.starts_with("22.11.2026, "), "{german}");
    assert!(american.starts_with("11/22/2026, "), "{american}");
    assert!(british.starts_with("22/11/2026, "), "{british}");
    assert_eq!(local_datetime(&tags(&["de-DE", "de"]), &at), german, "the cached German formatter");
    assert_eq!(local_number(&tags(&["de"]), 1_234_567.0), "1.234.567");
    assert_eq!(local_number(&tags(&["en"]), 1_234_567.0), "1,234,567");
    assert_eq!(local_number(&tags(&["it"]), 1_234_567.0), "1.234.567");
}

#[wasm_bindgen_test]
fn the_browsers_url_parser_checks_the_api_base_as_the_native_tests_expect() {
    let api_base = |value: &str| AppOptions::from_raw(RawOptions { api_base: Some(value.into()), ..Default::default() }).map(|o| o.api_base);
    assert_eq!(api_base("https://connections.example.com/").as_deref(), Ok("https://connections.example.com"));
    assert_eq!(api_base("https://bi.example.com/connections-api/").as_deref(), Ok("https://bi.example.com/connections-api"));
    assert_eq!(api_base("HTTPS://Connections.Example.COM:443/").as_deref(), Ok("https://connections.example.com"));
    for bad in [
        "/relative",
        "ftp://x.example",
        "https://x.example/?a=1",
        "https://x.example/?",
        "https://x.example/#",
        "https://user:pw@x.example",
        "javascript:alert(1)",
    ] {
        assert!(api_base(bad).unwrap_err().starts_with("apiBase"), "{bad}");
    }
}
