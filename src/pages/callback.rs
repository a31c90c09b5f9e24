//! Where the provider sends the browser back: check `state`, drop the code from the address bar, hand
//! the grant to the server, and go back to the table. A code that arrives with no `state` at all (the
//! user began at Stripe) is shown for confirmation first, naming the account.

use connections_wire::{ConnectionView, PendingInstall};
use leptos::prelude::*;
use crate::components::{ErrorNotice, Flash, FlashState};
use crate::embed;
use crate::flow::{self, CallbackOutcome};
use crate::i18n::{self, td_string};
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
    let locale = i18n::locale();
    let succeed = move |connection: ConnectionView| {
        flash.0.set(Some(Flash::success(messages::connection_successful(locale), Some(connection.id.clone()))));
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
                            Err(error) => progress.set(Progress::Failed(messages::api_error(locale, &error))),
                        }
                    });
                }
                Err(error) => progress.set(Progress::Failed(messages::callback_error(locale, &error))),
            },
            Ok(CallbackOutcome::ProviderStarted { code }) => {
                let provider = provider.clone();
                leptos::task::spawn_local(async move {
                    match api::start_install(&provider, &code).await {
                        Ok(install) => progress.set(Progress::Confirm(install)),
                        Err(error) => progress.set(Progress::Failed(messages::api_error(locale, &error))),
                    }
                });
            }
            Ok(refused) => progress.set(Progress::Failed(messages::provider_refused(locale, &refused))),
            Err(error) => progress.set(Progress::Failed(messages::callback_error(locale, &error))),
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
                <p>{td_string!(locale, callback.finishing)}</p>
            </div>
        }
        .into_any(),
        Progress::Failed(message) => view! {
            <div class="cx-notice cx-notice-error" role="alert">
                <h1>{td_string!(locale, callback.not_completed)}</h1>
                <p>{message}</p>
            </div>
            <div class="cx-actions">
                <a class="cx-button cx-button-primary" href=retry_href.clone()>{td_string!(locale, callback.start_again)}</a>
                <a class="cx-button" href=list_href.clone()>{td_string!(locale, shell.back_to_connections)}</a>
            </div>
        }
        .into_any(),
        Progress::Confirm(install) => view! { <ConfirmInstall install provider=provider.get_value() progress succeed /> }.into_any(),
        Progress::HandedOver => view! {
            <div class="cx-notice" role="status">
                <h1>{td_string!(locale, popup.handed_over_title)}</h1>
                <p>{td_string!(locale, popup.handed_over)}</p>
            </div>
        }
        .into_any(),
        Progress::Declined => view! {
            <div class="cx-notice" role="status">
                <h1>{td_string!(locale, callback.declined_title)}</h1>
                <p>{td_string!(locale, callback.declined)}</p>
            </div>
            <p><a class="cx-button" href=list_href.clone()>{td_string!(locale, shell.back_to_connections)}</a></p>
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
    let locale = i18n::locale();
    let confirm = move |_| {
        busy.set(true);
        let succeed = succeed.clone();
        leptos::task::spawn_local(async move {
            match api::confirm_install(&provider.get_value(), &id.get_value()).await {
                Ok(connection) => succeed(connection),
                Err(e) => {
                    error.set(Some(messages::api_error(locale, &e)));
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
                    error.set(Some(messages::api_error(locale, &e)));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <article class="cx-consent" aria-labelledby="cx-install-title">
            <h1 id="cx-install-title">{td_string!(locale, callback.confirm_title, account = &install.account_name).to_string()}</h1>
            <p>
                {td_string!(locale, callback.confirm_intro)}
            </p>
            <dl class="cx-facts">
                <dt>{td_string!(locale, columns.account)}</dt><dd>{install.account_name.clone()}</dd>
                <dt>{td_string!(locale, columns.account_id)}</dt><dd><code>{install.account_id.clone()}</code></dd>
                <dt>{td_string!(locale, columns.mode)}</dt><dd>{if install.livemode { td_string!(locale, mode.live) } else { td_string!(locale, mode.test) }}</dd>
                <dt>{td_string!(locale, columns.scope)}</dt><dd><code>{install.scope.clone()}</code></dd>
            </dl>
            {move || error.get().map(|message| view! { <ErrorNotice message /> })}
            <div class="cx-actions">
                <button class="cx-button cx-button-primary" on:click=confirm disabled=move || busy.get()>{td_string!(locale, callback.connect_account)}</button>
                <button class="cx-button" on:click=decline disabled=move || busy.get()>{td_string!(locale, callback.dont_connect)}</button>
            </div>
        </article>
    }
}
