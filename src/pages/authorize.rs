//! The provider's authorization page: what access is asked, what will sync, and Connect.

use connections_wire::ProviderInfo;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::components::{AdminOnly, ErrorNotice};
use crate::i18n::{self, td_string, Locale};
use crate::{api, browser, flow, messages};

#[component]
pub fn AuthorizePage() -> impl IntoView {
    let locale = i18n::locale();
    view! {
        <nav class="cx-breadcrumb" aria-label=td_string!(locale, shell.breadcrumb)>
            <a href="/connections">{td_string!(locale, shell.connections)}</a> " › " <a href="/connections/new">{td_string!(locale, gallery.title)}</a>
        </nav>
        <AdminOnly>
            <Authorize />
        </AdminOnly>
    }
}

#[component]
fn Authorize() -> impl IntoView {
    let params = use_params_map();
    let provider_id = move || params.read().get("provider").unwrap_or_default();
    let providers = LocalResource::new(api::providers);
    let locale = i18n::locale();
    move || match providers.get() {
        None => view! { <p class="cx-muted" role="status" aria-busy="true">{td_string!(locale, shell.loading)}</p> }.into_any(),
        Some(Err(error)) => view! { <ErrorNotice message=messages::api_error(locale, &error) /> }.into_any(),
        Some(Ok(list)) => match list.into_iter().find(|p| p.id == provider_id()) {
            Some(provider) => view! { <ProviderConsent provider /> }.into_any(),
            None => view! { <ErrorNotice message=td_string!(locale, messages.unknown_provider) /> }.into_any(),
        },
    }
}

/// Registers the attempt with the server, keeps the verifier in this tab, then leaves for the provider.
async fn connect(locale: Locale, provider: ProviderInfo) -> Result<(), String> {
    let attempt = flow::new_attempt(&provider).map_err(|_| td_string!(locale, messages.misconfigured).to_owned())?;
    api::start_attempt(&provider.id, &attempt.register).await.map_err(|e| messages::api_error(locale, &e))?;
    browser::save_pending(&attempt.pending).map_err(|e| messages::browser_error(locale, e))?;
    browser::go_to(attempt.authorize_url.as_str()).map_err(|e| messages::browser_error(locale, e))?;
    Ok(())
}

/// What the server says it will access, in the mount's language when the scope is a known one.
fn access_summary(locale: Locale, provider: &ProviderInfo) -> String {
    match provider.scope.as_str() {
        "read_only" => td_string!(locale, authorize.access_read_only).into(),
        "read_write" => td_string!(locale, authorize.access_read_write).into(),
        _ => provider.access_summary.clone(),
    }
}

/// A kind of data the server says will sync, translated when it is one Stripe has.
fn data_kind(locale: Locale, kind: &str) -> String {
    match kind {
        "Customers" => td_string!(locale, data.customers).into(),
        "Charges" => td_string!(locale, data.charges).into(),
        "Coupons" => td_string!(locale, data.coupons).into(),
        "Invoices" => td_string!(locale, data.invoices).into(),
        "Plans" => td_string!(locale, data.plans).into(),
        "Subscriptions" => td_string!(locale, data.subscriptions).into(),
        "Events" => td_string!(locale, data.events).into(),
        other => other.to_owned(),
    }
}

#[component]
fn ProviderConsent(provider: ProviderInfo) -> impl IntoView {
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let provider = StoredValue::new(provider);
    let locale = i18n::locale();
    let on_connect = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            // On success the page is leaving; keep the button busy until it does.
            if let Err(message) = connect(locale, provider.get_value()).await {
                error.set(Some(message));
                busy.set(false);
            }
        });
    };
    let p = provider.get_value();
    view! {
        <article class="cx-consent" aria-labelledby="cx-consent-title">
            <header class="cx-consent-header">
                <img src=p.logo_path.clone() alt="" width="96" height="40" />
                <h1 id="cx-consent-title">{td_string!(locale, authorize.title, provider = &p.name).to_string()}</h1>
            </header>
            <section>
                <h2>{td_string!(locale, authorize.access_requested)}</h2>
                <p>{access_summary(locale, &p)}</p>
                <p class="cx-muted">{td_string!(locale, authorize.scope)} " " <code>{p.scope.clone()}</code></p>
            </section>
            <section>
                <h2>{td_string!(locale, authorize.data_synced)}</h2>
                <ul class="cx-sync-list">
                    {p.data_synced.iter().map(|kind| view! { <li>{data_kind(locale, kind)}</li> }).collect_view()}
                </ul>
            </section>
            <p class="cx-muted">
                {td_string!(locale, authorize.sign_in_note, provider = &p.name).to_string()}
            </p>
            {move || error.get().map(|message| view! { <ErrorNotice message /> })}
            <div class="cx-actions">
                <button class="cx-button cx-button-primary" on:click=on_connect disabled=move || busy.get() aria-busy=move || busy.get().to_string()>
                    {move || provider.with_value(|p| if busy.get() {
                        td_string!(locale, authorize.opening, provider = &p.name).to_string()
                    } else {
                        td_string!(locale, authorize.connect_with, provider = &p.name).to_string()
                    })}
                </button>
                <a class="cx-button" href="/connections">{td_string!(locale, shell.cancel)}</a>
            </div>
        </article>
    }
}
