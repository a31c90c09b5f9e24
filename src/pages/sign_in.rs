//! The demo's sign-in. A production deployment signs users in through its host portal instead.

use connections_wire::Role;
use leptos::prelude::*;

use crate::api::{self, ApiError};
use crate::components::SessionResource;
use crate::i18n::{self, td_string};
use crate::messages;
use crate::navigator::use_navigator;
use crate::routing::Route;

#[component]
pub fn SignInPage() -> impl IntoView {
    let session = expect_context::<SessionResource>();
    let navigator = use_navigator();
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let locale = i18n::locale();
    let sign_in = move |role: Role| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::demo_sign_in(role).await {
                Ok(_) => {
                    session.refetch();
                    navigator.go(Route::List);
                }
                Err(ApiError::Problem(p)) if p.status == 404 => error.set(Some(td_string!(locale, session.no_demo).into())),
                Err(e) => error.set(Some(messages::api_error(locale, &e))),
            }
            busy.set(false);
        });
    };
    let sign_in_viewer = sign_in;
    view! {
        <h1>{td_string!(locale, session.demo_sign_in)}</h1>
        <p>{td_string!(locale, session.demo_intro)}</p>
        {move || error.get().map(|message| view! { <div class="cx-notice cx-notice-error" role="alert"><p>{message}</p></div> })}
        <div class="cx-actions">
            <button class="cx-button cx-button-primary" disabled=move || busy.get() on:click=move |_| sign_in(Role::Admin)>
                {td_string!(locale, session.sign_in_as_admin)}
            </button>
            <button class="cx-button" disabled=move || busy.get() on:click=move |_| sign_in_viewer(Role::Viewer)>
                {td_string!(locale, session.sign_in_as_viewer)}
            </button>
        </div>
    }
}
