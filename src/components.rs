//! Small pieces shared by pages.

use connections_wire::{ConnectionStatus, GrantResponse, ProviderInfo, Role, SessionInfo};
use leptos::prelude::*;

use crate::api::{self, ApiError};
use crate::catalog;
use crate::host;
use crate::i18n::{self, td_string, Locale};
use crate::messages;
use crate::navigator::{use_navigator, Navigator};
use crate::routing::Route;

/// A message shown at the top of the app after a page change, e.g. "Connection successful!".
#[derive(Clone, Debug, PartialEq)]
pub struct Flash {
    pub text: String,
    /// The connection to mark in the table.
    pub connection_id: Option<String>,
    pub kind: FlashKind,
    /// What to do next elsewhere, e.g. remove the app at the provider.
    pub link: Option<FlashLink>,
}

/// A link to another site, opened in a new tab.
#[derive(Clone, Debug, PartialEq)]
pub struct FlashLink {
    pub text: String,
    pub href: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashKind {
    Success,
    /// Something needs the administrator's attention.
    Warning,
}

impl Flash {
    pub fn success(text: impl Into<String>, connection_id: Option<String>) -> Self {
        Flash { text: text.into(), connection_id, kind: FlashKind::Success, link: None }
    }

    pub fn warning(text: impl Into<String>) -> Self {
        Flash { text: text.into(), connection_id: None, kind: FlashKind::Warning, link: None }
    }

    pub fn with_link(self, link: Option<FlashLink>) -> Self {
        Flash { link, ..self }
    }
}

/// Shared through context.
#[derive(Clone, Copy)]
pub struct FlashState(pub RwSignal<Option<Flash>>);

pub type SessionResource = LocalResource<Result<SessionInfo, ApiError>>;

/// Shows `children` to administrators; tells everyone else why not.
#[component]
pub fn AdminOnly(children: ChildrenFn) -> impl IntoView {
    let session = expect_context::<SessionResource>();
    let children = StoredValue::new(children);
    let locale = i18n::locale();
    move || match session.get() {
        None => view! { <p class="cx-muted" role="status">{td_string!(locale, session.checking)}</p> }.into_any(),
        Some(Ok(info)) if info.role == Role::Admin => children.read_value()().into_any(),
        Some(Ok(info)) => view! {
            <div class="cx-notice cx-notice-error" role="alert">
                <h1>{messages::admin_required(locale)}</h1>
                <p>{td_string!(locale, session.not_admin, name = info.name).to_string()}</p>
            </div>
        }
        .into_any(),
        Some(Err(error)) if error.code() == Some(connections_wire::ErrorCode::Unauthenticated) => view! {
            <div class="cx-notice" role="alert">
                <h1>{td_string!(locale, session.signed_out_title)}</h1>
                <p>{td_string!(locale, session.signed_out)}</p>
                <p><a class="cx-button" href=use_navigator().href(&Route::SignIn)>{td_string!(locale, session.demo_sign_in)}</a></p>
            </div>
        }
        .into_any(),
        Some(Err(error)) => view! { <ErrorNotice message=messages::api_error(locale, &error) /> }.into_any(),
    }
}

#[component]
pub fn ErrorNotice(#[prop(into)] message: String) -> impl IntoView {
    view! { <div class="cx-notice cx-notice-error" role="alert"><p>{message}</p></div> }
}

/// A link to another site in a new tab: no handle on this page, no referrer, and said so to screen
/// readers.
#[component]
pub fn ExternalLink(#[prop(into)] href: String, #[prop(into)] text: String) -> impl IntoView {
    view! {
        <a class="cx-external" href=href target="_blank" rel="noopener noreferrer">
            {text}<span class="cx-visually-hidden">" " {td_string!(i18n::locale(), shell.new_tab)}</span>
        </a>
    }
}

/// The provider's logo, or a tile with its initials; decorative either way, since the name is always
/// written next to it.
#[component]
pub fn ProviderIcon(provider: ProviderInfo) -> impl IntoView {
    match provider.icon_url {
        Some(url) => view! { <img class="cx-provider-icon" src=api::asset_url(&url) alt="" height="40" /> }.into_any(),
        None => view! { <span class="cx-provider-icon cx-initials" aria-hidden="true">{catalog::initials(&provider.name)}</span> }.into_any(),
    }
}

/// A page's data from the server: "Loading…" while it is on its way, the error in words if it did not
/// come, else `show` with it. `data` is `None` until it arrives (a resource's `get`, or several).
#[component]
pub fn Loaded<T, D, S>(data: D, loading: &'static str, show: S) -> impl IntoView
where
    T: 'static,
    D: Fn() -> Option<Result<T, ApiError>> + Send + Sync + 'static,
    S: Fn(T) -> AnyView + Send + Sync + 'static,
{
    let locale = i18n::locale();
    move || match data() {
        None => view! { <Loading text=loading /> }.into_any(),
        Some(Err(error)) => view! { <ErrorNotice message=messages::api_error(locale, &error) /> }.into_any(),
        Some(Ok(value)) => show(value),
    }
}

/// How the app leaves the page that connected an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leave {
    /// A new history entry, focus on the new page (the Connect button's page).
    Go,
    /// In place of this entry (the provider's callback address, which must not be returned to).
    Replace,
}

/// What both ways of connecting (the popup's answer on the authorize page, the redirect's callback
/// page) do once the server granted: the flash that marks the new row, back to the table, the host's
/// event. One copy, so the two cannot drift apart.
#[derive(Clone, Copy)]
pub struct Connected {
    flash: FlashState,
    navigator: Navigator,
    locale: Locale,
}

impl Connected {
    /// From the page's context; call while the component is built.
    pub fn from_context() -> Self {
        Connected { flash: expect_context::<FlashState>(), navigator: use_navigator(), locale: i18n::locale() }
    }

    pub fn finish(self, response: &GrantResponse, leave: Leave) {
        let connection_id = Some(response.connection.id.clone());
        self.flash.0.set(Some(Flash::success(messages::connection_successful(self.locale), connection_id)));
        match leave {
            Leave::Go => self.navigator.go(Route::List),
            Leave::Replace => self.navigator.replace(Route::List),
        }
        host::announce_grant(response);
    }
}

/// "Loading…" while a page's data is on its way.
#[component]
pub fn Loading(#[prop(into)] text: String) -> impl IntoView {
    view! { <p class="cx-muted" role="status" aria-busy="true">{text}</p> }
}

/// The signed-in user, with a sign-out for the demo.
#[component]
pub fn UserBadge() -> impl IntoView {
    let session = expect_context::<SessionResource>();
    let locale = i18n::locale();
    let sign_out = move |_| {
        leptos::task::spawn_local(async move {
            let _ = api::demo_sign_out().await;
            session.refetch();
        });
    };
    move || match session.get() {
        Some(Ok(info)) => {
            let role = match info.role {
                Role::Admin => td_string!(locale, session.role_admin),
                Role::Viewer => td_string!(locale, session.role_viewer),
            };
            view! {
                <span class="cx-user">
                    {info.name} <span class="cx-muted">" (" {role} ")"</span>
                    {(info.demo && !api::host_supplies_session()).then(|| view! { <button class="cx-link-button" on:click=sign_out>{td_string!(locale, session.sign_out)}</button> })}
                </span>
            }
            .into_any()
        }
        _ => ().into_any(),
    }
}

/// Text and an icon, never colour alone.
#[component]
pub fn StatusBadge(status: ConnectionStatus) -> impl IntoView {
    let (icon, class) = status_look(status);
    view! { <span class=class><span aria-hidden="true">{icon}</span><span>{messages::status_label(i18n::locale(), status)}</span></span> }
}

/// A status's icon (beside its words, not instead of them) and the badge's classes.
pub fn status_look(status: ConnectionStatus) -> (&'static str, &'static str) {
    match status {
        ConnectionStatus::Connected => ("●", "cx-status cx-status-ok"),
        ConnectionStatus::ReauthenticationRequired => ("▲", "cx-status cx-status-warn"),
        ConnectionStatus::Revoked => ("✕", "cx-status cx-status-bad"),
        ConnectionStatus::Disconnected => ("○", "cx-status cx-status-off"),
    }
}
