//! Admin > Connections: the Data Sources table, with search, status filter, sorting and row actions.

use std::time::Duration;

use connections_wire::{ConnectionStatus, ConnectionView};
use leptos::html;
use leptos::prelude::*;

use crate::api::{self, ApiError};
use crate::browser;
use crate::components::{AdminOnly, ErrorNotice, Flash, FlashState};
use crate::embed::{self, HostEvent};
use crate::i18n::{self, td_string, Locale};
use crate::messages;
use crate::navigator::use_navigator;
use crate::routing::Route;
use crate::table::{self, SortKey, TableQuery};

/// How often the table refreshes itself while the page is visible.
const REFRESH_EVERY: Duration = Duration::from_secs(30);

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let locale = i18n::locale();
    view! {
        <nav class="cx-breadcrumb" aria-label=td_string!(locale, shell.breadcrumb)><span>{td_string!(locale, shell.admin)}</span> " › " <span aria-current="page">{td_string!(locale, shell.connections)}</span></nav>
        <AdminOnly>
            <DataSources />
        </AdminOnly>
    }
}

type Rows = Option<Result<Vec<ConnectionView>, ApiError>>;

/// Calls `refresh` when the window regains focus and every 30 seconds while the page is visible.
fn refresh_while_visible(refresh: impl Fn() + Clone + Send + Sync + 'static) {
    let on_focus = refresh.clone();
    let focus = window_event_listener(leptos::ev::focus, move |_| on_focus());
    let interval = set_interval_with_handle(
        move || {
            if !browser::page_hidden() {
                refresh()
            }
        },
        REFRESH_EVERY,
    )
    .ok();
    on_cleanup(move || {
        focus.remove();
        if let Some(interval) = interval {
            interval.clear();
        }
    });
}

#[component]
fn DataSources() -> impl IntoView {
    let rows: RwSignal<Rows> = RwSignal::new(None);
    let load = move || {
        leptos::task::spawn_local(async move {
            let loaded = api::connections().await;
            rows.set(Some(loaded));
        })
    };
    load();
    refresh_while_visible(load);

    let query = RwSignal::new(TableQuery::default());
    let flash = expect_context::<FlashState>();
    let to_disconnect = RwSignal::new(None::<ConnectionView>);
    let locale = i18n::locale();

    view! {
        <div class="cx-toolbar">
            <h1>{td_string!(locale, table.title)}</h1>
            <a class="cx-button cx-button-primary" href=use_navigator().href(&Route::Gallery)>{td_string!(locale, gallery.title)}</a>
        </div>
        {move || match rows.get() {
            None => view! { <p class="cx-muted" role="status" aria-busy="true">{td_string!(locale, table.loading)}</p> }.into_any(),
            Some(Err(error)) => view! {
                <ErrorNotice message=messages::api_error(locale, &error) />
                <button class="cx-button" on:click=move |_| load()>{td_string!(locale, table.try_again)}</button>
            }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! {
                <div class="cx-empty">
                    <p><strong>{td_string!(locale, table.empty)}</strong></p>
                    <p>{i18n::td!(locale, table.empty_hint, <em> = <em />)}</p>
                </div>
            }.into_any(),
            Some(Ok(list)) => view! {
                <TableControls query />
                <ConnectionsTable rows=list query flash to_disconnect reload=load />
            }.into_any(),
        }}
        <DisconnectDialog target=to_disconnect reload=load />
    }
}

#[component]
fn TableControls(query: RwSignal<TableQuery>) -> impl IntoView {
    let statuses = [
        ConnectionStatus::Connected,
        ConnectionStatus::ReauthenticationRequired,
        ConnectionStatus::Revoked,
        ConnectionStatus::Disconnected,
    ];
    let locale = i18n::locale();
    view! {
        <div class="cx-filters" role="search">
            <label>
                {td_string!(locale, table.search)} " "
                <input type="search" placeholder=td_string!(locale, table.search_placeholder)
                    prop:value=move || query.with(|q| q.search.clone())
                    on:input=move |ev| query.update(|q| q.search = event_target_value(&ev))
                    // Clearing by script, autofill or the box's own clear button may not fire `input`.
                    on:change=move |ev| query.update(|q| q.search = event_target_value(&ev))
                    on:search=move |ev: web_sys::Event| query.update(|q| q.search = event_target_value(&ev)) />
            </label>
            <label>
                {td_string!(locale, columns.status)} " "
                <select on:change=move |ev| {
                    let value = event_target_value(&ev);
                    query.update(|q| q.status = ConnectionStatus::parse(&value));
                }>
                    <option value="">{td_string!(locale, table.all)}</option>
                    {statuses.into_iter().map(|s| view! { <option value=s.as_str()>{status_label(locale, s)}</option> }).collect_view()}
                </select>
            </label>
        </div>
    }
}

#[component]
fn ConnectionsTable(
    rows: Vec<ConnectionView>,
    query: RwSignal<TableQuery>,
    flash: FlashState,
    to_disconnect: RwSignal<Option<ConnectionView>>,
    reload: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let rows = StoredValue::new(rows);
    let shown = Memo::new(move |_| query.with(|q| rows.with_value(|rows| table::apply(rows, q))));
    let highlighted = move || flash.0.get().and_then(|f| f.connection_id);
    let locale = i18n::locale();
    let header = move |key: SortKey| {
        let aria_sort = move || query.with(|q| if q.sort != key { "none" } else if q.descending { "descending" } else { "ascending" });
        let arrow = move || query.with(|q| if q.sort != key { "" } else if q.descending { " ▼" } else { " ▲" });
        view! {
            <th scope="col" aria-sort=aria_sort>
                <button class="cx-sort" on:click=move |_| query.update(|q| q.toggle_sort(key))>
                    {sort_label(locale, key)}<span aria-hidden="true">{arrow}</span>
                </button>
            </th>
        }
    };
    let count = move || shown.with(Vec::len);
    // Runs once the rows are in the document.
    Effect::new(move |_| browser::mark_first_rows());
    view! {
        <p class="cx-muted cx-count" aria-live="polite">
            {move || td_string!(locale, table.count, shown = i18n::count(count()), total = i18n::count(rows.with_value(Vec::len))).to_string()}
        </p>
        <div class="cx-table-wrap">
            <table class="cx-table">
                <caption class="cx-visually-hidden">{td_string!(locale, table.caption)}</caption>
                <thead>
                    <tr>
                        {header(SortKey::Account)}
                        {header(SortKey::AccountId)}
                        <th scope="col">{td_string!(locale, columns.provider_type)}</th>
                        {header(SortKey::Mode)}
                        {header(SortKey::Scope)}
                        {header(SortKey::Status)}
                        {header(SortKey::ConnectedBy)}
                        {header(SortKey::ConnectedAt)}
                        {header(SortKey::LastChecked)}
                        <th scope="col">{td_string!(locale, table.actions)}</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || shown.get() key=|row| (row.id.clone(), row.status, row.last_checked_at) let:row>
                        <ConnectionRow row highlighted=Signal::derive(highlighted) to_disconnect reload=reload.clone() />
                    </For>
                </tbody>
            </table>
        </div>
        {move || (count() == 0).then(|| view! { <p class="cx-empty">{td_string!(locale, table.no_match)}</p> })}
    }
}

#[component]
fn ConnectionRow(
    row: ConnectionView,
    highlighted: Signal<Option<String>>,
    to_disconnect: RwSignal<Option<ConnectionView>>,
    reload: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let flash = expect_context::<FlashState>();
    let navigator = use_navigator();
    let locale = i18n::locale();
    let id = row.id.clone();
    let is_new = Signal::derive(move || highlighted.get().as_deref() == Some(id.as_str()));
    let checking = RwSignal::new(false);
    let check = {
        let id = row.id.clone();
        let name = row.account_name.clone();
        move |_| {
            let (id, name, reload) = (id.clone(), name.clone(), reload.clone());
            checking.set(true);
            leptos::task::spawn_local(async move {
                let message = match api::check(&id).await {
                    Ok(view) if view.status == ConnectionStatus::Connected => {
                        Flash::success(td_string!(locale, table.check_ok, account = &name).to_string(), None)
                    }
                    Ok(_) => Flash::warning(td_string!(locale, table.check_refused, account = &name).to_string()),
                    Err(error) => {
                        Flash::warning(td_string!(locale, table.check_failed, account = &name, message = messages::api_error(locale, &error)).to_string())
                    }
                };
                flash.0.set(Some(message));
                checking.set(false);
                reload();
            });
        }
    };
    let reconnect_label = match row.status {
        ConnectionStatus::ReauthenticationRequired | ConnectionStatus::Revoked => Some((
            td_string!(locale, table.reauthenticate),
            td_string!(locale, table.reauthenticate_named, account = &row.account_name).to_string(),
        )),
        ConnectionStatus::Disconnected => {
            Some((td_string!(locale, table.reconnect), td_string!(locale, table.reconnect_named, account = &row.account_name).to_string()))
        }
        ConnectionStatus::Connected => None,
    };
    let reconnect = {
        let provider = row.provider.clone();
        move |_| navigator.go(Route::Authorize { provider: provider.clone() })
    };
    let has_tokens = matches!(row.status, ConnectionStatus::Connected | ConnectionStatus::ReauthenticationRequired);
    let can_disconnect = row.status != ConnectionStatus::Disconnected;
    let for_dialog = row.clone();
    view! {
        <tr class:cx-row-new=is_new data-connection-id=row.id.clone()>
            <th scope="row">
                <a href=navigator.href(&Route::Detail { id: row.id.clone() })>{row.account_name.clone()}</a>
                {move || is_new.get().then(|| view! { <span class="cx-tag">{td_string!(locale, table.new)}</span> })}
            </th>
            <td><code>{row.account_id.clone()}</code></td>
            <td>{provider_label(&row.provider)}</td>
            <td>{if row.livemode { td_string!(locale, mode.live) } else { td_string!(locale, mode.test) }}</td>
            <td><code>{row.scope.clone()}</code></td>
            <td><StatusBadge status=row.status /></td>
            <td>{row.connected_by.clone()}</td>
            <td><time datetime=row.connected_at.to_rfc3339()>{i18n::datetime(&row.connected_at)}</time></td>
            <td>{row.last_checked_at.map(|at| view! { <time datetime=at.to_rfc3339()>{i18n::datetime(&at)}</time> }.into_any()).unwrap_or_else(|| "—".into_any())}</td>
            <td class="cx-row-actions">
                {reconnect_label.map(|(label, aria_label)| view! {
                    <button class="cx-button cx-button-small cx-button-primary" on:click=reconnect aria-label=aria_label>{label}</button>
                })}
                {has_tokens.then(|| view! {
                    <button class="cx-button cx-button-small" on:click=check disabled=move || checking.get()
                        aria-label=td_string!(locale, table.check_named, account = &row.account_name).to_string()>
                        {move || if checking.get() { td_string!(locale, table.checking) } else { td_string!(locale, table.check) }}
                    </button>
                })}
                {can_disconnect.then(|| view! {
                    <button class="cx-button cx-button-small" on:click=move |_| to_disconnect.set(Some(for_dialog.clone()))
                        aria-label=td_string!(locale, table.disconnect_named, account = &row.account_name).to_string()>{td_string!(locale, table.disconnect)}</button>
                })}
            </td>
        </tr>
    }
}

/// Asks before disconnecting, saying what stops working. A native modal `<dialog>`: it keeps focus
/// inside, closes on Escape and gives focus back to the button that opened it.
#[component]
fn DisconnectDialog(target: RwSignal<Option<ConnectionView>>, reload: impl Fn() + Clone + Send + Sync + 'static) -> impl IntoView {
    let dialog = NodeRef::<html::Dialog>::new();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let flash = expect_context::<FlashState>();
    let locale = i18n::locale();
    Effect::new(move |_| {
        let Some(dialog) = dialog.get() else { return };
        match (target.get().is_some(), dialog.open()) {
            (true, false) => {
                error.set(None);
                let _ = dialog.show_modal();
            }
            (false, true) => dialog.close(),
            _ => {}
        }
    });
    let confirm = move |_| {
        let Some(connection) = target.get_untracked() else { return };
        let reload = reload.clone();
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::disconnect(&connection.id).await {
                Ok(disconnected) => {
                    flash.0.set(Some(Flash::success(td_string!(locale, table.disconnected, account = &connection.account_name).to_string(), None)));
                    embed::emit_connection(HostEvent::Disconnected, &disconnected);
                    target.set(None);
                    reload();
                }
                Err(e) => {
                    let message = messages::api_error(locale, &e);
                    embed::emit_error("disconnect_failed", &message);
                    error.set(Some(message));
                }
            }
            busy.set(false);
        });
    };
    let name = move || target.with(|t| t.as_ref().map(|c| c.account_name.clone()).unwrap_or_default());
    view! {
        <dialog node_ref=dialog class="cx-dialog" aria-labelledby="cx-dialog-title" on:close=move |_| target.set(None)>
            <h2 id="cx-dialog-title">{move || td_string!(locale, dialog.title, account = name()).to_string()}</h2>
            <p>{td_string!(locale, dialog.intro)}</p>
            <ul>
                <li>{td_string!(locale, dialog.stops_syncing)}</li>
                <li>{td_string!(locale, dialog.access_revoked)}</li>
                <li>{td_string!(locale, dialog.data_kept)}</li>
            </ul>
            {move || error.get().map(|message| view! { <ErrorNotice message /> })}
            <div class="cx-actions">
                <button class="cx-button cx-button-danger" on:click=confirm disabled=move || busy.get()>
                    {move || if busy.get() { td_string!(locale, dialog.disconnecting) } else { td_string!(locale, table.disconnect) }}
                </button>
                <button class="cx-button" on:click=move |_| target.set(None) autofocus>{td_string!(locale, shell.cancel)}</button>
            </div>
        </dialog>
    }
}

pub fn provider_label(provider: &str) -> String {
    match provider {
        "stripe" => "Stripe".into(),
        other => other.to_owned(),
    }
}

pub fn status_label(locale: Locale, status: ConnectionStatus) -> &'static str {
    match status {
        ConnectionStatus::Connected => td_string!(locale, status.connected),
        ConnectionStatus::ReauthenticationRequired => td_string!(locale, status.reauthentication_required),
        ConnectionStatus::Revoked => td_string!(locale, status.revoked),
        ConnectionStatus::Disconnected => td_string!(locale, status.disconnected),
    }
}

fn sort_label(locale: Locale, key: SortKey) -> &'static str {
    match key {
        SortKey::Account => td_string!(locale, columns.account),
        SortKey::AccountId => td_string!(locale, columns.account_id),
        SortKey::Mode => td_string!(locale, columns.mode),
        SortKey::Scope => td_string!(locale, columns.scope),
        SortKey::Status => td_string!(locale, columns.status),
        SortKey::ConnectedBy => td_string!(locale, columns.connected_by),
        SortKey::ConnectedAt => td_string!(locale, columns.connected_at),
        SortKey::LastChecked => td_string!(locale, columns.last_checked),
    }
}

/// Text and an icon, never colour alone.
#[component]
pub fn StatusBadge(status: ConnectionStatus) -> impl IntoView {
    let (icon, class) = match status {
        ConnectionStatus::Connected => ("●", "cx-status cx-status-ok"),
        ConnectionStatus::ReauthenticationRequired => ("▲", "cx-status cx-status-warn"),
        ConnectionStatus::Revoked => ("✕", "cx-status cx-status-bad"),
        ConnectionStatus::Disconnected => ("○", "cx-status cx-status-off"),
    };
    view! { <span class=class><span aria-hidden="true">{icon}</span><span>{status_label(i18n::locale(), status)}</span></span> }
}
