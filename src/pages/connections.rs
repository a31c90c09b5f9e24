//! Admin > Connections: the Data Sources table, with search, status filter, sorting and row actions.

use std::time::Duration;

use connections_wire::{ConnectionStatus, ConnectionView};
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::api::{self, ApiError};
use crate::browser;
use crate::catalog::Catalog;
use crate::components::{AdminOnly, ErrorNotice, Flash, FlashLink, FlashState, Loading};
use crate::host::{self, HostEvent};
use crate::i18n::{self, td_string, Locale};
use crate::messages;
use crate::navigator::use_navigator;
use crate::routing::Route;
use crate::rows::{self, RowAction, RowLook};
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

/// What the page shows in place of the table. A reload that still has rows keeps the same
/// `Table`, so the table stays mounted and only its changed rows update.
#[derive(Clone, Debug, PartialEq)]
enum Showing {
    Loading,
    Failed(ApiError),
    Empty,
    Table { show_mode: bool },
}

fn showing(rows: &Rows, catalog: Option<&Catalog>) -> Showing {
    match (rows, catalog) {
        (None, _) | (_, None) => Showing::Loading,
        (Some(Err(error)), _) => Showing::Failed(error.clone()),
        (Some(Ok(list)), _) if list.is_empty() => Showing::Empty,
        (Some(Ok(list)), Some(catalog)) => Showing::Table { show_mode: shows_mode(catalog, list) },
    }
}

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

/// Whether the table has a Mode column: some provider has test and live accounts (or, should the
/// list be unavailable, some row has a mode).
pub fn shows_mode(catalog: &Catalog, rows: &[ConnectionView]) -> bool {
    catalog.has_modes() || rows.iter().any(|row| row.shown_mode().is_some())
}

/// The table's first requests, sent beside the session check when the app opens on the table, so
/// the rows do not wait a round trip for it to answer. The first table mounted takes them, if the
/// session is still the one they were asked under: after signing in (or out, or as someone else)
/// they belong to whoever was signed in before, and the table asks again.
#[derive(Clone, Copy)]
pub struct FirstLoad {
    rows: RwSignal<Rows>,
    catalog: RwSignal<Option<Catalog>>,
    taken: StoredValue<bool>,
    session: u64,
}

impl FirstLoad {
    pub fn start() -> Self {
        let first = FirstLoad { rows: RwSignal::new(None), catalog: RwSignal::new(None), taken: StoredValue::new(false), session: api::current_session() };
        first.fetch();
        first
    }

    /// The rows, and, alongside them, the providers' names and what they support. Without the
    /// providers the table still shows, naming them by id.
    fn fetch(self) {
        leptos::task::spawn_local(async move { self.catalog.set(Some(api::catalog().await.unwrap_or_default())) });
        leptos::task::spawn_local(load_rows(self.rows));
    }

    /// This load, once, under the session it was asked under; a table mounted later starts its own.
    fn take(self) -> Option<Self> {
        (!self.taken.get_value() && self.session == api::current_session()).then(|| {
            self.taken.set_value(true);
            self
        })
    }
}

/// Asks for the rows; an answer that arrives after the session changed is someone else's and is
/// dropped (the table of the new session asks for its own).
async fn load_rows(rows: RwSignal<Rows>) {
    browser::mark_once(browser::MARK_LIST_FETCH);
    let session = api::current_session();
    let loaded = api::connections().await;
    browser::mark_once(browser::MARK_LIST_FETCHED);
    if session == api::current_session() {
        rows.set(Some(loaded));
    }
}

#[component]
fn DataSources() -> impl IntoView {
    let FirstLoad { rows, catalog, .. } = use_context::<FirstLoad>().and_then(FirstLoad::take).unwrap_or_else(FirstLoad::start);
    let load = move || leptos::task::spawn_local(load_rows(rows));
    refresh_while_visible(load);

    let query = RwSignal::new(TableQuery::default());
    let flash = expect_context::<FlashState>();
    let to_disconnect = RwSignal::new(None::<ConnectionView>);
    let locale = i18n::locale();
    let state = Memo::new(move |_| rows.with(|rows| catalog.with(|catalog| showing(rows, catalog.as_ref()))));
    // The rows the table shows: read only while `state` is `Table`, so never empty there.
    let list = Memo::new(move |_| {
        rows.with(|rows| match rows {
            Some(Ok(list)) => list.clone(),
            _ => Vec::new(),
        })
    });

    view! {
        <div class="cx-toolbar">
            <h1>{td_string!(locale, table.title)}</h1>
            <a class="cx-button cx-button-primary" href=use_navigator().href(&Route::Gallery)>{td_string!(locale, gallery.title)}</a>
        </div>
        {move || match state.get() {
            Showing::Loading => view! { <Loading text=td_string!(locale, table.loading) /> }.into_any(),
            Showing::Failed(error) => view! {
                <ErrorNotice message=messages::api_error(locale, &error) />
                <button class="cx-button" on:click=move |_| load()>{td_string!(locale, table.try_again)}</button>
            }.into_any(),
            Showing::Empty => view! {
                <div class="cx-empty">
                    <p><strong>{td_string!(locale, table.empty)}</strong></p>
                    <p>{
                        let (before, em, after) = i18n::em_parts(td_string!(locale, table.empty_hint));
                        view! { {before}<em>{em}</em>{after} }
                    }</p>
                </div>
            }.into_any(),
            Showing::Table { show_mode } => view! {
                <TableControls query show_mode />
                <ConnectionsTable rows=list catalog query flash show_mode to_disconnect reload=load />
            }.into_any(),
        }}
        <DisconnectDialog target=to_disconnect catalog reload=load />
    }
}

#[component]
fn TableControls(query: RwSignal<TableQuery>, show_mode: bool) -> impl IntoView {
    let statuses = [ConnectionStatus::Connected, ConnectionStatus::ReauthenticationRequired, ConnectionStatus::Revoked, ConnectionStatus::Disconnected];
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
                    {statuses.into_iter().map(|s| view! { <option value=s.as_str()>{messages::status_label(locale, s)}</option> }).collect_view()}
                </select>
            </label>
            <SortControl query show_mode />
        </div>
    }
}

/// Sorting where the table is shown as cards and has no column headers to click: the same sort,
/// as one labelled `<select>` (hidden by the stylesheet while the headers show).
#[component]
fn SortControl(query: RwSignal<TableQuery>, show_mode: bool) -> impl IntoView {
    let locale = i18n::locale();
    let options = table::sort_keys(show_mode)
        .flat_map(|key| [(key, false), (key, true)])
        .map(|(key, descending)| {
            let direction = if descending { td_string!(locale, table.sort_descending) } else { td_string!(locale, table.sort_ascending) };
            view! { <option value=table::sort_value(key, descending)>{format!("{}, {direction}", key.label(locale))}</option> }
        })
        .collect_view();
    view! {
        <label class="cx-sort-control">
            {td_string!(locale, table.sort_by)} " "
            <select prop:value=move || query.with(|q| table::sort_value(q.sort, q.descending))
                on:change=move |ev| {
                    if let Some((key, descending)) = table::parse_sort_value(&event_target_value(&ev)) {
                        query.update(|q| q.sort_by(key, descending));
                    }
                }>
                {options}
            </select>
        </label>
    }
}

#[component]
fn ConnectionsTable(
    rows: Memo<Vec<ConnectionView>>,
    catalog: RwSignal<Option<Catalog>>,
    query: RwSignal<TableQuery>,
    flash: FlashState,
    show_mode: bool,
    to_disconnect: RwSignal<Option<ConnectionView>>,
    reload: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let shown = Memo::new(move |_| query.with(|q| rows.with(|rows| table::apply(rows, q))));
    let locale = i18n::locale();
    let navigator = use_navigator();
    let provider_name = move |id: &str| catalog.with_untracked(|c| c.as_ref().map_or_else(|| id.to_owned(), |c| c.name(id)));
    let look = RowLook {
        locale,
        show_mode,
        format_tags: i18n::chosen_format_tags(),
        provider_name: Box::new(provider_name),
        key_based: Box::new(move |id: &str| catalog.with_untracked(|c| c.as_ref().is_some_and(|c| c.key_based(id)))),
        detail_href: Box::new(move |id| navigator.href(&Route::Detail { id: id.to_owned() })),
    };
    let drawn = StoredValue::new_local(rows::Rows::new(look));
    let body = NodeRef::<html::Tbody>::new();
    Effect::new(move |_| {
        let Some(body) = body.get() else { return };
        shown.with(|shown| drawn.update_value(|rows| rows.iter_mut().for_each(|rows| rows.draw(&body, shown))));
        // The rows are in the document now.
        browser::mark_once(browser::MARK_FIRST_ROW);
    });
    Effect::new(move |_| {
        let id = flash.0.with(|f| f.as_ref().and_then(|f| f.connection_id.clone()));
        drawn.update_value(|rows| rows.iter_mut().for_each(|rows| rows.highlight(id.clone())));
    });
    // The rows' buttons, by their `data-action`.
    let on_click = move |event: web_sys::MouseEvent| {
        let target = event.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok());
        let Some(button) = target.and_then(|t| t.closest("button[data-action]").ok().flatten()) else { return };
        let Some(action) = button.get_attribute("data-action").as_deref().and_then(RowAction::parse) else { return };
        let id = button.closest("tr").ok().flatten().and_then(|tr| tr.get_attribute("data-connection-id"));
        let Some(connection) = id.and_then(|id: String| drawn.with_value(|rows| rows.as_ref().and_then(|rows| rows.connection(&id).cloned()))) else { return };
        match action {
            RowAction::Reconnect => navigator.go(Route::Authorize { provider: connection.provider }),
            RowAction::Disconnect => to_disconnect.set(Some(connection)),
            RowAction::Check => {
                let _ = button.set_attribute("disabled", "");
                button.set_text_content(Some(td_string!(locale, table.checking)));
                let (provider, reload) = (provider_name(&connection.provider), reload.clone());
                leptos::task::spawn_local(async move {
                    let outcome = api::check(&connection.id).await;
                    flash.0.set(Some(check_flash(locale, &connection.account_name, &provider, outcome)));
                    // A row the check did not change keeps this button: give it back.
                    let _ = button.remove_attribute("disabled");
                    button.set_text_content(Some(td_string!(locale, table.check)));
                    reload();
                });
            }
        }
    };
    let headers = table::columns(show_mode)
        .map(|column| match column.sort() {
            Some(key) => view! { <SortHeader query key /> }.into_any(),
            None => view! { <th scope="col">{column.label(locale)}</th> }.into_any(),
        })
        .collect_view();
    let count = move || shown.with(Vec::len);
    view! {
        <p class="cx-muted cx-count" aria-live="polite">
            {move || td_string!(locale, table.count, shown = i18n::count(count()), total = i18n::count(rows.with(Vec::len))).to_string()}
        </p>
        <div class="cx-table-wrap">
            <table class="cx-table cx-cards">
                <caption class="cx-visually-hidden">{td_string!(locale, table.caption)}</caption>
                <thead>
                    <tr>{headers}</tr>
                </thead>
                // Drawn by `rows` (see there why).
                <tbody node_ref=body on:click=on_click></tbody>
            </table>
        </div>
        {move || (count() == 0).then(|| view! { <p class="cx-empty">{td_string!(locale, table.no_match)}</p> })}
    }
}

/// A sortable column's header: click to sort by it, again to reverse.
#[component]
fn SortHeader(query: RwSignal<TableQuery>, key: SortKey) -> impl IntoView {
    // `aria-sort` and the arrow: (none, ""), (ascending, " ▲") or (descending, " ▼").
    let sorted = move |none, ascending, descending| {
        query.with(|q| {
            if q.sort != key {
                none
            } else if q.descending {
                descending
            } else {
                ascending
            }
        })
    };
    view! {
        <th scope="col" aria-sort=move || sorted("none", "ascending", "descending")>
            <button class="cx-sort" on:click=move |_| query.update(|q| q.toggle_sort(key))>
                {key.label(i18n::locale())}<span aria-hidden="true">{move || sorted("", " ▲", " ▼")}</span>
            </button>
        </th>
    }
}

/// What a health check found, for the flash.
fn check_flash(locale: Locale, account: &str, provider: &str, outcome: Result<ConnectionView, ApiError>) -> Flash {
    match outcome {
        Ok(view) if view.status == ConnectionStatus::Connected => Flash::success(td_string!(locale, table.check_ok, account, provider).to_string(), None),
        Ok(_) => Flash::warning(td_string!(locale, table.check_refused, account, provider).to_string()),
        Err(error) => {
            let message = messages::provider_api_error(locale, &error, provider);
            Flash::warning(td_string!(locale, table.check_failed, account, message).to_string())
        }
    }
}

/// Asks before disconnecting, saying what stops working. A native modal `<dialog>`: it keeps focus
/// inside, closes on Escape and gives focus back to the button that opened it.
#[component]
fn DisconnectDialog(
    target: RwSignal<Option<ConnectionView>>,
    catalog: RwSignal<Option<Catalog>>,
    reload: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let dialog = NodeRef::<html::Dialog>::new();
    let flash = expect_context::<FlashState>();
    let locale = i18n::locale();
    // The target's provider: its name, and where its app is removed when disconnecting here cannot.
    let provider = move || {
        let id = target.with(|t| t.as_ref().map(|c| c.provider.clone())).unwrap_or_default();
        let found = catalog.with(|c| c.as_ref().and_then(|c| c.get(&id)).cloned());
        (found.as_ref().map_or(id, |p| p.name.clone()), found.and_then(|p| p.uninstall_url))
    };
    // The connection and its provider as they are when the button is pressed.
    let disconnect = Action::new_local(move |_: &()| {
        let (connection, (name, uninstall_url), reload) = (target.get_untracked(), untrack(provider), reload.clone());
        async move {
            let Some(connection) = connection else { return Ok(()) };
            match api::disconnect(&connection.id).await {
                Ok(disconnected) => {
                    flash.0.set(Some(disconnected_flash(locale, &connection.account_name, &name, uninstall_url)));
                    host::emit_connection(HostEvent::Disconnected, &disconnected);
                    target.set(None);
                    reload();
                    Ok(())
                }
                Err(e) => {
                    host::emit_error("disconnect_failed", &messages::provider_api_error(locale, &e, &name));
                    Err(e)
                }
            }
        }
    });
    let busy = {
        let pending = disconnect.pending();
        move || pending.get()
    };
    let error = move || disconnect.value().get().and_then(Result::err).map(|e| messages::provider_api_error(locale, &e, &provider().0));
    Effect::new(move |_| {
        let Some(dialog) = dialog.get() else { return };
        match (target.get().is_some(), dialog.open()) {
            (true, false) => {
                disconnect.clear();
                let _ = dialog.show_modal();
            }
            (false, true) => dialog.close(),
            _ => {}
        }
    });
    let confirm = move |_| {
        if target.with_untracked(Option::is_some) {
            disconnect.dispatch(());
        }
    };
    let account = move || target.with(|t| t.as_ref().map(|c| c.account_name.clone()).unwrap_or_default());
    view! {
        <dialog node_ref=dialog class="cx-dialog" aria-labelledby="cx-dialog-title" on:close=move |_| target.set(None)>
            <h2 id="cx-dialog-title">{move || td_string!(locale, dialog.title, account = account()).to_string()}</h2>
            <p>{td_string!(locale, dialog.intro)}</p>
            <ul>{move || disconnect_consequences(locale, provider())}</ul>
            {move || error().map(|message| view! { <ErrorNotice message /> })}
            <div class="cx-actions">
                <button class="cx-button cx-button-danger" on:click=confirm disabled=busy>
                    {move || if busy() { td_string!(locale, dialog.disconnecting) } else { td_string!(locale, table.disconnect) }}
                </button>
                <button class="cx-button" on:click=move |_| target.set(None) autofocus>{td_string!(locale, shell.cancel)}</button>
            </div>
        </dialog>
    }
}

/// What disconnecting does, for a provider by name, and whether its app must be removed there.
fn disconnect_consequences(locale: Locale, (name, uninstall_url): (String, Option<String>)) -> impl IntoView {
    // Where disconnecting cannot withdraw the authorization, the app stays installed at the provider.
    let access = match uninstall_url {
        Some(_) => td_string!(locale, dialog.app_stays_installed, provider = &name).to_string(),
        None => td_string!(locale, dialog.access_revoked, provider = &name).to_string(),
    };
    view! {
        <li>{td_string!(locale, dialog.stops_syncing, provider = &name).to_string()}</li>
        <li>{access}</li>
        <li>{td_string!(locale, dialog.data_kept)}</li>
    }
}

/// "Disconnected …", with the way to remove the app at the provider when that is still to do.
fn disconnected_flash(locale: Locale, account: &str, provider: &str, uninstall_url: Option<String>) -> Flash {
    let link = uninstall_url.map(|href| FlashLink { text: td_string!(locale, table.remove_app, provider).to_string(), href });
    Flash::success(td_string!(locale, table.disconnected, account).to_string(), None).with_link(link)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::tests::provider;
    use connections_wire::Timestamp;

    fn row(provider: &str, livemode: Option<bool>) -> ConnectionView {
        ConnectionView {
            id: "conn_1".into(),
            provider: provider.into(),
            account_id: "acct_1".into(),
            account_name: "Acme".into(),
            livemode,
            mode: None,
            scope: "read".into(),
            status: ConnectionStatus::Connected,
            connected_by: "Ada".into(),
            connected_at: Timestamp::parse_rfc3339("2026-11-22T10:00:00Z").unwrap(),
            last_checked_at: None,
            last_data_at: None,
        }
    }

    #[test]
    fn the_mode_column_shows_only_when_some_provider_has_modes() {
        let without = Catalog::new(vec![provider("northwind-crm", "Northwind CRM", &["crm"])]);
        assert!(!shows_mode(&without, &[row("northwind-crm", None)]));
        let mut stripe = provider("stripe", "Stripe", &["payments"]);
        stripe.has_modes = true;
        let with = Catalog::new(vec![stripe, provider("northwind-crm", "Northwind CRM", &["crm"])]);
        assert!(shows_mode(&with, &[row("northwind-crm", None)]));
        assert!(shows_mode(&Catalog::default(), &[row("stripe", Some(true))]), "without the list, the rows decide");
    }

    #[test]
    fn disconnecting_a_stripe_app_links_to_removing_it_there() {
        let flash = disconnected_flash(Locale::en, "Acme", "Stripe", Some("https://dashboard.stripe.com/settings/apps".into()));
        assert_eq!(flash.text, "Disconnected Acme.");
        let link = flash.link.unwrap();
        assert_eq!(link.text, "Remove the app in Stripe");
        assert_eq!(link.href, "https://dashboard.stripe.com/settings/apps");
        assert_eq!(disconnected_flash(Locale::en, "Acme", "Northwind CRM", None).link, None);
    }

    #[test]
    fn a_check_names_the_provider() {
        let ok = check_flash(Locale::en, "Acme", "Northwind CRM", Ok(row("northwind-crm", None)));
        assert_eq!(ok.text, "Acme: Northwind CRM accepted the connection.");
        let mut lapsed = row("northwind-crm", None);
        lapsed.status = ConnectionStatus::ReauthenticationRequired;
        assert_eq!(check_flash(Locale::en, "Acme", "Northwind CRM", Ok(lapsed)).kind, crate::components::FlashKind::Warning);
    }
}
