//! One connection: its details and its history (the audit trail of its account).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::connections::{provider_label, StatusBadge};
use crate::api;
use crate::components::{AdminOnly, ErrorNotice};
use crate::i18n;
use crate::messages;

#[component]
pub fn ConnectionDetailPage() -> impl IntoView {
    view! {
        <nav class="cx-breadcrumb" aria-label="Breadcrumb">
            <a href="/connections">"Connections"</a> " › " <span aria-current="page">"Connection"</span>
        </nav>
        <AdminOnly>
            <Detail />
        </AdminOnly>
    }
}

#[component]
fn Detail() -> impl IntoView {
    let params = use_params_map();
    let detail = LocalResource::new(move || {
        let id = params.read().get("id").unwrap_or_default();
        async move { api::connection(&id).await }
    });
    move || match detail.get() {
        None => view! { <p class="cx-muted" role="status" aria-busy="true">"Loading…"</p> }.into_any(),
        Some(Err(error)) => view! { <ErrorNotice message=messages::api_error(&error) /> }.into_any(),
        Some(Ok(detail)) => {
            let c = detail.connection;
            view! {
                <h1>{c.account_name.clone()}</h1>
                <dl class="cx-facts">
                    <dt>"Account ID"</dt><dd><code>{c.account_id.clone()}</code></dd>
                    <dt>"Type"</dt><dd>{provider_label(&c.provider)}</dd>
                    <dt>"Mode"</dt><dd>{if c.livemode { "Live" } else { "Test" }}</dd>
                    <dt>"Scope granted"</dt><dd><code>{c.scope.clone()}</code></dd>
                    <dt>"Status"</dt><dd><StatusBadge status=c.status /></dd>
                    <dt>"Connected by"</dt><dd>{c.connected_by.clone()}</dd>
                    <dt>"Connected at"</dt><dd>{i18n::datetime(&c.connected_at)}</dd>
                    <dt>"Last checked"</dt><dd>{c.last_checked_at.map(|at| i18n::datetime(&at)).unwrap_or_else(|| "Not yet".into())}</dd>
                </dl>
                <h2>"History"</h2>
                <div class="cx-table-wrap">
                    <table class="cx-table cx-history">
                        <thead><tr>
                            <th scope="col">"When"</th><th scope="col">"What"</th><th scope="col">"Outcome"</th>
                            <th scope="col">"Who"</th><th scope="col">"Detail"</th>
                        </tr></thead>
                        <tbody>
                            {detail.history.into_iter().map(|event| view! {
                                <tr>
                                    <td><time datetime=event.at.to_rfc3339()>{i18n::datetime(&event.at)}</time></td>
                                    <td>{event.action.label()}</td>
                                    <td>{if event.success { "✓ Succeeded" } else { "✕ Failed" }}</td>
                                    <td>{event.actor}</td>
                                    <td>{event.detail}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                <p><a href="/connections">"Back to Connections"</a></p>
            }
            .into_any()
        }
    }
}
