//! Runs inside headless Chromium (wasm-bindgen-test): the flow's randomness comes from the browser's
//! `crypto.getRandomValues`, and the pending attempt survives in `sessionStorage` as JSON (the
//! browser's, written as serde_json would); dates and
//! numbers come out of the browser's `Intl` in the language asked for; the host's `apiBase` is checked
//! by the browser's own `URL`; the table's rows are drawn, updated in place and put in order by the
//! DOM itself.

#![cfg(target_arch = "wasm32")]

use connections::browser::{local_datetime, local_number};
use connections::flow::PopupMessage;
use connections::flow::{self, PendingAttempt, PENDING_ATTEMPT_KEY};
use connections::i18n::Locale;
use connections::options::{AppOptions, RawOptions};
use connections::rows::{RowLook, Rows};
use connections_wire::{
    ConnectionList, ConnectionStatus, ConnectionView, DemoSignInRequest, Dialect, ErrorCode, GrantOutcome, GrantRequest, GrantResponse, KeyConnectRequest,
    KeyConnectResponse, KeyField, LinkAttemptRequest, Mode, NewConnectLink, Problem, ProviderInfo, ProviderList, Role, SessionInfo, StartAttemptRequest,
    TableAccess, TableCheck, Timestamp,
};
use oauth2::{PkceCodeChallenge, PkceCodeVerifier};
use wasm_bindgen::JsCast;
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
        modes: vec![Mode::Live, Mode::Test],
        uninstall_url: None,
        redirect_uri: "https://bi.example.com/connections/stripe/callback".into(),
        redirect_uris: vec![],
        key: None,
    }
}

#[wasm_bindgen_test]
fn attempts_made_in_the_browser_are_random_and_well_formed() {
    let attempts: Vec<_> = (0..20).map(|_| flow::new_attempt(&stripe(), &stripe().redirect_uri, None).unwrap()).collect();
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
fn the_browsers_json_writes_the_pending_attempt_as_serde_json_does_and_reads_it_back() {
    let storage = web_sys::window().unwrap().session_storage().unwrap().unwrap();
    let pending = PendingAttempt { provider: "stripe".into(), state: "s".repeat(43).into(), code_verifier: "v".repeat(43).into() };
    connections::browser::save_pending(&pending).unwrap();
    assert_eq!(storage.get_item(PENDING_ATTEMPT_KEY).unwrap().unwrap(), serde_json::to_string(&pending).unwrap());
    assert_eq!(connections::browser::take_pending(), Some(pending));
    assert_eq!(storage.get_item(PENDING_ATTEMPT_KEY).unwrap(), None);
}

/// What the server writes (serde_json), parsed by the browser's `JSON.parse` and read by the app's own
/// reader (`json::Value`), is what the server wrote: every shape the wire types use.
#[wasm_bindgen_test]
fn answers_written_by_serde_json_read_back_the_same_through_the_browsers_json() {
    fn same<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(value: T) {
        let text = serde_json::to_string(&value).unwrap();
        assert_eq!(connections::json::from_str::<T>(&text), Some(value), "{text}");
    }
    let at = Timestamp::parse_rfc3339("2026-11-22T10:00:00Z").unwrap();
    let view = |id: &str, status, livemode: Option<bool>| ConnectionView {
        id: id.into(),
        provider: "stripe".into(),
        account_id: "acct_1".into(),
        account_name: "Ünïcödé & \"quotes\" ✓".into(),
        livemode,
        // A Stripe App's mode, where a connection has one (a unit enum read from its string).
        mode: livemode.filter(|live| !live).map(|_| Mode::Sandbox),
        scope: "read_only".into(),
        status,
        connected_by: "Ada".into(),
        connected_at: at,
        last_checked_at: livemode.map(|_| at),
        last_data_at: None,
    };
    let views = vec![
        view("conn_1", ConnectionStatus::Connected, Some(true)),
        view("conn_2", ConnectionStatus::ReauthenticationRequired, Some(false)),
        view("conn_3", ConnectionStatus::Disconnected, None),
    ];
    same(ConnectionList { connections: views.clone() });
    same(ConnectionList { connections: vec![] });
    let mut keyed = stripe();
    keyed.dialect = Dialect::ApiKey;
    keyed.key = Some(KeyField { label: "Key".into(), pattern: Some("^pk_[a-z]+$".into()), help_url: None, secret_keys_allowed: true });
    keyed.data_synced = vec!["Customers".into(), "Charges".into()];
    same(ProviderList { providers: vec![stripe(), keyed] });
    same(SessionInfo { subject: "u1".into(), name: "Ada".into(), role: Role::Admin, workspace: "acme".into(), demo: true });
    // Flattened fields, enums as strings, numbers, optional fields absent.
    same(GrantResponse { connection: views[0].clone(), outcome: GrantOutcome::Renewed });
    let tables = vec![
        TableCheck { table: "Charges".into(), access: TableAccess::PermissionMissing, reason: Some("no permission".into()), newest_at: None },
        TableCheck { table: "Customers".into(), access: TableAccess::Readable, reason: None, newest_at: Some(at) },
    ];
    same(KeyConnectResponse { connection: views[2].clone(), outcome: GrantOutcome::Created, tables: tables.clone() });
    let mut problem = Problem::new(ErrorCode::KeyRefused, 422, "Key refused", "nothing was stored");
    problem.tables = tables;
    problem.request_id = Some("req_1".into());
    same(problem);
    // An internally tagged enum (the popup's messages).
    same(PopupMessage::Callback { state: "s1".into(), query: "?code=ac_1&state=s1".into() });
    same(PopupMessage::Received { state: "s1".into() });

    // What an older or newer server may write: a code this app does not know, fields left out or
    // null, fields it does not know.
    let read = |text: &str| connections::json::from_str::<Problem>(text);
    let unknown = read(r#"{"type":"urn:x","title":"t","status":500,"code":"brand_new","extra":[1,{"a":null}]}"#).unwrap();
    assert_eq!((unknown.code, unknown.status, unknown.detail.as_str(), unknown.request_id), (ErrorCode::Unknown, 500, "", None));
    assert_eq!(read(r#"{"type":"urn:x","title":"t","status":400,"code":"link_used","request_id":null}"#).unwrap().code, ErrorCode::LinkUsed);
    // Not what was asked for: no value, and nothing thrown.
    for wrong in [
        r#"{"title":"t","status":500,"code":"internal"}"#,
        r#"{"type":"urn:x","title":"t","status":"500","code":"internal"}"#,
        r#"{"type":"urn:x","title":"t","status":500.5,"code":"internal"}"#,
        r#"{"type":"urn:x","title":"t","status":70000,"code":"internal"}"#,
        r#"{"type":"urn:x","title":"t","status":-1,"code":"internal"}"#,
        r#"{"type":"urn:x","title":"t","status":500,"code":7}"#,
        r#"[1,2]"#,
        r#""problem""#,
        r#"null"#,
    ] {
        assert_eq!(read(wrong), None, "{wrong}");
    }
    assert_eq!(connections::json::from_str::<ConnectionList>(r#"{"connections":[{"id":"c"}]}"#), None);
    assert_eq!(connections::json::from_str::<Vec<u32>>("[1, 2, 4294967295]"), Some(vec![1, 2, u32::MAX]));
    assert_eq!(connections::json::from_str::<Vec<i64>>("[-9007199254740991, 0]"), Some(vec![-9_007_199_254_740_991, 0]));
    assert_eq!(connections::json::from_str::<Option<String>>("null"), Some(None));
}

/// What the app writes (`json::to_string`: its own serializer, then the browser's `JSON.stringify`) is
/// the text serde_json writes for the same value: every shape the requests and the host's events use.
#[wasm_bindgen_test]
fn what_the_app_writes_is_what_serde_json_writes() {
    fn same<T: serde::Serialize>(value: &T) {
        let expected = serde_json::to_string(value).unwrap();
        assert_eq!(connections::json::to_string(value).as_deref(), Some(expected.as_str()));
    }
    let attempt = |redirect_uri: Option<&str>| StartAttemptRequest {
        state: "s".repeat(43).into(),
        code_challenge: "c".repeat(43),
        code_challenge_method: "S256".into(),
        redirect_uri: redirect_uri.map(Into::into),
        mode: redirect_uri.map(|_| Mode::Test),
    };
    same(&attempt(None));
    same(&attempt(Some("https://bi.example.com/connections/stripe/callback")));
    same(&GrantRequest { code: "ac_1".into(), state: "s1".into(), code_verifier: "v".repeat(43).into() });
    // Flattened fields.
    same(&LinkAttemptRequest { token: "cl_1".into(), attempt: attempt(None) });
    same(&KeyConnectRequest { key: "rk_test_1".into(), name: Some("Ünïcödé \"Books\"\n".into()) });
    same(&KeyConnectRequest { key: "rk_test_1".into(), name: None });
    same(&DemoSignInRequest { role: Role::Viewer, workspace: Some("globex".into()) });
    same(&NewConnectLink { provider: "stripe".into(), connection_id: None, expires_in_secs: 259_200, note: Some(String::new()) });
    // An internally tagged enum (the popup's messages), a connection with a timestamp and nulls (the
    // host's events), and the other shapes serde has.
    same(&PopupMessage::Received { state: "s1".into() });
    let at = Timestamp::parse_rfc3339("2026-11-22T10:00:00Z").unwrap();
    same(&ConnectionView {
        id: "conn_1".into(),
        provider: "stripe".into(),
        account_id: "acct_1".into(),
        account_name: "Acme".into(),
        livemode: None,
        mode: None,
        scope: "read_only".into(),
        status: ConnectionStatus::ReauthenticationRequired,
        connected_by: "Ada".into(),
        connected_at: at,
        last_checked_at: None,
        last_data_at: Some(at),
    });
    #[derive(serde::Serialize)]
    enum Shapes {
        Unit,
        Newtype(u8),
        Tuple(i32, bool),
        Struct { a: Vec<u16>, b: Option<()> },
    }
    same(&[Shapes::Unit, Shapes::Newtype(7), Shapes::Tuple(-3, true), Shapes::Struct { a: vec![1, 65535], b: None }]);
    same(&(1.5f64, 'x', (), u64::from(u32::MAX)));
    same(&std::collections::BTreeMap::from([("b", 1), ("a", 2)]));
}

/// Only English is in the wasm: another language reads English until its texts are fetched, and stays
/// English when they cannot be (this test server has no texts files: the app then shows English).
#[wasm_bindgen_test]
async fn a_language_whose_texts_cannot_be_fetched_reads_english() {
    use connections::i18n;
    assert!(i18n::ready(Locale::en));
    assert!(!i18n::ready(Locale::nl));
    assert_eq!(i18n::text(Locale::nl, 0, "in English"), "in English");
    i18n::load(Locale::nl).await;
    assert!(!i18n::ready(Locale::nl));
    assert_eq!(i18n::text(Locale::nl, 0, "in English"), "in English");
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

fn connection(id: &str, name: &str, status: ConnectionStatus) -> ConnectionView {
    ConnectionView {
        id: id.into(),
        provider: "stripe".into(),
        account_id: format!("acct_{id}"),
        account_name: name.into(),
        livemode: Some(false),
        mode: None,
        scope: "read_only".into(),
        status,
        connected_by: "Ada Admin".into(),
        connected_at: Timestamp::parse_rfc3339("2026-11-22T10:00:00Z").unwrap(),
        last_checked_at: None,
        last_data_at: None,
    }
}

#[wasm_bindgen_test]
fn rows_are_drawn_once_updated_in_the_same_tr_with_focus_kept_and_reordered() {
    let document = web_sys::window().unwrap().document().unwrap();
    let body = document.create_element("tbody").unwrap();
    document.body().unwrap().append_child(&body).unwrap();
    let look = RowLook {
        locale: Locale::en,
        show_mode: true,
        format_tags: vec!["en-US".to_owned()].into(),
        provider_name: Box::new(|_| "Stripe".to_owned()),
        key_based: Box::new(|_| false),
        detail_href: Box::new(|id| format!("/connections/{id}")),
    };
    let mut rows = Rows::new(look).unwrap();
    let (acme, globex) = (connection("c1", "Acme", ConnectionStatus::Connected), connection("c2", "Globex", ConnectionStatus::Connected));
    rows.draw(&body, &[acme.clone(), globex.clone()]);
    let tr = |i: u32| body.children().item(i).unwrap();
    assert_eq!(body.children().length(), 2);
    let first = tr(0);
    assert_eq!(first.get_attribute("data-connection-id").as_deref(), Some("c1"));
    assert_eq!(first.query_selector("th a").unwrap().unwrap().get_attribute("href").as_deref(), Some("/connections/c1"));
    let labels: Vec<String> = (0..first.children().length()).filter_map(|i| first.children().item(i)?.get_attribute("data-label")).collect();
    // The columns an admin scans (the rest is on the connection's page), labelled for cards.
    assert_eq!(labels, ["Provider", "Mode", "Status", "Last data point"]);
    let buttons = |row: &web_sys::Element| {
        let found = row.query_selector_all("button").unwrap();
        (0..found.length()).map(|i| found.item(i).unwrap().unchecked_into::<web_sys::Element>().get_attribute("aria-label").unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(buttons(&first), ["Check Acme", "Disconnect Acme"]);

    // Acme's access lapses while its Check button has focus: the same <tr>, new cells, focus back.
    first.query_selector("button[data-action=check]").unwrap().unwrap().unchecked_into::<web_sys::HtmlElement>().focus().unwrap();
    let lapsed = ConnectionView { status: ConnectionStatus::ReauthenticationRequired, ..acme.clone() };
    rows.draw(&body, &[lapsed, globex.clone()]);
    assert!(tr(0).is_same_node(Some(&first)), "the same <tr>");
    assert!(first.text_content().unwrap().contains("Reauthentication required"));
    assert_eq!(buttons(&first), ["Reauthenticate Acme", "Check Acme", "Disconnect Acme"]);
    let focused = document.active_element().unwrap();
    assert_eq!(focused.get_attribute("aria-label").as_deref(), Some("Check Acme"), "focus stays on the button it was on");

    // Sorted the other way: the same two <tr>s, swapped; unchanged rows are not drawn again.
    let second = tr(1);
    let globex_link = second.query_selector("th a").unwrap().unwrap();
    rows.draw(&body, &[globex, ConnectionView { status: ConnectionStatus::ReauthenticationRequired, ..acme }]);
    assert!(tr(0).is_same_node(Some(&second)) && tr(1).is_same_node(Some(&first)));
    assert!(second.query_selector("th a").unwrap().unwrap().is_same_node(Some(&globex_link)), "an unchanged row keeps its cells");

    // Just connected: the row says so, and only that row.
    rows.highlight(Some("c2".into()));
    assert!(second.class_list().contains("cx-row-new") && second.query_selector(".cx-tag").unwrap().is_some());
    assert!(!first.class_list().contains("cx-row-new"));
    rows.highlight(None);
    assert!(!second.class_list().contains("cx-row-new") && second.query_selector(".cx-tag").unwrap().is_none());
    body.remove();
}
