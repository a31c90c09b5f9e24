//! Where the provider sends the browser back: check `state`, drop the code from the address bar, hand
//! the grant to the server, and go back to the table. A code that arrives with no `state` at all (the
//! user began at Stripe) is shown for confirmation first, naming the account.

use connections_wire::PendingInstall;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};
use leptos_router::NavigateOptions;

use crate::components::{ErrorNotice, Flash, FlashState};
use crate::flow::{self, CallbackOutcome};
use crate::i18n::{self, td_string};
use crate::{api, browser, messages};

#[derive(Clone, PartialEq)]
enum Progress {
    Working,
    Failed(String),
    /// A provider-started install, waiting for the administrator's word.
    Confirm(PendingInstall),
    Declined,
}

#[component]
pub fn CallbackPage() -> impl IntoView {
    let params = use_params_map();
    let provider = params.read_untracked().get("provider").unwrap_or_default();
    let progress = RwSignal::new(Progress::Working);
    let flash = expect_context::<FlashState>();
    let navigate = use_navigate();
    let locale = i18n::locale();
    let succeed = {
        let navigate = navigate.clone();
        move |connection_id: String| {
            flash.0.set(Some(Flash::success(messages::connection_successful(locale), Some(connection_id))));
            navigate("/connections", NavigateOptions { replace: true, ..Default::default() });
        }
    };

    // Read once, then scrub: the code must not stay in the address bar, history or a Referer.
    let query = browser::current_query();
    let pending = browser::take_pending();
    browser::scrub_query();

    match flow::parse_callback(&query) {
        Ok(CallbackOutcome::Granted { code, state }) => match flow::grant_request(code, state, pending, &provider) {
            Ok(request) => {
                let (provider, succeed) = (provider.clone(), succeed.clone());
                leptos::task::spawn_local(async move {
                    match api::send_grant(&provider, &request).await {
                        Ok(connection) => succeed(connection.id),
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
        Ok(CallbackOutcome::Denied) => progress.set(Progress::Failed(td_string!(locale, messages.cancelled_at_stripe).into())),
        Ok(CallbackOutcome::Failed { error, description }) => {
            progress.set(Progress::Failed(messages::provider_failed(locale, &error, &description)))
        }
        Err(error) => progress.set(Progress::Failed(messages::callback_error(locale, &error))),
    }

    let retry_href = format!("/connections/new/{provider}");
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
                <a class="cx-button" href="/connections">{td_string!(locale, shell.back_to_connections)}</a>
            </div>
        }
        .into_any(),
        Progress::Confirm(install) => view! { <ConfirmInstall install provider=provider.get_value() progress succeed=succeed.clone() /> }.into_any(),
        Progress::Declined => view! {
            <div class="cx-notice" role="status">
                <h1>{td_string!(locale, callback.declined_title)}</h1>
                <p>{td_string!(locale, callback.declined)}</p>
            </div>
            <p><a class="cx-button" href="/connections">{td_string!(locale, shell.back_to_connections)}</a></p>
        }
        .into_any(),
    }
}

#[component]
fn ConfirmInstall(
    install: PendingInstall,
    provider: String,
    progress: RwSignal<Progress>,
    succeed: impl Fn(String) + Clone + Send + Sync + 'static,
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
                Ok(connection) => succeed(connection.id),
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
