//! Work the server does on its own, on an interval: health checks of every connection (on one
//! instance at a time, by a lease in the database), the audit trail's retention, and withdrawing
//! provider-started installs nobody answered.

use std::time::Duration;

use chrono::Utc;

use super::lifecycle;
use crate::crypto::TokenKind;
use crate::AppState;

/// Without health checks, housekeeping still runs this often.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(3600);
pub const HEALTH_CHECK_LEASE: &str = "health_check";

/// Runs until aborted. The first round is one interval after start-up.
pub async fn run(state: AppState, health_checks: Option<Duration>) {
    let every = health_checks.unwrap_or(HOUSEKEEPING_EVERY);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    let holder = format!("instance-{}", uuid::Uuid::new_v4().simple());
    loop {
        ticks.tick().await;
        if let Some(every) = health_checks {
            checks_if_leased(&state, &holder, every).await;
        }
        housekeeping(&state).await;
    }
}

/// Runs the health checks if this instance gets the lease for this interval; with several
/// instances, each interval's checks run on one of them. Answers whether it ran them.
pub async fn checks_if_leased(state: &AppState, holder: &str, every: Duration) -> bool {
    let now = Utc::now().timestamp();
    // A little short of the interval, so the holder's next round finds its own lease expired.
    let until = now + (every.as_secs() as i64 - 1).max(1);
    match state.db.acquire_lease(HEALTH_CHECK_LEASE, holder, now, until).await {
        Ok(true) => {
            lifecycle::check_all(state).await;
            true
        }
        Ok(false) => false,
        Err(error) => {
            tracing::warn!(%error, "health check: could not take the lease");
            false
        }
    }
}

/// Counted requests older than this are deleted (the rate limit looks back one minute).
const RATE_EVENTS_KEPT_SECS: i64 = 3600;

/// The retention of the audit trail and of outgoing webhook events (delivered or given up), counted
/// requests past their minute deleted, and installs left unanswered withdrawn at their provider.
pub async fn housekeeping(state: &AppState) {
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
    withdraw_expired_installs(state, now).await;
}

/// Installs nobody confirmed in time: deleted here, and withdrawn at the provider where its dialect
/// has a call for it, so no authorization is left behind that nothing here knows of.
pub async fn withdraw_expired_installs(state: &AppState, now: i64) {
    let installs = match state.db.take_expired_installs(now).await {
        Ok(installs) => installs,
        Err(error) => {
            tracing::warn!(%error, "could not read expired installs");
            return;
        }
    };
    for install in installs {
        let Some(provider) = state.providers.get(&install.provider) else { continue };
        // Not when the account is connected in that workspace: withdrawing would cut a working connection.
        if let Ok(Some(record)) = state.db.connection_by_account(&install.workspace, &install.provider, &install.account_id).await {
            if record.access_token.is_some() {
                continue;
            }
        }
        let open = |kind, stored: &[u8]| state.cipher.open(&install.provider, &install.account_id, kind, stored).ok();
        let access = open(TokenKind::Access, &install.access_token);
        let refresh = install.refresh_token.as_deref().and_then(|t| open(TokenKind::Refresh, t));
        match provider.revoke(&install.account_id, refresh.as_ref(), access.as_ref()).await {
            Ok(outcome) => tracing::info!(provider = provider.id(), ?outcome, "expired install withdrawn"),
            Err(error) => crate::log_chain(&error),
        }
    }
}
