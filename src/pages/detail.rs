//! One connection: its details and its history (the audit trail of its account).

use leptos::prelude::*;

use connections_wire::{AuditAction, AuditEvent, ConnectionDetail, ConnectionStatus};

use super::detail_checks::{DataAccessSection, DeliveriesSection, DetailResource};
use crate::api;
use crate::catalog::Catalog;
use crate::components::{AdminOnly, Loaded, StatusBadge};
use crate::i18n::{self, td_string, Locale};
use crate::messages;
use crate::navigator::use_navigator;
use crate::routing::Route;

#[component]
pub fn ConnectionDetailPage(id: String) -> impl IntoView {
    let navigator = use_navigator();
    let locale = i18n::locale();
    view! {
        <nav class="cx-breadcrumb" aria-label=td_string!(locale, shell.breadcrumb)>
            <a href=navigator.href(&Route::List)>{td_string!(locale, shell.connections)}</a> " › " <span aria-current="page">{td_string!(locale, detail.breadcrumb)}</span>
        </nav>
        <AdminOnly>
            <Detail id=id.clone() />
        </AdminOnly>
    }
}

#[component]
fn Detail(id: String) -> impl IntoView {
    let detail: DetailResource = LocalResource::new(move || {
        let id = id.clone();
        async move { api::connection(&id).await }
    });
    // For the provider's name; without the list, its id.
    let catalog = LocalResource::new(api::catalog);
    let locale = i18n::locale();
    // "Loading…" until both have answered.
    let data = move || match (detail.get()?, catalog.get()?) {
        (Ok(loaded), catalog) => Some(Ok((loaded, catalog.unwrap_or_default()))),
        (Err(error), _) => Some(Err(error)),
    };
    let show = move |(loaded, catalog)| view! { <Facts loaded catalog detail /> }.into_any();
    view! { <Loaded data loading=td_string!(locale, shell.loading) show /> }
}

/// The connection's facts, its checks and deliveries, and its history.
#[component]
fn Facts(loaded: ConnectionDetail, catalog: Catalog, detail: DetailResource) -> impl IntoView {
    let navigator = use_navigator();
    let locale = i18n::locale();
    let c = loaded.connection;
    view! {
        <h1>{c.account_name.clone()}</h1>
        <dl class="cx-facts">
            <dt>{td_string!(locale, columns.account_id)}</dt><dd><code>{c.account_id.clone()}</code></dd>
            <dt>{td_string!(locale, columns.provider)}</dt><dd>{catalog.name(&c.provider)}</dd>
            {c.shown_mode().map(|mode| view! { <dt>{td_string!(locale, columns.mode)}</dt><dd>{messages::mode_label(locale, mode)}</dd> })}
            <dt>{td_string!(locale, columns.scope_granted)}</dt><dd><code>{c.scope.clone()}</code></dd>
            <dt>{td_string!(locale, columns.status)}</dt><dd><StatusBadge status=c.status /></dd>
            <dt>{td_string!(locale, columns.connected_by)}</dt><dd>{c.connected_by.clone()}</dd>
            <dt>{td_string!(locale, columns.connected_at)}</dt><dd>{i18n::datetime(&c.connected_at)}</dd>
            <dt>{td_string!(locale, columns.last_checked)}</dt><dd>{c.last_checked_at.map(|at| i18n::datetime(&at)).unwrap_or_else(|| td_string!(locale, detail.not_yet).into())}</dd>
            <dt>{td_string!(locale, columns.last_data)}</dt><dd>{c.last_data_at.map(|at| i18n::datetime(&at)).unwrap_or_else(|| "—".into())}</dd>
        </dl>
        <DataAccessSection id=c.id.clone() check=loaded.data_check can_test=matches!(c.status, ConnectionStatus::Connected | ConnectionStatus::ReauthenticationRequired) detail />
        <DeliveriesSection deliveries=loaded.deliveries detail />
        <super::links::SendLink provider=c.provider.clone() connection_id=Some(c.id.clone()) />
        <History history=loaded.history />
        <p><a href=navigator.href(&Route::List)>{td_string!(locale, shell.back_to_connections)}</a></p>
    }
}

#[component]
fn History(history: Vec<AuditEvent>) -> impl IntoView {
    let locale = i18n::locale();
    view! {
        <h2>{td_string!(locale, detail.history)}</h2>
        <div class="cx-table-wrap">
            <table class="cx-table cx-history cx-cards">
                <thead><tr>
                    <th scope="col">{td_string!(locale, detail.when)}</th><th scope="col">{td_string!(locale, detail.what)}</th><th scope="col">{td_string!(locale, detail.outcome)}</th>
                    <th scope="col">{td_string!(locale, detail.who)}</th><th scope="col">{td_string!(locale, detail.detail)}</th>
                </tr></thead>
                <tbody>
                    {history.into_iter().map(|event| view! {
                        <tr>
                            <td data-label=td_string!(locale, detail.when)><time datetime=event.at.to_string()>{i18n::datetime(&event.at)}</time></td>
                            <td data-label=td_string!(locale, detail.what)>{action_label(locale, event.action)}</td>
                            <td data-label=td_string!(locale, detail.outcome)>{if event.success { format!("✓ {}", td_string!(locale, detail.succeeded)) } else { format!("✕ {}", td_string!(locale, detail.failed)) }}</td>
                            <td data-label=td_string!(locale, detail.who)>{event.actor}</td>
                            <td data-label=td_string!(locale, detail.detail)>{event.detail}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

fn action_label(locale: Locale, action: AuditAction) -> &'static str {
    match action {
        AuditAction::Connect => td_string!(locale, audit.connect),
        AuditAction::Reauthenticate => td_string!(locale, audit.reauthenticate),
        AuditAction::Disconnect => td_string!(locale, audit.disconnect),
        AuditAction::Revoke => td_string!(locale, audit.revoke),
        AuditAction::HealthCheck => td_string!(locale, audit.health_check),
        AuditAction::Install => td_string!(locale, audit.install),
        AuditAction::Renew => td_string!(locale, audit.renew),
        AuditAction::TokenRead => td_string!(locale, audit.token_read),
        AuditAction::DataCheck => td_string!(locale, audit.data_check),
        AuditAction::Recover => td_string!(locale, audit.recover),
        AuditAction::ConnectLink => td_string!(locale, audit.connect_link),
    }
}
