//! Work the server does on its own, on an interval: health checks of every connection and the
//! keep-alive renewal of idle ones (on one instance at a time, by a lease in the database), the
//! audit trail's retention, and withdrawing provider-started installs nobody answered.

use std::time::Duration;

use chrono::Utc;

use super::{lifecycle, tokens, Core};
use crate::crypto::TokenKind;

/// Without health checks, housekeeping (and the keep-alive) still runs this often.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(3600);
pub(crate) const HEALTH_CHECK_LEASE: &str = "health_check";

/// Runs until aborted. The first round is one interval after start-up.
pub(crate) async fn run(state: Core, health_checks: Option<Duration>) {
    let every = health_checks.unwrap_or(HOUSEKEEPING_EVERY);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    let holder = format!("instance-{}", uuid::Uuid::new_v4().simple());
    loop {
        ticks.tick().await;
        round_if_leased(&state, &holder, every, health_checks.is_some()).await;
        housekeeping(&state).await;
    }
}

/// Runs the health checks if this instance gets the lease for this interval; with several
/// instances, each interval's checks run on one of them. Answers whether it ran them.
pub async fn checks_if_leased(state: &Core, holder: &str, every: Duration) -> bool {
    round_if_leased(state, holder, every, true).await
}

/// One background round, if this instance gets the lease for this interval: the health checks (when
/// on), then the keep-alive of connections whose refresh token sat unused for the configured
/// `CONNECTIONS_KEEPALIVE_DAYS`. Answers whether it ran.
pub async fn round_if_leased(state: &Core, holder: &str, every: Duration, health_checks: bool) -> bool {
    let now = Utc::now().timestamp();
    // A little short of the interval, so the holder's next round finds its own lease expired.
    let until = now + (every.as_secs() as i64 - 1).max(1);
    match state.db.acquire_lease(HEALTH_CHECK_LEASE, holder, now, until).await {
        Ok(true) => {
            if health_checks {
                lifecycle::check_all(state).await;
            }
            keep_alive(state, state.keepalive).await;
            true
        }
        Ok(false) => false,
        Err(error) => {
            tracing::warn!(%error, "background round: could not take the lease");
            false
        }
    }
}

/// Renews every connection whose refresh token has not been used for `idle`, so that none ages out
/// at its provider (a refresh token unused for long may expire there). Each renewal is the usual
/// one: leased, in a task of its own, and skipped when another renewal of the row is under way.
pub async fn keep_alive(state: &Core, idle: Duration) -> usize {
    let idle_secs = i64::try_from(idle.as_secs()).unwrap_or(i64::MAX / 2);
    let records = match state.db.idle_connections(idle_secs).await {
        Ok(records) => records,
        Err(error) => {
            tracing::warn!(%error, "keep-alive: could not list idle connections");
            return 0;
        }
    };
    let mut renewed = 0;
    for record in records {
        let id = record.view.id.clone();
        let Some(provider) = state.providers.get(&record.view.provider) else { continue };
        let seen = record.token_version;
        match tokens::renew(state, &provider, record, seen).await {
            Ok(_) => {
                renewed += 1;
                tracing::info!(connection = %id, "idle connection renewed (keep-alive)");
            }
            Err(error) => tracing::warn!(connection = %id, %error, "keep-alive renewal failed"),
        }
    }
    renewed
}

/// Counted requests older than this are deleted (the rate limit looks back one minute).
const RATE_EVENTS_KEPT_SECS: i64 = 3600;

/// The retention of the audit trail and of outgoing webhook events (delivered or given up), counted
/// requests past their minute deleted, and installs left unanswered withdrawn at their provider.
pub async fn housekeeping(state: &Core) {
    let now = Utc::now().timestamp();
    match state.db.prune_events(now - state.event_retention_secs).await {
        Ok(0) => {}
        Ok(pruned) => tracing::info!(pruned, "audit events past their retention deleted"),
        Err(error) => tracing::warn!(%error, "could not prune the audit trail"),
    }
    match state.db.prune_outbox((now - state.event_retention_secs).saturating_mul(1000)).await {
        Ok(0) => {}
        Ok(pruned) => tracing::info!(pruned, "outgoing webhook events past their retention deleted"),
        Err(error) => tracing::warn!(%error, "could not prune the outbox"),
    }
    match state.db.prune_rate_events(now - RATE_EVENTS_KEPT_SECS).await {
        Ok(0) => {}
        Ok(pruned) => tracing::debug!(pruned, "counted requests past the rate limit's window deleted"),
        Err(error) => tracing::warn!(%error, "could not prune the rate limit's counts"),
    }
    match super::links::record_expired(&state.db).await {
        Ok(0) => {}
        Ok(expired) => tracing::info!(expired, "connect links expired unused"),
        Err(error) => tracing::warn!(%error, "could not record expired connect links"),
    }
    withdraw_expired_installs(state, now).await;
}

/// Installs nobody confirmed in time: deleted here, and withdrawn at the provider where its dialect
/// has a call for it, so no authorization is left behind that nothing here knows of.
pub(crate) async fn withdraw_expired_installs(state: &Core, now: i64) {
    let installs = match state.db.take_expired_installs(now).await {
        Ok(installs) => installs,
        Err(error) => {
            tracing::warn!(%error, "could not read expired installs");
            return;
        }
    };
    for install in installs {
        let Some(provider) = state.providers.get(&install.provider) else { continue };
        let open = |kind, stored: &[u8]| state.cipher.open(&install.provider, &install.account_id, kind, stored).ok();
        let access = open(TokenKind::Access, &install.access_token);
        let refresh = install.refresh_token.as_deref().and_then(|t| open(TokenKind::Refresh, t));
        // Not when the account is connected in that workspace, or in any where the revocation would
        // end the whole account's authorization: withdrawing would cut a working connection.
        match lifecycle::withdraw_unused(&state.db, &provider, &install.workspace, Some(&install.account_id), refresh.as_ref(), access.as_ref()).await {
            Ok(Some(outcome)) => tracing::info!(provider = provider.id(), ?outcome, "expired install withdrawn"),
            Ok(None) => {}
            Err(lifecycle::LifecycleError::Provider(error)) => crate::observability::log_chain(&error),
            Err(error) => tracing::warn!(%error, "expired install: could not check for connections still using the account"),
        }
    }
}
