//! Where the provider sends the browser back: check `state`, drop the code from the address bar, hand
//! the grant to the server, and go back to the table. A code that arrives with no `state` at all (the
//! user began at Stripe) is shown for confirmation first, naming the account.

use connections_wire::{ConnectionView, PendingInstall};
use leptos::prelude::*;
use crate::components::{ErrorNotice, Flash, FlashState};
use crate::embed;
use crate::flow::{self, CallbackOutcome};
use crate::navigator::use_navigator;
use crate::routing::Route;
use crate::{api, browser, messages, popup};

#[derive(Clone, PartialEq)]
enum Progress {
    Working,
    Failed(String),
    /// A provider-started install, waiting for the administrator's word.
    Confirm(PendingInstall),
    Declined,
    /// The answer went to the framed app that opened this popup.
    HandedOver,
}

#[component]
pub fn CallbackPage(provider: String) -> impl IntoView {
    let progress = RwSignal::new(Progress::Working);
    let flash = expect_context::<FlashState>();
    let navigator = use_navigator();
    let succeed = move |connection: ConnectionView| {
        flash.0.set(Some(Flash::success(messages::CONNECTION_SUCCESSFUL, Some(connection.id.clone()))));
        navigator.replace(Route::List);
        leptos::task::spawn_local(embed::announce_connected(connection));
    };
    // Every way this page can fail also tells the host.
    Effect::new(move || {
        if let Progress::Failed(message) = progress.get() {
            embed::emit_error("connect_failed", &message);
        }
    });

    // Read once, then scrub: the code must not stay in the address bar, history or a Referer.
    let query = browser::current_query();
    let pending = browser::take_pending();
    navigator.scrub_callback_url();

    let finish = {
        let provider = provider.clone();
        move |query: String, pending: Option<flow::PendingAttempt>| match flow::parse_callback(&query) {
            Ok(CallbackOutcome::Granted { code, state }) => match flow::grant_request(code, state, pending, &provider) {
                Ok(request) => {
                    let provider = provider.clone();
                    leptos::task::spawn_local(async move {
                        match api::send_grant(&provider, &request).await {
                            Ok(connection) => succeed(connection),
                            Err(error) => progress.set(Progress::Failed(messages::api_error(&error))),
                        }
                    });
                }
                Err(error) => progress.set(Progress::Failed(messages::callback_error(&error))),
            },
            Ok(CallbackOutcome::ProviderStarted { code }) => {
                let provider = provider.clone();
                leptos::task::spawn_local(async move {
                    match api::start_install(&provider, &code).await {
                        Ok(install) => progress.set(Progress::Confirm(install)),
                        Err(error) => progress.set(Progress::Failed(messages::api_error(&error))),
                    }
                });
            }
            Ok(refused) => progress.set(Progress::Failed(messages::provider_refused(&refused))),
            Err(error) => progress.set(Progress::Failed(messages::callback_error(&error))),
        }
    };

    // No attempt of this tab's own with this `state`: this may be the popup of a framed app, which
    // holds the verifier. Offer it the answer first; if no frame takes it, finish here as usual (and
    // fail clearly, as a forged callback must).
    let state = flow::callback_state(&query);
    let ours = pending.as_ref().is_some_and(|p| Some(&p.state) == state.as_ref());
    match state.filter(|_| !ours) {
        Some(state) => leptos::task::spawn_local(async move {
            if popup::hand_over(&state, &query).await {
                progress.set(Progress::HandedOver);
                popup::close_this_window();
            } else {
                finish(query, pending);
            }
        }),
        None => finish(query, pending),
    }

    let retry_href = navigator.href(&Route::Authorize { provider: provider.clone() });
    let list_href = navigator.href(&Route::List);
    let provider = StoredValue::new(provider);
    move || match progress.get() {
        Progress::Working => view! {
            <div class="cx-progress" role="status" aria-busy="true">
                <span class="cx-spinner" aria-hidden="true"></span>
                <p>"Finishing your Stripe connection…"</p>
            </div>
        }
        .into_any(),
        Progress::Failed(message) => view! {
            <div class="cx-notice cx-notice-error" role="alert">
                <h1>"The connection was not completed"</h1>
                <p>{message}</p>
            </div>
            <div class="cx-actions">
                <a class="cx-button cx-button-primary" href=retry_href.clone()>"Start again"</a>
                <a class="cx-button" href=list_href.clone()>"Back to Connections"</a>
            </div>
        }
        .into_any(),
        Progress::Confirm(install) => view! { <ConfirmInstall install provider=provider.get_value() progress succeed /> }.into_any(),
        Progress::HandedOver => view! {
            <div class="cx-notice" role="status">
                <h1>"Back to Connections"</h1>
                <p>"Stripe is done. You can close this window; Connections finishes in the page you came from."</p>
            </div>
        }
        .into_any(),
        Progress::Declined => view! {
            <div class="cx-notice" role="status">
                <h1>"Not connected"</h1>
                <p>"The Stripe account was not connected, and its authorization was withdrawn at Stripe."</p>
            </div>
            <p><a class="cx-button" href=list_href.clone()>"Back to Connections"</a></p>
        }
        .into_any(),
    }
}

#[component]
fn ConfirmInstall(
    install: PendingInstall,
    provider: String,
    progress: RwSignal<Progress>,
    succeed: impl Fn(ConnectionView) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let id = StoredValue::new(install.id.clone());
    let provider = StoredValue::new(provider);
    let confirm = move |_| {
        busy.set(true);
        let succeed = succeed.clone();
        leptos::task::spawn_local(async move {
            match api::confirm_install(&provider.get_value(), &id.get_value()).await {
                Ok(connection) => succeed(connection),
                Err(e) => {
                    error.set(Some(messages::api_error(&e)));
                    busy.set(false);
                }
            }
        });
    };
    let decline = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::decline_install(&provider.get_value(), &id.get_value()).await {
                Ok(()) => progress.set(Progress::Declined),
                Err(e) => {
                    error.set(Some(messages::api_error(&e)));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <article class="cx-consent" aria-labelledby="cx-install-title">
            <h1 id="cx-install-title">"Connect " {install.account_name.clone()} "?"</h1>
            <p>
                "This connection was started at Stripe, not from this page. Connect it only if you meant to connect this account."
            </p>
            <dl class="cx-facts">
                <dt>"Account"</dt><dd>{install.account_name.clone()}</dd>
                <dt>"Account ID"</dt><dd><code>{install.account_id.clone()}</code></dd>
                <dt>"Mode"</dt><dd>{if install.livemode { "Live" } else { "Test" }}</dd>
                <dt>"Scope"</dt><dd><code>{install.scope.clone()}</code></dd>
            </dl>
            {move || error.get().map(|message| view! { <ErrorNotice message /> })}
            <div class="cx-actions">
                <button class="cx-button cx-button-primary" on:click=confirm disabled=move || busy.get()>"Connect this account"</button>
                <button class="cx-button" on:click=decline disabled=move || busy.get()>"Don't connect"</button>
            </div>
        </article>
    }
}
