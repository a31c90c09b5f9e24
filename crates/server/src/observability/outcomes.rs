//! How each thing the server does for a connection ended, counted by provider and outcome. Each is
//! called once, where the outcome is decided; the pass-through ones hand their result back so the
//! call site stays one line.
//!
//! The provider label is a configured provider's id (operator configuration): every caller holds a
//! `Provider` found in the registry, so an id typed into a path never gets here.

use super::names;

fn count(name: &'static str, provider: &str, outcome: &'static str) {
    metrics::counter!(name, "provider" => provider.to_owned(), "outcome" => outcome).increment(1);
}

// The outcomes' labels are given where the outcomes are defined (`services::outcomes`), each by a
// `match` without a catch-all.

/// A posted grant, from its checks to the stored connection.
pub(crate) fn count_grant(provider: &str, outcome: &'static str) {
    count(names::GRANTS, provider, outcome);
}

/// A renewal this instance claimed and asked the provider for.
pub(crate) fn count_renewal(provider: &str, outcome: &'static str) {
    count(names::RENEWALS, provider, outcome);
}

/// A health check's access test: the (possibly renewed) token the provider accepted, or why not.
pub(crate) fn count_health_check(provider: &str, outcome: &'static str) {
    count(names::HEALTH_CHECKS, provider, outcome);
}

/// A disconnect's withdrawal at the provider (`local_only`: the dialect has no call for it).
pub(crate) fn count_disconnect(provider: &str, outcome: &'static str) {
    count(names::DISCONNECTS, provider, outcome);
}

/// A disconnect that could not ask the provider: its stored tokens cannot be decrypted. `removed`:
/// the admin confirmed removing it here only.
pub(crate) fn count_undecryptable_disconnect(provider: &str, removed: bool) {
    count(names::DISCONNECTS, provider, if removed { "removed_locally" } else { "undecryptable" });
}

/// A provider's webhook delivery, verified or refused.
pub(crate) fn count_webhook_event(provider: &str, outcome: &'static str) {
    count(names::WEBHOOK_EVENTS, provider, outcome);
}

/// One attempt to deliver an outgoing webhook event (`delivered`, or `failed` and retried later).
pub(crate) fn count_webhook_delivery(delivered: bool) {
    metrics::counter!(names::WEBHOOK_DELIVERIES, "outcome" => if delivered { "delivered" } else { "failed" }).increment(1);
}
