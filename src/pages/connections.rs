//! Admin > Connections: the Data Sources table.

use connections_wire::{ConnectionStatus, ConnectionView};
use leptos::prelude::*;

use crate::api;
use crate::browser::local_datetime;
use crate::components::{AdminOnly, ErrorNotice, FlashState};
use crate::messages;

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    view! {
        <nav class="cx-breadcrumb" aria-label="Breadcrumb"><span>"Admin"</span> " › " <span aria-current="page">"Connections"</span></nav>
        <AdminOnly>
            <DataSources />
        </AdminOnly>
    }
}

#[component]
fn DataSources() -> impl IntoView {
    let connections = LocalResource::new(api::connections);
    let flash = expect_context::<FlashState>();
    let highlighted = move || flash.0.get().and_then(|f| f.connection_id);

    view! {
        <div class="cx-toolbar">
            <h1>"Data Sources"</h1>
            <a class="cx-button cx-button-primary" href="/connections/new">"Add a Data Source"</a>
        </div>
        {move || match connections.get() {
            None => view! { <p class="cx-muted" role="status" aria-busy="true">"Loading connections…"</p> }.into_any(),
            Some(Err(error)) => view! {
                <ErrorNotice message=messages::api_error(&error) />
                <button class="cx-button" on:click=move |_| connections.refetch()>"Try again"</button>
            }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! {
                <div class="cx-empty">
                    <p><strong>"No data sources are connected yet."</strong></p>
                    <p>"Use " <em>"Add a Data Source"</em> " above to connect your Stripe account."</p>
                </div>
            }.into_any(),
            Some(Ok(list)) => view! { <ConnectionsTable rows=list highlighted=Signal::derive(highlighted) /> }.into_any(),
        }}
    }
}

#[component]
fn ConnectionsTable(rows: Vec<ConnectionView>, highlighted: Signal<Option<String>>) -> impl IntoView {
    view! {
        <div class="cx-table-wrap">
            <table class="cx-table">
                <caption class="cx-visually-hidden">"Connected data sources"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Account"</th>
                        <th scope="col">"Account ID"</th>
                        <th scope="col">"Type"</th>
                        <th scope="col">"Mode"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Connected by"</th>
                        <th scope="col">"Connected at"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|row| {
                        let id = row.id.clone();
                        let is_new = Signal::derive(move || highlighted.get().as_deref() == Some(id.as_str()));
                        view! {
                            <tr class:cx-row-new=is_new data-connection-id=row.id.clone()>
                                <th scope="row">
                                    {row.account_name.clone()}
                                    {move || is_new.get().then(|| view! { <span class="cx-tag">"New"</span> })}
                                </th>
                                <td><code>{row.account_id.clone()}</code></td>
                                <td>{provider_label(&row.provider)}</td>
                                <td>{if row.livemode { "Live" } else { "Test" }}</td>
                                <td><StatusBadge status=row.status /></td>
                                <td>{row.connected_by.clone()}</td>
                                <td><time datetime=row.connected_at.to_rfc3339()>{local_datetime(&row.connected_at)}</time></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

fn provider_label(provider: &str) -> String {
    match provider {
        "stripe" => "Stripe".into(),
        other => other.to_owned(),
    }
}

/// Text and an icon, never colour alone.
#[component]
fn StatusBadge(status: ConnectionStatus) -> impl IntoView {
    let (icon, class) = match status {
        ConnectionStatus::Connected => ("●", "cx-status cx-status-ok"),
        ConnectionStatus::ReauthenticationRequired => ("▲", "cx-status cx-status-warn"),
        ConnectionStatus::Revoked => ("✕", "cx-status cx-status-bad"),
        ConnectionStatus::Disconnected => ("○", "cx-status cx-status-off"),
    };
    view! { <span class=class><span aria-hidden="true">{icon} " "</span>{status.label()}</span> }
}
