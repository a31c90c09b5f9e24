//! The provider's authorization page: what access is asked, what will sync, and Connect.

use connections_wire::ProviderInfo;
use leptos::prelude::*;

use crate::components::{AdminOnly, ErrorNotice, Flash, FlashState};
use crate::embed;
use crate::flow::CallbackOutcome;
use crate::i18n::{self, td_string, Locale};
use crate::options::{AppOptions, ConnectIn};
use crate::navigator::use_navigator;
use crate::routing::Route;
use crate::{api, browser, flow, messages, popup};

#[component]
pub fn AuthorizePage(provider: String) -> impl IntoView {
    let navigator = use_navigator();
    let locale = i18n::locale();
    view! {
        <nav class="cx-breadcrumb" aria-label=td_string!(locale, shell.breadcrumb)>
            <a href=navigator.href(&Route::List)>{td_string!(locale, shell.connections)}</a> " › " <a href=navigator.href(&Route::Gallery)>{td_string!(locale, gallery.title)}</a>
        </nav>
        <AdminOnly>
            <Authorize provider=provider.clone() />
        </AdminOnly>
    }
}

#[component]
fn Authorize(provider: String) -> impl IntoView {
    let providers = LocalResource::new(api::providers);
    let locale = i18n::locale();
    move || match providers.get() {
        None => view! { <p class="cx-muted" role="status" aria-busy="true">{td_string!(locale, shell.loading)}</p> }.into_any(),
        Some(Err(error)) => view! { <ErrorNotice message=messages::api_error(locale, &error) /> }.into_any(),
        Some(Ok(list)) => match list.into_iter().find(|p| p.id == provider) {
            Some(provider) => view! { <ProviderConsent provider /> }.into_any(),
            None => view! { <ErrorNotice message=td_string!(locale, messages.unknown_provider) /> }.into_any(),
        },
    }
}

/// Where the connect step is under way.
#[derive(Clone, Debug, PartialEq)]
enum Stage {
    Ready,
    /// Registering the attempt, then leaving for (or loading) the provider.
    Opening,
    /// The provider is open in a popup; waiting for its answer.
    WaitingForPopup,
    /// The answer came back; the server is finishing.
    Finishing,
    /// The browser refused to open the popup.
    PopupBlocked,
}

/// Makes the attempt for the return address where the app runs, and registers it with the server.
async fn register(locale: Locale, provider: &ProviderInfo, redirect_uri: &str) -> Result<flow::NewAttempt, String> {
    let redirect_uri = flow::registered_redirect_uri(provider, redirect_uri).map_err(|e| messages::flow_error(locale, &e))?;
    let attempt = flow::new_attempt(provider, &redirect_uri).map_err(|e| messages::flow_error(locale, &e))?;
    api::start_attempt(&provider.id, &attempt.register).await.map_err(|e| messages::api_error(locale, &e))?;
    Ok(attempt)
}

/// The default: keep the verifier in this tab, then leave for the provider.
async fn connect_by_redirect(locale: Locale, provider: ProviderInfo, redirect_uri: String) -> Result<(), String> {
    let attempt = register(locale, &provider, &redirect_uri).await?;
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
    let navigator = use_navigator();
    let options = expect_context::<AppOptions>();
    let flash = expect_context::<FlashState>();
    let locale = i18n::locale();
    let stage = RwSignal::new(Stage::Ready);
    let error = RwSignal::new(None::<String>);
    let provider = StoredValue::new(provider);
    // The popup's window and the channel listener live as long as the wait (not Send: local storage).
    let popup_window = StoredValue::new_local(None::<web_sys::Window>);
    let listener = StoredValue::new_local(None::<popup::Listener>);
    let stop_waiting = move || {
        listener.set_value(None);
        if let Some(window) = popup_window.try_update_value(|w| w.take()).flatten() {
            let _ = window.close();
        }
    };
    on_cleanup(stop_waiting);
    let redirect_uri = StoredValue::new(navigator.absolute_url(&Route::Callback { provider: provider.with_value(|p| p.id.clone()) }));
    let fail = move |message: String| {
        embed::emit_error("connect_failed", &message);
        error.set(Some(message));
        stage.set(Stage::Ready);
    };

    // The provider's answer, handed over by the popup: finish here, where the verifier is.
    let finish = move |query: String, pending: flow::PendingAttempt| {
        stop_waiting();
        stage.set(Stage::Finishing);
        let provider_id = provider.with_value(|p| p.id.clone());
        let request = match flow::parse_callback(&query) {
            Ok(CallbackOutcome::Granted { code, state }) => flow::grant_request(code, state, Some(pending), &provider_id).map_err(|e| messages::callback_error(locale, &e)),
            Ok(CallbackOutcome::ProviderStarted { .. }) => Err(messages::callback_error(locale, &flow::CallbackError::MissingState)),
            Ok(refused) => Err(messages::provider_refused(locale, &refused)),
            Err(e) => Err(messages::callback_error(locale, &e)),
        };
        match request {
            Err(message) => fail(message),
            Ok(request) => leptos::task::spawn_local(async move {
                match api::send_grant(&provider_id, &request).await {
                    Ok(connection) => {
                        flash.0.set(Some(Flash::success(messages::connection_successful(locale), Some(connection.id.clone()))));
                        navigator.go(Route::List);
                        embed::announce_connected(connection).await;
                    }
                    Err(e) => fail(messages::api_error(locale, &e)),
                }
            }),
        }
    };

    let connect_in_popup = move || {
        // Synchronously, inside the click: later, the browser would block the popup.
        let Some(window) = popup::open_blank() else {
            stage.set(Stage::PopupBlocked);
            embed::emit_error("popup_blocked", td_string!(locale, popup.blocked));
            return;
        };
        popup_window.set_value(Some(window));
        stage.set(Stage::Opening);
        leptos::task::spawn_local(async move {
            let attempt = match register(locale, &provider.get_value(), &redirect_uri.get_value()).await {
                Ok(attempt) => attempt,
                Err(message) => {
                    stop_waiting();
                    return fail(message);
                }
            };
            let pending = attempt.pending.clone();
            let Some(waiting) = popup::Listener::new(pending.state.clone(), move |query| finish(query, pending.clone())) else {
                stop_waiting();
                return fail(td_string!(locale, popup.unsupported).into());
            };
            listener.set_value(Some(waiting));
            let opened = popup_window.with_value(|w| w.as_ref().map(|w| w.location().set_href(attempt.authorize_url.as_str()).is_ok()));
            if opened == Some(true) {
                stage.set(Stage::WaitingForPopup);
            } else {
                stop_waiting();
                fail(td_string!(locale, popup.closed).into());
            }
        });
    };

    let on_connect = move |_| {
        if matches!(stage.get_untracked(), Stage::Opening | Stage::WaitingForPopup | Stage::Finishing) {
            return;
        }
        error.set(None);
        let use_popup = match options.connect_in {
            ConnectIn::Popup => true,
            ConnectIn::Redirect => false,
            ConnectIn::Auto => popup::is_framed(),
        };
        if use_popup {
            return connect_in_popup();
        }
        stage.set(Stage::Opening);
        leptos::task::spawn_local(async move {
            // On success the page is leaving; keep the button busy until it does.
            if let Err(message) = connect_by_redirect(locale, provider.get_value(), redirect_uri.get_value()).await {
                fail(message);
            }
        });
    };
    let cancel_popup = move |_| {
        stop_waiting();
        stage.set(Stage::Ready);
    };
    let busy = move || matches!(stage.get(), Stage::Opening | Stage::WaitingForPopup | Stage::Finishing);
    let name = move || provider.with_value(|p| p.name.clone());
    let p = provider.get_value();
    view! {
        <article class="cx-consent" aria-labelledby="cx-consent-title">
            <header class="cx-consent-header">
                <img src=api::asset_url(&p.logo_path) alt="" width="96" height="40" />
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
            {move || match stage.get() {
                Stage::WaitingForPopup => Some(view! {
                    <div class="cx-progress" role="status">
                        <span class="cx-spinner" aria-hidden="true"></span>
                        <p>{td_string!(locale, popup.waiting, provider = name()).to_string()}</p>
                        <button class="cx-button" on:click=cancel_popup>{td_string!(locale, shell.cancel)}</button>
                    </div>
                }.into_any()),
                Stage::Finishing => Some(view! {
                    <div class="cx-progress" role="status" aria-busy="true">
                        <span class="cx-spinner" aria-hidden="true"></span>
                        <p>{td_string!(locale, callback.finishing)}</p>
                    </div>
                }.into_any()),
                Stage::PopupBlocked => Some(view! {
                    <div class="cx-notice cx-notice-error" role="alert">
                        <h2>{td_string!(locale, popup.blocked_title, provider = name()).to_string()}</h2>
                        <p>{td_string!(locale, popup.blocked)}</p>
                        <p>
                            <a href=navigator.absolute_url(&Route::Authorize { provider: provider.with_value(|p| p.id.clone()) }) target="_blank" rel="noopener">
                                {td_string!(locale, popup.open_in_tab)}
                            </a>
                        </p>
                    </div>
                }.into_any()),
                _ => None,
            }}
            <div class="cx-actions">
                <button class="cx-button cx-button-primary" on:click=on_connect disabled=busy aria-busy=move || busy().to_string()>
                    {move || if stage.get() == Stage::Opening {
                        td_string!(locale, authorize.opening, provider = name()).to_string()
                    } else {
                        td_string!(locale, authorize.connect_with, provider = name()).to_string()
                    }}
                </button>
                <a class="cx-button" href=navigator.href(&Route::List)>{td_string!(locale, shell.cancel)}</a>
            </div>
        </article>
    }
}
