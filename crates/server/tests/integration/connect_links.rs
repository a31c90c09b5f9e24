//! Connect links (issue 23): an administrator or the product's backend makes a link; whoever holds it
//! connects (or reconnects) one provider for one workspace, once, with no session, and nothing else.

use crate::service_api::{conforms, resolve, service_keys_arg, SERVICE_KEY};
use crate::support;

use connections_testkit::flow::Attempt;
use serde_json::{json, Value};
use support::{admin, assert_problem, spawn_app, spawn_app_with, token, token_in, TestApp};

const ACME: &str = "acct_1DemoAcmeBooks00";
const LINK_PATHS: [&str; 4] = ["/api/link", "/api/link/attempts", "/api/link/grants", "/api/link/keys"];

/// Makes a link as `session`; answers the created body.
async fn make_link(app: &TestApp, session: &str, body: Value) -> Value {
    let response = app.post("/api/connect-links", Some(session), &body).send().await.unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

/// The token of a link's address (`PUBLIC_URL/connect/<token>`).
fn token_of(created: &Value) -> String {
    let url = created["url"].as_str().unwrap();
    url.rsplit_once("/connect/").unwrap().1.to_owned()
}

fn link_body(expires_in_secs: i64) -> Value {
    json!({ "provider": "stripe", "expires_in_secs": expires_in_secs, "note": "For the Q4 board pack" })
}

/// What the link page does, with no session: open, register an attempt, consent as `email`, grant.
async fn connect_through(app: &TestApp, link_token: &str, email: &str) -> reqwest::Response {
    let opened = app.post("/api/link", None, &json!({ "token": link_token })).send().await.unwrap();
    assert_eq!(opened.status(), 200, "{}", opened.text().await.unwrap());
    let attempt = Attempt::new();
    let mut body = attempt.body();
    body["token"] = json!(link_token);
    let started = app.post("/api/link/attempts", None, &body).send().await.unwrap();
    assert_eq!(started.status(), 201, "{}", started.text().await.unwrap());
    let started: Value = started.json().await.unwrap();
    let url = url::Url::parse(started["authorize_url"].as_str().unwrap()).unwrap();
    let params = app.authorize_at(&url, email).await;
    assert_eq!(params.get("state"), Some(&attempt.state));
    let mut grant = attempt.grant(&params["code"]);
    grant["token"] = json!(link_token);
    app.post("/api/link/grants", None, &grant).send().await.unwrap()
}

async fn links(app: &TestApp, session: &str) -> Vec<Value> {
    let body: Value = app.get("/api/connect-links", Some(session)).send().await.unwrap().json().await.unwrap();
    body["links"].as_array().unwrap().clone()
}

async fn audit_details(app: &TestApp) -> Vec<String> {
    let body: Value = app.get("/api/audit", Some(&admin())).send().await.unwrap().json().await.unwrap();
    body["events"].as_array().unwrap().iter().map(|event| format!("{}: {}", event["actor"].as_str().unwrap(), event["detail"].as_str().unwrap())).collect()
}

#[tokio::test]
async fn an_admin_makes_a_link_and_the_owner_connects_through_it_once_with_no_session() {
    let app = spawn_app().await;
    let created = make_link(&app, &admin(), link_body(72 * 3600)).await;
    let link_token = token_of(&created);
    assert!(created["url"].as_str().unwrap().starts_with(&format!("{}/connect/", app.state.public_url.as_str().trim_end_matches('/'))), "{created}");
    assert_eq!(link_token.len(), 43, "256 bits, base64url");
    assert!(!app.stored_in_plain_text(&link_token).await, "only the token's hash is stored");
    let expires_at = chrono::DateTime::parse_from_rfc3339(created["expires_at"].as_str().unwrap()).unwrap().timestamp();
    assert!((expires_at - chrono::Utc::now().timestamp() - 72 * 3600).abs() < 60);

    let listed = links(&app, &admin()).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "open");
    assert_eq!(listed[0]["created_by"], "admin-1 name");
    assert!(listed[0].get("token").is_none() && !listed[0].to_string().contains(&link_token), "never the token again");

    let page: Value = app.post("/api/link", None, &json!({ "token": link_token })).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["company"], "acme", "no display name in the session: the workspace id");
    assert_eq!(page["asked_by"], "admin-1 name");
    assert_eq!(page["note"], "For the Q4 board pack");
    assert_eq!(page["provider"]["id"], "stripe");
    assert!(!page["provider"]["data_synced"].as_array().unwrap().is_empty());
    assert!(!page["provider"]["access_summary"].as_str().unwrap().is_empty());

    let granted = connect_through(&app, &link_token, provider_standin::DEMO_EMAIL).await;
    assert_eq!(granted.status(), 201);
    let granted: Value = granted.json().await.unwrap();
    assert_eq!(granted["outcome"], "created");
    assert!(granted.get("id").is_none() && granted.get("scope").is_none(), "the person with the link is told the account, no more: {granted}");

    let connections = app.connections().await;
    assert_eq!(connections.len(), 1);
    assert_eq!(connections[0]["account_id"], ACME);
    assert_eq!(connections[0]["connected_by"], "a link made by admin-1 name");
    let listed = links(&app, &admin()).await;
    assert_eq!(listed[0]["status"], "used");
    assert_eq!(listed[0]["used_by_connection"], connections[0]["id"]);
    let audit = audit_details(&app).await;
    assert!(audit.iter().any(|line| line.ends_with("Connected with Stripe through a link made by admin-1 name")), "{audit:?}");
    assert!(audit.iter().any(|line| line.contains("Link made by admin-1 name for Stripe")), "creation audited: {audit:?}");
    // The opening is written after the answer.
    for _ in 0..100 {
        if audit_details(&app).await.iter().any(|line| line.ends_with("Link made by admin-1 name opened")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(audit_details(&app).await.iter().any(|line| line.ends_with("Link made by admin-1 name opened")), "opening audited");

    // Used up: the page and every step say so, and a second account cannot come in through it.
    assert_problem(app.post("/api/link", None, &json!({ "token": link_token })).send().await.unwrap(), 410, "link_used").await;
    let mut attempt = Attempt::new().body();
    attempt["token"] = json!(link_token);
    assert_problem(app.post("/api/link/attempts", None, &attempt).send().await.unwrap(), 410, "link_used").await;
}

#[tokio::test]
async fn a_link_attempt_is_bound_to_its_link_and_an_admin_attempt_to_its_session() {
    let app = spawn_app().await;
    let link_token = token_of(&make_link(&app, &admin(), link_body(3600)).await);
    // The link's attempt, finished through the admin's grant route: no attempt of that session.
    let attempt = Attempt::new();
    let mut body = attempt.body();
    body["token"] = json!(link_token);
    assert_eq!(app.post("/api/link/attempts", None, &body).send().await.unwrap().status(), 201);
    let code = app.consent_at_stripe(&attempt, provider_standin::DEMO_EMAIL).await;
    assert_problem(app.send_grant(&admin(), &code, &attempt.state, &attempt.verifier).await, 400, "unknown_attempt").await;
    // An admin's attempt, finished through the link: no attempt of that link.
    let (admin_attempt, url) = app.start_attempt_for("stripe", &admin()).await;
    let params = app.authorize_at(&url, provider_standin::DEMO_EMAIL).await;
    let mut grant = admin_attempt.grant(&params["code"]);
    grant["token"] = json!(link_token);
    assert_problem(app.post("/api/link/grants", None, &grant).send().await.unwrap(), 400, "unknown_attempt").await;
    // A wrong verifier fails as the admin's does.
    let attempt = Attempt::new();
    let mut body = attempt.body();
    body["token"] = json!(link_token);
    app.post("/api/link/attempts", None, &body).send().await.unwrap();
    let code = app.consent_at_stripe(&attempt, provider_standin::DEMO_EMAIL).await;
    let mut grant = json!({ "code": code, "state": attempt.state, "code_verifier": Attempt::new().verifier, "token": link_token });
    assert_problem(app.post("/api/link/grants", None, &grant).send().await.unwrap(), 400, "pkce_mismatch").await;
    // The attempt was consumed: the right verifier now finds nothing.
    grant["code_verifier"] = json!(attempt.verifier);
    assert_problem(app.post("/api/link/grants", None, &grant).send().await.unwrap(), 400, "unknown_attempt").await;
    assert!(app.connections().await.is_empty());
    assert_eq!(links(&app, &admin()).await[0]["status"], "open", "nothing connected: the link is still open");
}

#[tokio::test]
async fn expired_revoked_and_unknown_links_say_so_and_offer_nothing() {
    let app = spawn_app().await;
    let expired = token_of(&make_link(&app, &admin(), link_body(3600)).await);
    let revoked_link = make_link(&app, &admin(), link_body(3600)).await;
    let revoked = token_of(&revoked_link);
    app.sql(&format!("UPDATE connect_links SET expires_at = {} WHERE id <> '{}'", chrono::Utc::now().timestamp() - 1, revoked_link["id"].as_str().unwrap()))
        .await;
    let open = |token: &str| app.post("/api/link", None, &json!({ "token": token })).send();
    let expired_answer = assert_problem(open(&expired).await.unwrap(), 410, "link_expired").await;
    // An unknown token answers exactly as an expired one (but for the request id).
    let unknown = assert_problem(open(&connections_testkit::flow::random_b64url(32)).await.unwrap(), 410, "link_expired").await;
    assert_eq!(expired_answer["detail"], unknown["detail"]);
    assert_eq!(expired_answer["title"], unknown["title"]);
    assert_problem(open("not a token at all").await.unwrap(), 410, "link_expired").await;

    let id = revoked_link["id"].as_str().unwrap();
    assert_eq!(app.http.delete(format!("{}/api/connect-links/{id}", app.url)).bearer_auth(admin()).send().await.unwrap().status(), 204);
    assert_problem(open(&revoked).await.unwrap(), 410, "link_revoked").await;
    let mut attempt = Attempt::new().body();
    attempt["token"] = json!(revoked);
    assert_problem(app.post("/api/link/attempts", None, &attempt).send().await.unwrap(), 410, "link_revoked").await;
    // Revoking again, or an expired one: nothing open of that id.
    let again = app.http.delete(format!("{}/api/connect-links/{id}", app.url)).bearer_auth(admin()).send().await.unwrap();
    assert_problem(again, 404, "not_found").await;

    let statuses: Vec<Value> = links(&app, &admin()).await.iter().map(|link| link["status"].clone()).collect();
    assert!(statuses.contains(&json!("expired")) && statuses.contains(&json!("revoked")), "{statuses:?}");
    // Expiring is audited, once, by the background round.
    connections_server::services::maintenance::housekeeping(&app.state).await;
    connections_server::services::maintenance::housekeeping(&app.state).await;
    let audit = audit_details(&app).await;
    assert_eq!(audit.iter().filter(|line| line.ends_with("expired unused")).count(), 1, "{audit:?}");
    assert!(audit.iter().any(|line| line.contains("revoked by admin-1 name")), "{audit:?}");
}

#[tokio::test]
async fn links_are_for_admins_of_their_own_workspace_only() {
    let app = spawn_app().await;
    let created = make_link(&app, &admin(), link_body(3600)).await;
    let id = created["id"].as_str().unwrap();
    let globex = token_in("globex", "admin", "grace");
    assert!(links(&app, &globex).await.is_empty());
    let delete = |session: String| app.http.delete(format!("{}/api/connect-links/{id}", app.url)).bearer_auth(session).send();
    assert_problem(delete(globex.clone()).await.unwrap(), 404, "not_found").await;
    assert_problem(delete(token("viewer", "v1")).await.unwrap(), 403, "admin_required").await;
    assert_problem(app.get("/api/connect-links", Some(&token("viewer", "v1"))).send().await.unwrap(), 403, "admin_required").await;
    assert_problem(app.post("/api/connect-links", Some(&token("viewer", "v1")), &link_body(3600)).send().await.unwrap(), 403, "admin_required").await;
    assert_problem(app.post("/api/connect-links", None, &link_body(3600)).send().await.unwrap(), 401, "unauthenticated").await;
    // A reconnect link for another workspace's connection: not found.
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let body = json!({ "provider": "stripe", "expires_in_secs": 3600, "connection_id": connection["id"] });
    assert_problem(app.post("/api/connect-links", Some(&globex), &body).send().await.unwrap(), 404, "not_found").await;
    assert_eq!(links(&app, &admin()).await[0]["status"], "open", "still open");
    // Lifetimes from one hour to seven days, a known provider.
    for (lifetime, provider) in [(3599, "stripe"), (7 * 24 * 3600 + 1, "stripe"), (3600, "paypal")] {
        let body = json!({ "provider": provider, "expires_in_secs": lifetime });
        let status = app.post("/api/connect-links", Some(&admin()), &body).send().await.unwrap().status().as_u16();
        assert!(status == 400 || status == 404, "{lifetime} {provider}: {status}");
    }
}

#[tokio::test]
async fn a_reconnect_link_ends_on_the_same_account_or_says_it_did_not() {
    let app = spawn_app().await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap();
    app.standin.revoke_access(ACME);
    let checked: Value = app.post(&format!("/api/connections/{id}/check"), Some(&admin()), &json!({})).send().await.unwrap().json().await.unwrap();
    assert_eq!(checked["status"], "reauthentication_required");

    let link_token = token_of(&make_link(&app, &admin(), json!({ "provider": "stripe", "expires_in_secs": 3600, "connection_id": id })).await);
    let page: Value = app.post("/api/link", None, &json!({ "token": link_token })).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["reconnect_account"], connection["account_name"]);
    // Another account at the provider: refused, nothing changed, the link still open.
    let wrong = connect_through(&app, &link_token, "finance@globex.test").await;
    assert_problem(wrong, 409, "link_wrong_account").await;
    assert_eq!(app.connections().await.len(), 1);
    assert_eq!(app.connections().await[0]["status"], "reauthentication_required");
    assert_eq!(links(&app, &admin()).await[0]["status"], "open");

    let right = connect_through(&app, &link_token, provider_standin::DEMO_EMAIL).await;
    assert_eq!(right.status(), 200);
    assert_eq!(right.json::<Value>().await.unwrap()["outcome"], "renewed");
    let after = app.connections().await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["id"], connection["id"]);
    assert_eq!(after[0]["status"], "connected");
    assert_eq!(after[0]["connected_by"], "a link made by admin-1 name");
}

#[tokio::test]
async fn outgoing_webhooks_carry_the_link_they_came_through() {
    let port = support::free_port();
    let app = spawn_app_with(&[&format!("--webhook-url=http://127.0.0.1:{port}/hooks"), "--webhook-secret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]).await;
    app.connect(&token("admin", "admin-2"), provider_standin::DEMO_EMAIL).await;
    let created = make_link(&app, &admin(), link_body(3600)).await;
    app.standin.revoke_access(ACME);
    assert!(connect_through(&app, &token_of(&created), provider_standin::DEMO_EMAIL).await.status().is_success());
    let payloads: Vec<(String, String)> =
        sqlx::query_as("SELECT event_type, payload FROM webhook_outbox ORDER BY id").fetch_all(app.state.db.pool()).await.unwrap();
    assert_eq!(payloads.len(), 2, "{payloads:?}");
    let first: Value = serde_json::from_str(&payloads[0].1).unwrap();
    assert!(first["data"].get("via_link").is_none(), "the admin's own connect: {first}");
    let second: Value = serde_json::from_str(&payloads[1].1).unwrap();
    assert_eq!(payloads[1].0, "connection.reauthenticated");
    assert_eq!(second["data"]["via_link"], created["id"], "{second}");
}

#[tokio::test]
async fn making_and_opening_links_are_rate_limited() {
    let app = spawn_app_with(&["--rate-limit-per-minute=3"]).await;
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(make_link(&app, &admin(), link_body(3600)).await);
    }
    assert_problem(app.post("/api/connect-links", Some(&admin()), &link_body(3600)).send().await.unwrap(), 429, "rate_limited").await;
    let link_token = token_of(&made[0]);
    for _ in 0..3 {
        assert_eq!(app.post("/api/link", None, &json!({ "token": link_token })).send().await.unwrap().status(), 200);
    }
    assert_problem(app.post("/api/link", None, &json!({ "token": link_token })).send().await.unwrap(), 429, "rate_limited").await;
    // Unknown tokens are counted the same way.
    let unknown = connections_testkit::flow::random_b64url(32);
    for _ in 0..3 {
        assert_eq!(app.post("/api/link", None, &json!({ "token": unknown })).send().await.unwrap().status(), 410);
    }
    assert_problem(app.post("/api/link", None, &json!({ "token": unknown })).send().await.unwrap(), 429, "rate_limited").await;
}

/// Every route of the server, as its router is written (`routes/mod.rs`, `routes/service.rs`):
/// `(method, path)` with `paths::` constants resolved from the wire crate.
fn every_route() -> Vec<(reqwest::Method, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let wire = std::fs::read_to_string(root.join("../wire/src/lib.rs")).unwrap();
    let constant = |name: &str| -> String {
        let at = wire.find(&format!("pub const {name}: &str = \"")).unwrap_or_else(|| panic!("paths::{name}"));
        let rest = &wire[at..];
        let start = rest.find('"').unwrap() + 1;
        rest[start..start + rest[start..].find('"').unwrap()].to_owned()
    };
    let mut routes = Vec::new();
    for file in ["src/routes/mod.rs", "src/routes/service.rs"] {
        let source = std::fs::read_to_string(root.join(file)).unwrap();
        for call in source.split(".route(").skip(1) {
            let (path, rest) = call.split_once(',').unwrap();
            let path = path.trim();
            let path = match path.strip_prefix("paths::") {
                Some(name) => constant(name),
                None => path.trim_matches('"').to_owned(),
            };
            // The handlers up to the closing parenthesis of this `.route(`.
            let mut depth = 1;
            let end = rest.char_indices().find(|&(_, c)| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                depth == 0
            });
            let handlers = &rest[..end.unwrap().0];
            for (name, method) in [("get(", "GET"), ("post(", "POST"), ("delete(", "DELETE"), ("any(", "PATCH")] {
                if handlers.trim_start().starts_with(name) || handlers.contains(&format!(".{name}")) {
                    routes.push((method.parse().unwrap(), path.clone()));
                }
            }
        }
    }
    routes
}

#[tokio::test]
async fn a_links_token_opens_nothing_else_under_api_or_service_route_by_route() {
    let keys = service_keys_arg();
    let app = spawn_app_with(&[&keys]).await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let created = make_link(&app, &admin(), link_body(3600)).await;
    let link_token = token_of(&created);
    let routes = every_route();
    assert!(routes.len() >= 25, "the router's routes were read: {routes:?}");
    for known in ["/api/connections", "/api/connect-links", "/service/v1/connect-links", "/api/link/grants", "/service/v1/connections/{id}/access-token"] {
        assert!(routes.iter().any(|(_, path)| path == known), "{known} not among {routes:?}");
    }
    let mut tried = 0;
    for (method, path) in &routes {
        if LINK_PATHS.contains(&path.as_str()) {
            continue;
        }
        let real = path
            .replace("{provider}", "stripe")
            .replace("{id}", connection["id"].as_str().unwrap())
            .replace("{*rest}", "connections")
            .replace("{token}", &link_token);
        let body = json!({ "token": link_token, "provider": "stripe", "expires_in_secs": 3600, "org": "acme", "created_by": "x" });
        // The token every way a request can carry one: bearer, cookie, body, query.
        let request = app
            .http
            .request(method.clone(), format!("{}{real}?token={link_token}&org=acme", app.url))
            .bearer_auth(&link_token)
            .header("cookie", format!("connections_session={link_token}"))
            .json(&body);
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        if (200..300).contains(&status) {
            // Only what answers anyone at all (the demo's sign-out, the OpenAPI file): the same
            // answer with no token.
            let anyone = app.http.request(method.clone(), format!("{}{real}", app.url)).send().await.unwrap();
            assert_eq!(anyone.status().as_u16(), status, "{method} {path} answered {status} to a link's token: {text}");
            assert_eq!(anyone.text().await.unwrap(), text, "{method} {path}");
        }
        assert!(!text.contains(ACME) && !text.contains("\"acme\""), "{method} {path} told something: {text}");
        tried += 1;
    }
    assert!(tried >= 22, "{tried}");
    // And nothing changed.
    assert_eq!(app.connections().await.len(), 1);
    assert_eq!(links(&app, &admin()).await.len(), 1);
}

fn service(app: &TestApp, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    app.http.request(method, format!("{}{path}", app.url)).bearer_auth(SERVICE_KEY)
}

#[tokio::test]
async fn the_service_api_makes_lists_and_revokes_links_as_its_openapi_file_says() {
    let keys = service_keys_arg();
    let app = spawn_app_with(&[&keys]).await;
    let doc: Value = app.http.get(format!("{}/service/v1/openapi.json", app.url)).send().await.unwrap().json().await.unwrap();
    let schema_of = |path: &str, method: &str, status: &str| {
        let response = resolve(&doc, &doc["paths"][path][method]["responses"][status]).clone();
        response["content"]["application/json"]["schema"].clone()
    };
    let body =
        json!({ "org": "acme", "provider": "stripe", "expires_in_secs": 7200, "created_by": "Ada", "note": "Please connect Stripe", "org_name": "Acme Inc." });
    conforms(&doc, &doc["components"]["schemas"]["NewConnectLink"], &body, "request");
    let created = service(&app, reqwest::Method::POST, "/service/v1/connect-links").json(&body).send().await.unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    conforms(&doc, &schema_of("/service/v1/connect-links", "post", "201"), &created, "created");
    let link_token = token_of(&created);

    let listed = service(&app, reqwest::Method::GET, "/service/v1/connect-links?org=acme").send().await.unwrap();
    assert_eq!(listed.status(), 200);
    let listed: Value = listed.json().await.unwrap();
    conforms(&doc, &schema_of("/service/v1/connect-links", "get", "200"), &listed, "listed");
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["data"][0]["created_by"], "Ada");
    assert_eq!(listed["data"][0]["id"], created["id"]);
    let other: Value = service(&app, reqwest::Method::GET, "/service/v1/connect-links?org=globex").send().await.unwrap().json().await.unwrap();
    assert!(other["data"].as_array().unwrap().is_empty());
    // The admins of the workspace see it too, and the page names the company as the backend did.
    assert_eq!(links(&app, &admin()).await.len(), 1);
    let page: Value = app.post("/api/link", None, &json!({ "token": link_token })).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["company"], "Acme Inc.");
    assert_eq!(page["asked_by"], "Ada");

    let id = created["id"].as_str().unwrap();
    // Revoked within its workspace only.
    assert_problem(service(&app, reqwest::Method::DELETE, &format!("/service/v1/connect-links/{id}?org=globex")).send().await.unwrap(), 404, "not_found").await;
    assert_problem(service(&app, reqwest::Method::DELETE, &format!("/service/v1/connect-links/{id}")).send().await.unwrap(), 400, "invalid_request").await;
    let revoked = service(&app, reqwest::Method::DELETE, &format!("/service/v1/connect-links/{id}?org=acme")).send().await.unwrap();
    assert_eq!(revoked.status(), 204);
    assert!(doc["paths"]["/service/v1/connect-links/{id}"]["delete"]["responses"]["204"].is_object());
    let listed: Value = service(&app, reqwest::Method::GET, "/service/v1/connect-links?org=acme").send().await.unwrap().json().await.unwrap();
    assert!(listed["data"].as_array().unwrap().is_empty(), "only open links: {listed}");
    assert_problem(app.post("/api/link", None, &json!({ "token": link_token })).send().await.unwrap(), 410, "link_revoked").await;

    // Refusals are documented problems.
    for (bad, status) in [
        (json!({ "org": "acme", "provider": "stripe", "expires_in_secs": 60, "created_by": "Ada" }), "400"),
        (json!({ "org": "acme", "provider": "stripe", "expires_in_secs": 3600 }), "400"),
        (json!({ "org": "acme", "provider": "paypal", "expires_in_secs": 3600, "created_by": "Ada" }), "404"),
        (json!({ "org": "acme", "provider": "stripe", "expires_in_secs": 3600, "created_by": "Ada", "connection_id": "conn_nope" }), "404"),
    ] {
        let response = service(&app, reqwest::Method::POST, "/service/v1/connect-links").json(&bad).send().await.unwrap();
        assert_eq!(response.status().as_u16().to_string(), status, "{bad}");
        assert!(doc["paths"]["/service/v1/connect-links"]["post"]["responses"][status].is_object());
    }
    // Without a key, or from a browser: refused.
    assert_problem(app.http.post(format!("{}/service/v1/connect-links", app.url)).json(&body).send().await.unwrap(), 401, "unauthenticated").await;
    let from_browser = service(&app, reqwest::Method::POST, "/service/v1/connect-links").header("origin", "https://evil.example").json(&body);
    assert_problem(from_browser.send().await.unwrap(), 403, "browser_context").await;
}
