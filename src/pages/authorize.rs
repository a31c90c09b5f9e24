//! The provider's authorization page: what access is asked, what will sync, and Connect.

use connections_wire::ProviderInfo;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::components::{AdminOnly, ErrorNotice};
use crate::{api, browser, flow, messages};

#[component]
pub fn AuthorizePage() -> impl IntoView {
    view! {
        <nav class="cx-breadcrumb" aria-label="Breadcrumb">
            <a href="/connections">"Connections"</a> " › " <a href="/connections/new">"Add a Data Source"</a>
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
    move || match providers.get() {
        None => view! { <p class="cx-muted" role="status" aria-busy="true">"Loading…"</p> }.into_any(),
        Some(Err(error)) => view! { <ErrorNotice message=messages::api_error(&error) /> }.into_any(),
        Some(Ok(list)) => match list.into_iter().find(|p| p.id == provider_id()) {
            Some(provider) => view! { <ProviderConsent provider /> }.into_any(),
            None => view! { <ErrorNotice message="That data source is not available." /> }.into_any(),
        },
    }
}

/// Registers the attempt with the server, keeps the verifier in this tab, then leaves for the provider.
async fn connect(provider: ProviderInfo) -> Result<(), String> {
    let attempt = flow::new_attempt(&provider).map_err(|_| "The data source is misconfigured on the server.".to_owned())?;
    api::start_attempt(&provider.id, &attempt.register).await.map_err(|e| messages::api_error(&e))?;
    browser::save_pending(&attempt.pending)?;
    browser::go_to(attempt.authorize_url.as_str())?;
    Ok(())
}

#[component]
fn ProviderConsent(provider: ProviderInfo) -> impl IntoView {
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let provider = StoredValue::new(provider);
    let on_connect = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            // On success the page is leaving; keep the button busy until it does.
            if let Err(message) = connect(provider.get_value()).await {
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
                <h1 id="cx-consent-title">"Connect " {p.name.clone()}</h1>
            </header>
            <section>
                <h2>"Access requested"</h2>
                <p>{p.access_summary.clone()}</p>
                <p class="cx-muted">"Scope: " <code>{p.scope.clone()}</code></p>
            </section>
            <section>
                <h2>"Data that will sync"</h2>
                <ul class="cx-sync-list">
                    {p.data_synced.iter().map(|kind| view! { <li>{kind.clone()}</li> }).collect_view()}
                </ul>
            </section>
            <p class="cx-muted">
                "You will sign in at " {p.name.clone()} " and come back here. Your " {p.name.clone()}
                " password is never shared with us, and access tokens stay on our server."
            </p>
            {move || error.get().map(|message| view! { <ErrorNotice message /> })}
            <div class="cx-actions">
                <button class="cx-button cx-button-primary" on:click=on_connect disabled=move || busy.get() aria-busy=move || busy.get().to_string()>
                    {move || if busy.get() { format!("Opening {}…", provider.with_value(|p| p.name.clone())) } else { format!("Connect with {}", provider.with_value(|p| p.name.clone())) }}
                </button>
                <a class="cx-button" href="/connections">"Cancel"</a>
            </div>
        </article>
    }
}
