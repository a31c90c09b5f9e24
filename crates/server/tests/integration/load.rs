//! 200 connect flows at once, API level, against the stand-in: 200 connections, no errors, no duplicates.

use crate::support;

use std::collections::HashSet;
use std::sync::Arc;

use provider_standin::{Account, DEMO_PASSWORD};
use support::{spawn_app, token};

const FLOWS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_connect_flows() {
    let app = Arc::new(spawn_app().await);
    for n in 0..FLOWS {
        app.standin.add_account(Account {
            id: format!("acct_1Load{n:06}"),
            email: format!("owner{n}@load.test"),
            password: DEMO_PASSWORD.into(),
            business_name: format!("Load Test {n}"),
            livemode: n % 2 == 0,
        });
    }
    let mut flows = tokio::task::JoinSet::new();
    for n in 0..FLOWS {
        let app = app.clone();
        // One administrator per flow: rate limits are per session.
        flows.spawn(async move { app.connect(&token("admin", &format!("load-admin-{n}")), &format!("owner{n}@load.test")).await });
    }
    let mut ids = HashSet::new();
    while let Some(result) = flows.join_next().await {
        let connection = result.expect("flow completed without error");
        assert!(ids.insert(connection["account_id"].as_str().unwrap().to_owned()), "duplicate {connection}");
    }
    assert_eq!(ids.len(), FLOWS);
    let listed = app.connections().await;
    assert_eq!(listed.len(), FLOWS);
    let distinct: HashSet<_> = listed.iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(distinct.len(), FLOWS, "no duplicate rows");
    assert_eq!(app.standin.token_requests(), FLOWS as u64, "one exchange per flow");
}
