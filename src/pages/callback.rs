//! Where the provider sends the browser back: check `state`, drop the code from the address bar, hand
//! the grant to the server, and go back to the table. A code that arrives with no `state` at all (the
//! user began at the provider) is shown for confirmation first, naming the account. Nothing is sent
//! for a provider the server does not list.

use connections_wire::{GrantResponse, LinkGrantRequest, PendingInstall};
use leptos::prelude::*;

use crate::components::{Connected, ErrorNotice, Leave};
use crate::flow::{self, NextStep, PendingAttempt};
use crate::host;
use crate::i18n::{self, td_string, Locale};
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
    /// Connected through a connect link: the account's name.
    Linked(String),
    /// A connect link's attempt failed: the message, and the link's token to start again.
    LinkFailed(String, String),
}

#[component]
pub fn CallbackPage(provider: String) -> impl IntoView {
    let progress = RwSignal::new(Progress::Working);
    // The id until the server's list names the provider.
    let name = RwSignal::new(provider.clone());
    let navigator = use_navigator();
    let locale = i18n::locale();
    let connected = Connected::from_context();
    let succeed = move |response: GrantResponse| connected.finish(&response, Leave::Replace);
    // Every way this page can fail also tells the host.
    Effect::new(move || {
        if let Progress::Failed(message) = progress.get() {
            host::emit_error("connect_failed", &message);
        }
    });

    // Read once, then scrub: the code must not stay in the address bar, history or a Referer.
    let query = browser::current_query();
    let pending = browser::take_pending();
    let link = flow::link_of(pending.as_ref(), browser::take_pending_link());
    navigator.scrub_callback_url();

    let id = provider.clone();
    leptos::task::spawn_local(async move {
        // A `state` this tab did not start may belong to the framed app that opened this popup, which
        // holds the verifier: offer it the answer first. If no frame takes it, finish here as usual
        // (and fail clearly, as a forged callback must).
        if let Some(state) = flow::hand_over_state(&query, pending.as_ref()) {
            if popup::hand_over(&state, &query).await {
                progress.set(Progress::HandedOver);
                popup::close_this_window();
                return;
            }
        }
        // Made through a connect link: finished through it, with no session.
        if let Some(link) = link {
            let failed = |message: String| progress.set(Progress::LinkFailed(message, link.token.secret().to_owned()));
            name.set(link.provider_name.clone());
            match flow::next_step(&query, pending, &id) {
                Ok(NextStep::Grant(grant)) => match api::link_grant(&LinkGrantRequest { token: link.token.clone(), grant }).await {
                    Ok(response) => progress.set(Progress::Linked(response.account_name)),
                    Err(error) => failed(messages::provider_api_error(locale, &error, &link.provider_name)),
                },
                Ok(NextStep::Install { .. }) => {
                    failed(messages::unfinished(locale, &flow::Unfinished::Callback(flow::CallbackError::MissingState), &link.provider_name))
                }
                Err(why) => failed(messages::unfinished(locale, &why, &link.provider_name)),
            }
            return;
        }
        let outcome = match api::catalog().await {
            Ok(catalog) => match catalog.get(&id) {
                Some(known) => {
                    name.set(known.name.clone());
                    finish(locale, &id, &known.name, &query, pending).await
                }
                None => Step::Failed(td_string!(locale, messages.unknown_provider).into()),
            },
            Err(error) => Step::Failed(messages::api_error(locale, &error)),
        };
        match outcome {
            Step::Connected(response) => succeed(response),
            Step::Confirm(install) => progress.set(Progress::Confirm(install)),
            Step::Failed(message) => progress.set(Progress::Failed(message)),
        }
    });

    view! { <CallbackView provider progress name succeed /> }
}

/// What finishing came to.
enum Step {
    Connected(GrantResponse),
    Confirm(PendingInstall),
    Failed(String),
}

/// Sends the grant, or starts the install, of a provider the server lists.
async fn finish(locale: Locale, provider: &str, name: &str, query: &str, pending: Option<PendingAttempt>) -> Step {
    let failed = |error: api::ApiError| Step::Failed(messages::provider_api_error(locale, &error, name));
    match flow::next_step(query, pending, provider) {
        Ok(NextStep::Grant(request)) => api::send_grant(provider, &request).await.map_or_else(failed, Step::Connected),
        Ok(NextStep::Install { code }) => api::start_install(provider, code.secret()).await.map_or_else(failed, Step::Confirm),
        Err(why) => Step::Failed(messages::unfinished(locale, &why, name)),
    }
}

#[component]
fn CallbackView(
    provider: String,
    progress: RwSignal<Progress>,
    name: RwSignal<String>,
    succeed: impl Fn(GrantResponse) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let navigator = use_navigator();
    let locale = i18n::locale();
    let retry_href = navigator.href(&Route::Authorize { provider: provider.clone() });
    let list_href = navigator.href(&Route::List);
    let provider = StoredValue::new(provider);
    move || {
        match progress.get() {
        Progress::Working => view! {
            <div class="cx-progress" role="status" aria-busy="true">
                <span class="cx-spinner" aria-hidden="true"></span>
                <p>{move || td_string!(locale, callback.finishing, provider = name.get()).to_string()}</p>
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
        Progress::Confirm(install) => {
            view! { <ConfirmInstall install provider=provider.get_value() name=name.get_untracked() progress succeed=succeed.clone() /> }.into_any()
        }
        Progress::HandedOver => view! {
            <div class="cx-notice" role="status">
                <h1>{td_string!(locale, popup.handed_over_title)}</h1>
                <p>{td_string!(locale, popup.handed_over)}</p>
            </div>
        }
        .into_any(),
        Progress::Linked(account) => view! {
            <div class="cx-notice" role="status">
                <h1>{td_string!(locale, messages.connection_successful)}</h1>
                <p>{td_string!(locale, links.connected, account = &account, provider = name.get_untracked()).to_string()}</p>
            </div>
        }
        .into_any(),
        Progress::LinkFailed(message, token) => view! {
            <div class="cx-notice cx-notice-error" role="alert">
                <h1>{td_string!(locale, callback.not_completed)}</h1>
                <p>{message}</p>
            </div>
            <p><a class="cx-button cx-button-primary" href=format!("{}{token}", connections_wire::paths::LINK_PAGE_PREFIX)>{td_string!(locale, callback.start_again)}</a></p>
        }
        .into_any(),
        Progress::Declined => view! {
            <div class="cx-notice" role="status">
                <h1>{td_string!(locale, callback.declined_title)}</h1>
                <p>{td_string!(locale, callback.declined, provider = name.get_untracked()).to_string()}</p>
            </div>
            <p><a class="cx-button" href=list_href.clone()>{td_string!(locale, shell.back_to_connections)}</a></p>
        }
        .into_any(),
    }
    }
}

#[component]
fn ConfirmInstall(
    install: PendingInstall,
    provider: String,
    name: String,
    progress: RwSignal<Progress>,
    succeed: impl Fn(GrantResponse) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let id = StoredValue::new(install.id.clone());
    let provider = StoredValue::new(provider);
    let locale = i18n::locale();
    // The button pressed: connect the account, or don't. One answer at a time.
    let connect = StoredValue::new(true);
    let answer = Action::new_local(move |_: &()| {
        let (connect, succeed) = (connect.get_value(), succeed.clone());
        async move {
            let (provider, id) = (provider.get_value(), id.get_value());
            if connect {
                api::confirm_install(&provider, &id).await.map(succeed)
            } else {
                api::decline_install(&provider, &id).await.map(|()| progress.set(Progress::Declined))
            }
        }
    });
    let busy = {
        let pending = answer.pending();
        move || pending.get()
    };
    let error = {
        let name = name.clone();
        move || answer.value().get().and_then(Result::err).map(|e| messages::provider_api_error(locale, &e, &name))
    };
    view! {
        <article class="cx-consent" aria-labelledby="cx-install-title">
            <h1 id="cx-install-title">{td_string!(locale, callback.confirm_title, account = &install.account_name).to_string()}</h1>
            <p>{td_string!(locale, callback.confirm_intro, provider = &name).to_string()}</p>
            <dl class="cx-facts">
                <dt>{td_string!(locale, columns.provider)}</dt><dd>{name.clone()}</dd>
                <dt>{td_string!(locale, columns.account)}</dt><dd>{install.account_name.clone()}</dd>
                <dt>{td_string!(locale, columns.account_id)}</dt><dd><code>{install.account_id.clone()}</code></dd>
                {connections_wire::Mode::shown(install.mode, install.livemode).map(|mode| view! { <dt>{td_string!(locale, columns.mode)}</dt><dd>{messages::mode_label(locale, mode)}</dd> })}
                <dt>{td_string!(locale, columns.scope)}</dt><dd><code>{install.scope.clone()}</code></dd>
            </dl>
            {move || error().map(|message| view! { <ErrorNotice message /> })}
            <div class="cx-actions">
                <button class="cx-button cx-button-primary" on:click=move |_| {
                    connect.set_value(true);
                    answer.dispatch(());
                } disabled=busy>{td_string!(locale, callback.connect_account)}</button>
                <button class="cx-button" on:click=move |_| {
                    connect.set_value(false);
                    answer.dispatch(());
                } disabled=busy>{td_string!(locale, callback.dont_connect)}</button>
            </div>
        </article>
    }
}
