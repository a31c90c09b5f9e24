//! The provider's authorization page: what access is asked, what will sync, and Connect. The steps of
//! connecting are decided in `flow`; `Connector` is their browser side.

use connections_wire::{Dialect, GrantRequest, GrantResponse, LinkAttemptRequest, LinkGrantRequest, Mode, ProviderInfo, StartAttemptResponse};
use leptos::prelude::*;

use super::key_form::KeyForm;
use crate::catalog::Catalog;
use crate::components::{AdminOnly, Connected, ErrorNotice, ExternalLink, Leave, Loaded, ProviderIcon};
use crate::flow::{self, ConnectWay, PendingAttempt, PendingLink, Stage};
use crate::host;
use crate::i18n::{self, td_string, Locale};
use crate::navigator::use_navigator;
use crate::options::{AppOptions, ConnectIn};
use crate::routing::Route;
use crate::{api, browser, messages, popup};

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

/// Only a provider the server lists gets a page: an id from the address bar alone sends nothing.
#[component]
fn Authorize(provider: String) -> impl IntoView {
    let catalog = LocalResource::new(api::catalog);
    let locale = i18n::locale();
    let show = move |catalog: Catalog| match catalog.get(&provider) {
        Some(provider) => view! { <ProviderConsent provider=provider.clone() /> }.into_any(),
        None => view! { <ErrorNotice message=td_string!(locale, messages.unknown_provider) /> }.into_any(),
    };
    view! { <Loaded data=move || catalog.get() loading=td_string!(locale, shell.loading) show /> }
}

#[component]
fn ProviderConsent(provider: ProviderInfo) -> impl IntoView {
    if let Some(field) = provider.key.clone() {
        let id = provider.id.clone();
        return view! {
            <article class="cx-consent" aria-labelledby="cx-consent-title">
                <ConsentDetails provider=provider.clone() />
                <KeyForm provider field />
            </article>
            <crate::pages::links::SendLink provider=id.clone() connection_id=None />
            <crate::pages::links::OpenLinks provider=id />
        }
        .into_any();
    }
    let connector = Connector::new(provider.clone(), None);
    let id = provider.id.clone();
    view! {
        <article class="cx-consent" aria-labelledby="cx-consent-title">
            <ConsentDetails provider />
            {move || connector.error.get().map(|message| view! { <ErrorNotice message /> })}
            <StageNotice connector />
            <ModePicker connector />
            <ConnectActions connector />
        </article>
        <crate::pages::links::SendLink provider=id.clone() connection_id=None />
        <crate::pages::links::OpenLinks provider=id />
    }
    .into_any()
}

/// What connecting means: the access asked for, the data that will sync, where to read more.
#[component]
pub(crate) fn ConsentDetails(provider: ProviderInfo) -> impl IntoView {
    let locale = i18n::locale();
    let name = provider.name.clone();
    view! {
        <header class="cx-consent-header">
            <ProviderIcon provider=provider.clone() />
            <h1 id="cx-consent-title">{td_string!(locale, authorize.title, provider = &name).to_string()}</h1>
        </header>
        <section>
            <h2>{td_string!(locale, authorize.access_requested)}</h2>
            <p>{access_summary(locale, &provider)}</p>
            {(!provider.scope.is_empty()).then(|| view! {
                <p class="cx-muted">{td_string!(locale, authorize.scope)} " " <code>{provider.scope.clone()}</code></p>
            })}
        </section>
        {(!provider.data_synced.is_empty()).then(|| view! {
            <section>
                <h2>{td_string!(locale, authorize.data_synced)}</h2>
                <ul class="cx-sync-list">
                    {provider.data_synced.iter().map(|kind| view! { <li>{messages::data_kind(locale, kind)}</li> }).collect_view()}
                </ul>
            </section>
        })}
        {provider.docs_url.clone().map(|href| view! {
            <p><ExternalLink href text=td_string!(locale, authorize.docs_link, provider = &name).to_string() /></p>
        })}
        {provider.key.is_none().then(|| view! { <p class="cx-muted">{td_string!(locale, authorize.sign_in_note, provider = &name).to_string()}</p> })}
    }
}

/// Live, test or sandbox, for a provider configured with a client per mode (more than one): each
/// mode has its own install at the provider, so the admin says which this is.
#[component]
pub(crate) fn ModePicker(connector: Connector) -> impl IntoView {
    let locale = i18n::locale();
    let modes = connector.provider.with_value(|p| p.modes.clone());
    let name = connector.name();
    (modes.len() > 1).then(|| {
        view! {
            <fieldset class="cx-modes">
                <legend>{td_string!(locale, columns.mode)}</legend>
                <p class="cx-muted">{td_string!(locale, authorize.mode_hint, provider = &name).to_string()}</p>
                {modes
                    .into_iter()
                    .map(|mode| {
                        view! {
                            <label class="cx-mode">
                                <input
                                    type="radio"
                                    name="cx-mode"
                                    value=mode.as_str()
                                    prop:checked=move || connector.mode.get() == Some(mode)
                                    on:change=move |_| connector.mode.set(Some(mode))
                                    disabled=move || connector.stage.get().is_busy()
                                />
                                {messages::mode_label(locale, mode)}
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
        }
    })
}

/// Waiting for the popup, finishing, or the popup was blocked.
#[component]
pub(crate) fn StageNotice(connector: Connector) -> impl IntoView {
    let locale = i18n::locale();
    let name = connector.name();
    let in_a_tab = match connector.link.get_value() {
        Some(token) => connector.link_page_url(&token),
        None => use_navigator().absolute_url(&Route::Authorize { provider: connector.id() }),
    };
    move || match connector.stage.get() {
        Stage::WaitingForPopup => Some(
            view! {
                <div class="cx-progress" role="status">
                    <span class="cx-spinner" aria-hidden="true"></span>
                    <p>{td_string!(locale, popup.waiting, provider = &name).to_string()}</p>
                    <button class="cx-button" on:click=move |_| connector.cancel()>{td_string!(locale, shell.cancel)}</button>
                </div>
            }
            .into_any(),
        ),
        Stage::Finishing => Some(
            view! {
                <div class="cx-progress" role="status" aria-busy="true">
                    <span class="cx-spinner" aria-hidden="true"></span>
                    <p>{td_string!(locale, callback.finishing, provider = &name).to_string()}</p>
                </div>
            }
            .into_any(),
        ),
        Stage::PopupBlocked => Some(
            view! {
                <div class="cx-notice cx-notice-error" role="alert">
                    <h2>{td_string!(locale, popup.blocked_title, provider = &name).to_string()}</h2>
                    <p>{td_string!(locale, popup.blocked, provider = &name).to_string()}</p>
                    <p><a href=in_a_tab.clone() target="_blank" rel="noopener">{td_string!(locale, popup.open_in_tab)}</a></p>
                </div>
            }
            .into_any(),
        ),
        Stage::Ready | Stage::Opening => None,
    }
}

#[component]
fn ConnectActions(connector: Connector) -> impl IntoView {
    let locale = i18n::locale();
    let name = connector.name();
    let busy = move || connector.stage.get().is_busy();
    let label = move || match connector.stage.get() {
        Stage::Opening => td_string!(locale, authorize.opening, provider = &name).to_string(),
        _ => td_string!(locale, authorize.connect_with, provider = &name).to_string(),
    };
    view! {
        <div class="cx-actions">
            <button class="cx-button cx-button-primary" on:click=move |_| connector.connect() disabled=busy aria-busy=move || busy().to_string()>
                {label}
            </button>
            <a class="cx-button" href=use_navigator().href(&Route::List)>{td_string!(locale, shell.cancel)}</a>
        </div>
    }
}

/// What the server says it will access, in the mount's language for Stripe's known scopes.
fn access_summary(locale: Locale, provider: &ProviderInfo) -> String {
    match (provider.dialect, provider.scope.as_str()) {
        (Dialect::StripeConnect, "read_only") => td_string!(locale, authorize.access_read_only).into(),
        (Dialect::StripeConnect, "read_write") => td_string!(locale, authorize.access_read_write).into(),
        (Dialect::StripeApps, "stripe_apps") => td_string!(locale, authorize.access_stripe_apps).into(),
        _ => provider.access_summary.clone(),
    }
}

/// The connect step's state and its browser side: the redirect, or the popup and its channel.
#[derive(Clone, Copy)]
pub(crate) struct Connector {
    provider: StoredValue<ProviderInfo>,
    /// This page's callback address, which the provider sends the browser back to.
    return_address: StoredValue<String>,
    pub(crate) stage: RwSignal<Stage>,
    pub(crate) error: RwSignal<Option<String>>,
    /// The mode chosen, for a provider with a client per mode (the first configured until then).
    pub(crate) mode: RwSignal<Option<Mode>>,
    /// A connect link's token: the attempt and the grant go through the link, not a session.
    link: StoredValue<Option<String>>,
    /// Connected through the link: the account's name.
    pub(crate) linked: RwSignal<Option<String>>,
    // The popup's window and the channel listener live as long as the wait (not Send: local storage).
    popup_window: StoredValue<Option<web_sys::Window>, LocalStorage>,
    listener: StoredValue<Option<popup::Listener>, LocalStorage>,
    locale: Locale,
    connected: Connected,
    connect_in: ConnectIn,
}

impl Connector {
    pub(crate) fn new(provider: ProviderInfo, link: Option<String>) -> Self {
        let navigator = use_navigator();
        let return_address = navigator.absolute_url(&Route::Callback { provider: provider.id.clone() });
        let connector = Connector {
            mode: RwSignal::new(provider.modes.first().copied()),
            provider: StoredValue::new(provider),
            return_address: StoredValue::new(return_address),
            stage: RwSignal::new(Stage::Ready),
            error: RwSignal::new(None),
            link: StoredValue::new(link),
            linked: RwSignal::new(None),
            popup_window: StoredValue::new_local(None),
            listener: StoredValue::new_local(None),
            locale: i18n::locale(),
            connected: Connected::from_context(),
            connect_in: expect_context::<AppOptions>().connect_in,
        };
        on_cleanup(move || connector.stop_waiting());
        connector
    }

    fn id(self) -> String {
        self.provider.with_value(|p| p.id.clone())
    }

    pub(crate) fn name(self) -> String {
        self.provider.with_value(|p| p.name.clone())
    }

    /// A link's own page, to open in a tab of its own.
    fn link_page_url(self, token: &str) -> String {
        let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
        format!("{origin}{}{token}", connections_wire::paths::LINK_PAGE_PREFIX)
    }

    /// The Connect button: one attempt at a time.
    pub(crate) fn connect(self) {
        if self.stage.get_untracked().is_busy() {
            return;
        }
        self.error.set(None);
        match flow::connect_way(self.connect_in, popup::is_framed()) {
            ConnectWay::Popup => self.in_popup(),
            ConnectWay::Redirect => self.by_redirect(),
        }
    }

    /// Makes the attempt for where the app runs, registers it, and answers where to go.
    async fn register(self) -> Result<(PendingAttempt, String), String> {
        let provider = self.provider.get_value();
        let flow_error = |e: flow::FlowError| messages::flow_error(self.locale, &e, &provider.name);
        let attempt = flow::new_attempt(&provider, &self.return_address.get_value(), self.mode.get_untracked()).map_err(flow_error)?;
        let answer: Result<StartAttemptResponse, api::ApiError> = match self.link.get_value() {
            Some(token) => api::link_attempt(&LinkAttemptRequest { token: token.into(), attempt: attempt.register }).await,
            None => api::start_attempt(&provider.id, &attempt.register).await,
        };
        let answer = answer.map_err(|e| messages::provider_api_error(self.locale, &e, &provider.name))?;
        let destination = flow::authorize_destination(&answer).map_err(flow_error)?.to_owned();
        Ok((attempt.pending, destination))
    }

    /// The default: keep the verifier in this tab, then leave for the provider.
    fn by_redirect(self) {
        self.stage.set(Stage::Opening);
        leptos::task::spawn_local(async move {
            let browser_error = |e| messages::browser_error(self.locale, e, &self.name());
            let left = match self.register().await {
                Ok((pending, destination)) => {
                    self.save_link(&pending).and_then(|()| browser::save_pending(&pending)).and_then(|()| browser::go_to(&destination)).map_err(browser_error)
                }
                Err(message) => Err(message),
            };
            // On success the page is leaving; the button stays busy until it does.
            if let Err(message) = left {
                self.fail(message);
            }
        });
    }

    /// Inside a frame: the provider in a popup, its answer back over the channel.
    fn in_popup(self) {
        let locale = self.locale;
        // Synchronously, inside the click: later, the browser would block the popup.
        let Some(window) = popup::open_blank() else {
            self.stage.set(Stage::PopupBlocked);
            host::emit_error("popup_blocked", &td_string!(locale, popup.blocked, provider = self.name()).to_string());
            return;
        };
        self.popup_window.set_value(Some(window));
        self.stage.set(Stage::Opening);
        leptos::task::spawn_local(async move {
            let (pending, destination) = match self.register().await {
                Ok(registered) => registered,
                Err(message) => return self.fail(message),
            };
            let Some(listener) = popup::Listener::new(pending.state.secret().to_owned(), move |query| self.finish(query, pending.clone())) else {
                return self.fail(td_string!(locale, popup.unsupported).into());
            };
            self.listener.set_value(Some(listener));
            let opened = self.popup_window.with_value(|w| w.as_ref().is_some_and(|w| w.location().set_href(&destination).is_ok()));
            if opened {
                self.stage.set(Stage::WaitingForPopup);
            } else {
                self.fail(td_string!(locale, popup.closed, provider = self.name()).to_string());
            }
        });
    }

    /// The provider's answer, handed over by the popup: finish here, where the verifier is.
    fn finish(self, query: String, pending: PendingAttempt) {
        self.stop_waiting();
        self.stage.set(Stage::Finishing);
        let provider = self.provider.get_value();
        match flow::popup_grant(&query, pending, &provider.id) {
            Err(why) => self.fail(messages::unfinished(self.locale, &why, &provider.name)),
            Ok(request) => leptos::task::spawn_local(async move {
                match self.link.get_value() {
                    Some(token) => self.grant_through_link(token, request, &provider.name).await,
                    None => match api::send_grant(&provider.id, &request).await {
                        Ok(response) => self.succeed(response),
                        Err(e) => self.fail(messages::provider_api_error(self.locale, &e, &provider.name)),
                    },
                }
            }),
        }
    }

    /// The callback of a redirect made through a link finishes through it too.
    fn save_link(self, pending: &PendingAttempt) -> Result<(), browser::BrowserError> {
        match self.link.get_value() {
            Some(token) => browser::save_pending_link(&PendingLink { token: token.into(), state: pending.state.clone(), provider_name: self.name() }),
            None => Ok(()),
        }
    }

    async fn grant_through_link(self, token: String, grant: GrantRequest, name: &str) {
        match api::link_grant(&LinkGrantRequest { token: token.into(), grant }).await {
            Ok(response) => {
                self.stage.set(Stage::Ready);
                self.linked.set(Some(response.account_name));
            }
            Err(e) => self.fail(messages::provider_api_error(self.locale, &e, name)),
        }
    }

    fn succeed(self, response: GrantResponse) {
        self.connected.finish(&response, Leave::Go);
    }

    fn cancel(self) {
        self.stop_waiting();
        self.stage.set(Stage::Ready);
    }

    fn stop_waiting(self) {
        self.listener.set_value(None);
        if let Some(window) = self.popup_window.try_update_value(|w| w.take()).flatten() {
            let _ = window.close();
        }
    }

    /// Every failure also tells the host, with the words the user reads.
    fn fail(self, message: String) {
        self.stop_waiting();
        host::emit_error("connect_failed", &message);
        self.error.set(Some(message));
        self.stage.set(Stage::Ready);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::tests::provider;

    #[test]
    fn stripes_known_scopes_are_translated_and_any_other_is_the_servers_summary() {
        let mut apps = provider("stripe", "Stripe", &[]);
        apps.dialect = Dialect::StripeApps;
        apps.scope = "stripe_apps".into();
        assert!(access_summary(Locale::de, &apps).starts_with("Lesezugriff auf die Daten Ihres Stripe-Kontos"));
        let mut connect = provider("stripe", "Stripe", &[]);
        connect.dialect = Dialect::StripeConnect;
        connect.scope = "read_only".into();
        assert!(access_summary(Locale::en, &connect).starts_with("Read-only access"));
        // The same scope name at another provider is that provider's business.
        let mut other = provider("acme", "Acme", &[]);
        other.scope = "read_only".into();
        assert_eq!(access_summary(Locale::en, &other), "Read access");
    }
}
