//! A key-based provider's part of the authorization page: the key's field (a password field the
//! browser neither fills nor remembers), where to make a key, an optional name for the account, and
//! Connect. The key is read from the field when the form is sent, the field is cleared at once, and
//! the key lives only in the request to the server; a refused key is answered per table, shown in our
//! words.

use connections_wire::{ErrorCode, KeyConnectRequest, KeyField, LinkKeyRequest, ProviderInfo, TableCheck};
use leptos::prelude::*;

use super::detail_checks::{access_badge, access_label};
use crate::api::{self, ApiError};
use crate::components::{Connected, ErrorNotice, ExternalLink, Leave};
use crate::i18n::{self, td_string};
use crate::navigator::use_navigator;
use crate::routing::Route;
use crate::{host, messages};

/// A key pasted on a connect link's page: it goes through the link (no session), and `done` is given
/// the account's name once it is stored.
#[derive(Clone)]
pub struct KeyThroughLink {
    pub token: String,
    pub done: RwSignal<Option<String>>,
}

#[component]
pub fn KeyForm(provider: ProviderInfo, field: KeyField, #[prop(optional)] link: Option<KeyThroughLink>) -> impl IntoView {
    let locale = i18n::locale();
    let connected = Connected::from_context();
    let key_input = NodeRef::<leptos::html::Input>::new();
    let name_input = NodeRef::<leptos::html::Input>::new();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let refused = RwSignal::new(Vec::<TableCheck>::new());
    let (id, name) = (provider.id.clone(), provider.name.clone());
    let in_the_app = link.is_none();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let (Some(key_field), Some(name_field)) = (key_input.get_untracked(), name_input.get_untracked()) else { return };
        // Out of the field at once: from here the key is only in the request.
        let request = KeyConnectRequest { key: key_field.value().into(), name: Some(name_field.value()).filter(|n| !n.trim().is_empty()) };
        key_field.set_value("");
        busy.set(true);
        error.set(None);
        refused.set(Vec::new());
        let (id, name, link) = (id.clone(), name.clone(), link.clone());
        leptos::task::spawn_local(async move {
            let answer = match link {
                Some(link) => {
                    api::link_key(&LinkKeyRequest { token: link.token.into(), key: request }).await.map(|response| link.done.set(Some(response.account_name)))
                }
                None => api::connect_key(&id, &request).await.map(|response| connected.finish(&response, Leave::Go)),
            };
            busy.set(false);
            match answer {
                Ok(()) => {}
                Err(failure) => {
                    if let ApiError::Problem(problem) = &failure {
                        if problem.code == ErrorCode::KeyRefused {
                            refused.set(problem.tables.clone());
                        }
                    }
                    let message = messages::provider_api_error(locale, &failure, &name);
                    host::emit_error("connect_failed", &message);
                    error.set(Some(message));
                }
            }
        });
    };
    let provider_name = provider.name.clone();
    // On a link's page there is no table to go back to.
    let cancel = in_the_app.then(|| view! { <a class="cx-button" href=use_navigator().href(&Route::List)>{td_string!(locale, shell.cancel)}</a> });
    let label = move || {
        if busy.get() {
            td_string!(locale, authorize.key_testing).to_string()
        } else {
            td_string!(locale, authorize.connect_with, provider = &provider_name).to_string()
        }
    };
    view! {
        <form class="cx-key-form" on:submit=submit>
            <div class="cx-field">
                <label for="cx-key">{field.label.clone()}</label>
                <input id="cx-key" name="cx-key" type="password" autocomplete="off" autocapitalize="off" spellcheck="false" required
                    pattern=field.pattern.clone() aria-describedby="cx-key-help" node_ref=key_input />
                <p id="cx-key-help" class="cx-muted">
                    {td_string!(locale, authorize.key_note)} " "
                    {field.help_url.clone().map(|href| view! { <ExternalLink href text=td_string!(locale, authorize.key_help, provider = &provider.name).to_string() /> })}
                </p>
                {field.secret_keys_allowed.then(|| view! {
                    <p class="cx-notice cx-notice-warn">{td_string!(locale, authorize.key_secret_warning, provider = &provider.name).to_string()}</p>
                })}
            </div>
            <div class="cx-field">
                <label for="cx-key-name">{td_string!(locale, authorize.key_name)}</label>
                <input id="cx-key-name" type="text" autocomplete="off" maxlength="80" aria-describedby="cx-key-name-help" node_ref=name_input />
                <p id="cx-key-name-help" class="cx-muted">{td_string!(locale, authorize.key_name_hint)}</p>
            </div>
            {move || error.get().map(|message| view! { <ErrorNotice message /> })}
            <RefusedTables tables=refused />
            <div class="cx-actions">
                <button type="submit" class="cx-button cx-button-primary" disabled=move || busy.get() aria-busy=move || busy.get().to_string()>{label}</button>
                {cancel}
            </div>
        </form>
    }
}

/// What a refused key could read, per table, with the detail page's words.
#[component]
fn RefusedTables(tables: RwSignal<Vec<TableCheck>>) -> impl IntoView {
    let locale = i18n::locale();
    move || {
        let tables = tables.get();
        (!tables.is_empty()).then(|| {
            view! {
                <section class="cx-key-tables" aria-label=td_string!(locale, authorize.key_tables)>
                    <h2>{td_string!(locale, authorize.key_tables)}</h2>
                    <ul>
                        {tables.into_iter().map(|table| {
                            let (icon, class) = access_badge(table.access);
                            view! {
                                <li>
                                    {messages::data_kind(locale, &table.table)} ": "
                                    <span class=class><span aria-hidden="true">{icon}</span><span>{access_label(locale, table.access)}</span></span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </section>
            }
        })
    }
}
