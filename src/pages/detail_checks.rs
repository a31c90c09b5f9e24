//! On a connection's details: whether its data is readable (the data-access check, per table, with
//! the last data point; "Test data access" runs it again), and the outgoing webhook events about it
//! (a failed one can be sent again).

use leptos::prelude::*;

use connections_wire::{ConnectionDetail, DataCheck, DeliveryStatus, TableAccess, TableCheck, WebhookDelivery};

use crate::api::{self, ApiError};
use crate::components::ErrorNotice;
use crate::i18n::{self, td_string, Locale};
use crate::messages;

/// The connection's details, loaded again after a test or a retry (the new result, its history line).
pub type DetailResource = LocalResource<Result<ConnectionDetail, ApiError>>;

#[component]
pub fn DataAccessSection(id: String, check: Option<DataCheck>, can_test: bool, detail: DetailResource) -> impl IntoView {
    let locale = i18n::locale();
    let test = Action::new_local(move |_: &()| {
        let id = id.clone();
        async move {
            let tested = api::data_check(&id).await.map(drop);
            if tested.is_ok() {
                detail.refetch();
            }
            tested
        }
    });
    let error = move || match test.value().get() {
        Some(Err(error)) => Some(view! { <ErrorNotice message=messages::api_error(locale, &error) /> }),
        _ => None,
    };
    view! {
        <section class="cx-section" aria-labelledby="cx-data-access" aria-busy=move || test.pending().get().to_string()>
            <h2 id="cx-data-access">{td_string!(locale, detail.data_access)}</h2>
            {match check {
                None => view! { <p class="cx-muted">{td_string!(locale, detail.not_tested)}</p> }.into_any(),
                Some(check) => view! { <DataCheckTable check /> }.into_any(),
            }}
            {error}
            {can_test.then(|| view! {
                <button class="cx-button" on:click=move |_| { test.dispatch(()); } disabled=move || test.pending().get()>
                    {move || if test.pending().get() { td_string!(locale, detail.testing) } else { td_string!(locale, detail.test_data_access) }}
                </button>
            })}
        </section>
    }
}

#[component]
fn DataCheckTable(check: DataCheck) -> impl IntoView {
    let locale = i18n::locale();
    view! {
        <p class="cx-muted">{td_string!(locale, detail.checked_at, at = i18n::datetime(&check.checked_at))}</p>
        <div class="cx-table-wrap">
            <table class="cx-table cx-data-check cx-cards">
                <thead><tr>
                    <th scope="col">{td_string!(locale, detail.table)}</th><th scope="col">{td_string!(locale, detail.access)}</th>
                    <th scope="col">{td_string!(locale, columns.last_data)}</th>
                </tr></thead>
                <tbody>{check.tables.into_iter().map(|table| view! { <DataCheckRow table /> }).collect_view()}</tbody>
            </table>
        </div>
    }
}

#[component]
fn DataCheckRow(table: TableCheck) -> impl IntoView {
    let locale = i18n::locale();
    let (icon, class) = access_badge(table.access);
    view! {
        <tr>
            <th scope="row" data-label=td_string!(locale, detail.table)>{messages::data_kind(locale, &table.table)}</th>
            // One child per cell: as a card, the cell is a label and one value.
            <td data-label=td_string!(locale, detail.access)><div>
                <span class=class><span aria-hidden="true">{icon}</span><span>{access_label(locale, table.access)}</span></span>
                {table.reason.map(|reason| view! { <span class="cx-muted cx-reason">{reason}</span> })}
            </div></td>
            <td data-label=td_string!(locale, columns.last_data)>{table.newest_at.map(|at| view! { <time datetime=at.to_string()>{i18n::datetime(&at)}</time> }.into_any()).unwrap_or_else(|| "—".into_any())}</td>
        </tr>
    }
}

/// An icon and a colour class beside the words, never colour alone.
pub(super) fn access_badge(access: TableAccess) -> (&'static str, &'static str) {
    match access {
        TableAccess::Readable => ("●", "cx-status cx-status-ok"),
        TableAccess::PermissionMissing | TableAccess::TokenRefused => ("✕", "cx-status cx-status-bad"),
        TableAccess::Unavailable => ("▲", "cx-status cx-status-warn"),
        TableAccess::NotCheckable => ("○", "cx-status cx-status-off"),
    }
}

pub(super) fn access_label(locale: Locale, access: TableAccess) -> &'static str {
    match access {
        TableAccess::Readable => td_string!(locale, detail.readable),
        TableAccess::PermissionMissing => td_string!(locale, detail.permission_missing),
        TableAccess::TokenRefused => td_string!(locale, detail.token_refused),
        TableAccess::Unavailable => td_string!(locale, detail.unavailable),
        TableAccess::NotCheckable => td_string!(locale, detail.not_checkable),
    }
}

/// Shown only when a webhook receiver is configured (there are events).
#[component]
pub fn DeliveriesSection(deliveries: Vec<WebhookDelivery>, detail: DetailResource) -> impl IntoView {
    let locale = i18n::locale();
    (!deliveries.is_empty()).then(|| {
        view! {
            <section class="cx-section" aria-labelledby="cx-deliveries">
                <h2 id="cx-deliveries">{td_string!(locale, detail.deliveries)}</h2>
                <div class="cx-table-wrap">
                    <table class="cx-table cx-deliveries cx-cards">
                        <thead><tr>
                            <th scope="col">{td_string!(locale, detail.when)}</th><th scope="col">{td_string!(locale, detail.event)}</th>
                            <th scope="col">{td_string!(locale, detail.delivery)}</th><th scope="col"><span class="cx-visually-hidden">{td_string!(locale, detail.actions)}</span></th>
                        </tr></thead>
                        <tbody>{deliveries.into_iter().map(|delivery| view! { <DeliveryRow delivery detail /> }).collect_view()}</tbody>
                    </table>
                </div>
            </section>
        }
    })
}

#[component]
fn DeliveryRow(delivery: WebhookDelivery, detail: DetailResource) -> impl IntoView {
    let locale = i18n::locale();
    let id = delivery.id.clone();
    let retry = Action::new_local(move |_: &()| {
        let id = id.clone();
        async move {
            let retried = api::retry_delivery(&id).await.map(drop);
            if retried.is_ok() {
                detail.refetch();
            }
            retried
        }
    });
    let error = move || match retry.value().get() {
        Some(Err(error)) => Some(view! { <span class="cx-reason" role="alert">{messages::api_error(locale, &error)}</span> }),
        _ => None,
    };
    let last_error = delivery.last_error.clone().filter(|_| delivery.status != DeliveryStatus::Delivered);
    view! {
        <tr>
            <td data-label=td_string!(locale, detail.when)><time datetime=delivery.created_at.to_string()>{i18n::datetime(&delivery.created_at)}</time></td>
            <td data-label=td_string!(locale, detail.event)><code>{delivery.event_type.clone()}</code></td>
            <td data-label=td_string!(locale, detail.delivery)><div>
                {delivery_summary(locale, &delivery)}
                {last_error.map(|e| view! { <span class="cx-muted cx-reason">{e}</span> })}
                {error}
            </div></td>
            <td class="cx-row-actions">
                {may_retry(&delivery).then(|| view! {
                    <button class="cx-button cx-button-small" on:click=move |_| { retry.dispatch(()); } disabled=move || retry.pending().get()>
                        {move || if retry.pending().get() { td_string!(locale, detail.retrying) } else { td_string!(locale, detail.retry) }}
                    </button>
                })}
            </td>
        </tr>
    }
}

/// A failed event, or one waiting after failed attempts, can be sent again now.
pub fn may_retry(delivery: &WebhookDelivery) -> bool {
    match delivery.status {
        DeliveryStatus::Failed => true,
        DeliveryStatus::Pending => delivery.attempts > 0,
        DeliveryStatus::Delivered => false,
    }
}

fn delivery_summary(locale: Locale, delivery: &WebhookDelivery) -> String {
    match delivery.status {
        DeliveryStatus::Delivered => format!("✓ {}", td_string!(locale, detail.delivered)),
        DeliveryStatus::Failed => format!("✕ {}", td_string!(locale, detail.delivery_failed, attempts = delivery.attempts)),
        DeliveryStatus::Pending if delivery.attempts == 0 => td_string!(locale, detail.delivery_waiting).to_owned(),
        DeliveryStatus::Pending => {
            let next = delivery.next_attempt_at.map(|at| i18n::datetime(&at)).unwrap_or_default();
            format!("▲ {}", td_string!(locale, detail.delivery_retrying, attempts = delivery.attempts, at = next))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connections_wire::Timestamp;

    fn delivery(status: DeliveryStatus, attempts: u32) -> WebhookDelivery {
        WebhookDelivery {
            id: "msg_1".into(),
            event_type: "connection.created".into(),
            status,
            attempts,
            created_at: Timestamp::from_timestamp(0),
            last_attempt_at: None,
            last_error: None,
            next_attempt_at: None,
            delivered_at: None,
        }
    }

    #[test]
    fn only_failed_or_retried_events_can_be_sent_again() {
        assert!(may_retry(&delivery(DeliveryStatus::Failed, 20)));
        assert!(may_retry(&delivery(DeliveryStatus::Pending, 2)));
        assert!(!may_retry(&delivery(DeliveryStatus::Pending, 0)), "its first attempt is under way");
        assert!(!may_retry(&delivery(DeliveryStatus::Delivered, 1)));
    }

    #[test]
    fn a_delivery_says_where_it_stands() {
        assert_eq!(delivery_summary(Locale::en, &delivery(DeliveryStatus::Delivered, 1)), "✓ Delivered");
        assert_eq!(delivery_summary(Locale::en, &delivery(DeliveryStatus::Failed, 21)), "✕ Failed after 21 attempts");
        assert_eq!(delivery_summary(Locale::de, &delivery(DeliveryStatus::Pending, 0)), "Wird zugestellt");
    }
}
