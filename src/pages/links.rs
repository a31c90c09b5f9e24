//! Connect links: "Send a link instead" (on the authorization page, and on a connection's page to
//! reconnect it), the workspace's links with revoke, and the link's own page (`/connect/<token>`,
//! no session) where the account owner connects.

use connections_wire::{ConnectLinkView, LinkPage, LinkStatus, NewConnectLink, LINK_DEFAULT_SECS};
use leptos::prelude::*;

use super::authorize::{Connector, ConsentDetails, ModePicker, StageNotice};
use super::key_form::{KeyForm, KeyThroughLink};
use crate::components::ErrorNotice;
use crate::i18n::{self, td_string, Locale};
use crate::{api, messages};

/// The lifetimes offered, from one hour to seven days; the default is 72 hours.
const LIFETIMES: [i64; 5] = [3600, 24 * 3600, LINK_DEFAULT_SECS, 5 * 24 * 3600, 7 * 24 * 3600];

fn lifetime_label(locale: Locale, secs: i64) -> String {
    match secs {
        3600 => td_string!(locale, links.one_hour).into(),
        s if s <= LINK_DEFAULT_SECS => td_string!(locale, links.hours, hours = (s / 3600).to_string()).to_string(),
        s => td_string!(locale, links.days, days = (s / (24 * 3600)).to_string()).to_string(),
    }
}

/// "Send a link instead": how long it lives, a note, and the link to copy, shown once.
#[component]
pub fn SendLink(provider: String, connection_id: Option<String>) -> impl IntoView {
    let locale = i18n::locale();
    let open = RwSignal::new(false);
    let lifetime = RwSignal::new(LINK_DEFAULT_SECS);
    let note = RwSignal::new(String::new());
    let request = StoredValue::new((provider, connection_id));
    let create = Action::new_local(move |_: &()| {
        let (provider, connection_id) = request.get_value();
        let note = Some(note.get_untracked()).filter(|n| !n.trim().is_empty());
        let body = NewConnectLink { provider, connection_id, expires_in_secs: lifetime.get_untracked(), note };
        async move { api::create_link(&body).await }
    });
    let created = move || create.value().get().and_then(Result::ok);
    let error = move || create.value().get().and_then(Result::err).map(|e| messages::api_error(locale, &e));
    view! {
        <section class="cx-send-link">
            <button class="cx-button" aria-expanded=move || open.get().to_string() on:click=move |_| open.update(|o| *o = !*o)>
                {td_string!(locale, links.send_instead)}
            </button>
            <Show when=move || open.get()>
                <Show when=move || created().is_none() fallback=move || view! { <CreatedLink created=created().expect("shown once made") /> }>
                    <p class="cx-muted">{td_string!(locale, links.explain)}</p>
                    <label class="cx-block">{td_string!(locale, links.lifetime)}
                        <select on:change=move |ev| lifetime.set(event_target_value(&ev).parse().unwrap_or(LINK_DEFAULT_SECS))>
                            {LIFETIMES.iter().map(|&secs| view! { <option value=secs.to_string() selected=secs == LINK_DEFAULT_SECS>{lifetime_label(locale, secs)}</option> }).collect_view()}
                        </select>
                    </label>
                    <label class="cx-block">{td_string!(locale, links.note)}
                        <textarea maxlength="500" prop:value=move || note.get() on:input=move |ev| note.set(event_target_value(&ev))></textarea>
                    </label>
                    {move || error().map(|message| view! { <ErrorNotice message /> })}
                    <button class="cx-button cx-button-primary" on:click=move |_| { create.dispatch(()); } disabled=move || create.pending().get()>
                        {td_string!(locale, links.create)}
                    </button>
                </Show>
            </Show>
        </section>
    }
}

/// The link just made: its address, to copy now (it is not shown again).
#[component]
fn CreatedLink(created: connections_wire::ConnectLinkCreated) -> impl IntoView {
    let locale = i18n::locale();
    let url = created.url.clone();
    let copy = move |_| {
        if let Some(window) = web_sys::window() {
            let _ = window.navigator().clipboard().write_text(&url);
        }
    };
    view! {
        <div class="cx-notice" role="status">
            <p><strong>{td_string!(locale, links.copy_now)}</strong></p>
            <input class="cx-link-url" readonly aria-label=td_string!(locale, links.the_link) value=created.url.clone() />
            <button class="cx-button" on:click=copy>{td_string!(locale, links.copy)}</button>
            <p class="cx-muted">{td_string!(locale, links.expires)} " " {i18n::datetime(&created.expires_at)}</p>
        </div>
    }
}

fn status_label(locale: Locale, status: LinkStatus) -> &'static str {
    match status {
        LinkStatus::Open => td_string!(locale, links.status_open),
        LinkStatus::Used => td_string!(locale, links.status_used),
        LinkStatus::Revoked => td_string!(locale, links.status_revoked),
        LinkStatus::Expired => td_string!(locale, links.status_expired),
    }
}

/// The workspace's links of one provider: who made each, until when, used by which connection; open
/// ones can be revoked.
#[component]
pub fn OpenLinks(provider: String) -> impl IntoView {
    let locale = i18n::locale();
    let links = LocalResource::new(api::links);
    let revoke = Action::new_local(move |id: &String| {
        let id = id.clone();
        async move {
            let revoked = api::revoke_link(&id).await;
            links.refetch();
            revoked
        }
    });
    let provider = StoredValue::new(provider);
    let rows = move || {
        let all: Vec<ConnectLinkView> = links.get().and_then(Result::ok).unwrap_or_default();
        all.into_iter().filter(|link| provider.with_value(|p| *p == link.provider)).collect::<Vec<_>>()
    };
    view! {
        <Show when=move || !rows().is_empty()>
            <section>
                <h2>{td_string!(locale, links.title)}</h2>
                {move || revoke.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice message=messages::api_error(locale, &e) /> })}
                <table class="cx-table cx-cards">
                    <thead><tr>
                        <th scope="col">{td_string!(locale, links.made_by)}</th><th scope="col">{td_string!(locale, links.expires)}</th>
                        <th scope="col">{td_string!(locale, links.status)}</th><th scope="col"><span class="cx-visually-hidden">{td_string!(locale, links.actions)}</span></th>
                    </tr></thead>
                    <tbody>
                        {move || rows().into_iter().map(|link| {
                            let id = link.id.clone();
                            view! {
                                <tr>
                                    <td>{link.created_by.clone()}{link.note.clone().map(|note| view! { <br /><span class="cx-muted">{note}</span> })}</td>
                                    <td>{i18n::datetime(&link.expires_at)}</td>
                                    <td>{status_label(locale, link.status)}{link.used_by_connection.clone().map(|id| view! { " " <code>{id}</code> })}</td>
                                    <td>{(link.status == LinkStatus::Open).then(|| view! {
                                        <button class="cx-link-button" on:click=move |_| { revoke.dispatch(id.clone()); }>{td_string!(locale, links.revoke)}</button>
                                    })}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
        </Show>
    }
}

/// `/connect/<token>`: no session. Names the company, who asked, the note, the provider, the access
/// and the data, and "Connect with {provider}"; a closed link says so and offers nothing else.
#[component]
pub fn LinkConnectPage(token: String) -> impl IntoView {
    let locale = i18n::locale();
    let page = {
        let token = token.clone();
        LocalResource::new(move || {
            let token = token.clone();
            async move { api::link_page(&token).await }
        })
    };
    let token = StoredValue::new(token);
    move || match page.get() {
        None => view! { <p role="status">{td_string!(locale, shell.loading)}</p> }.into_any(),
        Some(Err(error)) => view! {
            <div class="cx-notice cx-notice-error" role="alert">
                <h1>{td_string!(locale, links.closed_title)}</h1>
                <p>{messages::api_error(locale, &error)}</p>
            </div>
        }
        .into_any(),
        Some(Ok(page)) => view! { <LinkConsent page token=token.get_value() /> }.into_any(),
    }
}

#[component]
fn LinkConsent(page: LinkPage, token: String) -> impl IntoView {
    let locale = i18n::locale();
    let connector = Connector::new(page.provider.clone(), Some(token.clone()));
    let token = StoredValue::new(token);
    let (provider, key) = (page.provider.clone(), page.provider.key.clone());
    let name = page.provider.name.clone();
    let label = {
        let name = name.clone();
        move || td_string!(locale, authorize.connect_with, provider = &name).to_string()
    };
    let busy = move || connector.stage.get().is_busy();
    view! {
        <article class="cx-consent" aria-labelledby="cx-consent-title">
            <p class="cx-link-asked">
                {td_string!(locale, links.asked, person = &page.asked_by, company = &page.company).to_string()}
            </p>
            {page.note.clone().map(|note| view! { <blockquote class="cx-link-note">{note}</blockquote> })}
            {page.reconnect_account.clone().map(|account| view! { <p>{td_string!(locale, links.reconnect, account = &account).to_string()}</p> })}
            <ConsentDetails provider=page.provider.clone() />
            {move || connector.error.get().map(|message| view! { <ErrorNotice message /> })}
            <StageNotice connector />
            {move || match connector.linked.get() {
                Some(account) => view! {
                    <div class="cx-notice" role="status">
                        <h2>{td_string!(locale, messages.connection_successful)}</h2>
                        <p>{td_string!(locale, links.done, account = &account, company = &page.company).to_string()}</p>
                    </div>
                }
                .into_any(),
                None => match key.clone() {
                    // A key-based source: the owner pastes the key here, through the link.
                    Some(field) => {
                        let link = KeyThroughLink { token: token.get_value(), done: connector.linked };
                        view! { <KeyForm provider=provider.clone() field link /> }.into_any()
                    }
                    None => view! {
                        <ModePicker connector />
                        <div class="cx-actions">
                            <button class="cx-button cx-button-primary" on:click=move |_| connector.connect() disabled=busy aria-busy=move || busy().to_string()>
                                {label.clone()}
                            </button>
                        </div>
                    }
                    .into_any(),
                },
            }}
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connections_wire::{LINK_MAX_SECS, LINK_MIN_SECS};

    #[test]
    fn lifetimes_run_from_one_hour_to_seven_days_and_the_default_reads_72_hours() {
        assert_eq!(LIFETIMES.first(), Some(&LINK_MIN_SECS));
        assert_eq!(LIFETIMES.last(), Some(&LINK_MAX_SECS));
        assert!(LIFETIMES.contains(&LINK_DEFAULT_SECS) && LIFETIMES.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(lifetime_label(Locale::en, LINK_DEFAULT_SECS), "72 hours");
        assert_eq!(lifetime_label(Locale::en, 3600), "1 hour");
        assert_eq!(lifetime_label(Locale::de, LINK_MAX_SECS), "7 Tage");
    }
}
