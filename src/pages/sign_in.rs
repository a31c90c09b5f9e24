//! The demo's sign-in, as one of its two workspaces' administrator or viewer. A production deployment
//! signs users in through its host portal instead.

use connections_wire::{Role, DEMO_WORKSPACES};
use leptos::prelude::*;

use crate::api::{self, ApiError};
use crate::components::SessionResource;
use crate::i18n::{self, td_string};
use crate::messages;
use crate::navigator::use_navigator;
use crate::routing::Route;

/// Who the server signs in for each demo workspace: its administrator and its viewer.
fn demo_people(workspace: &str) -> (&'static str, &'static str) {
    match workspace {
        "globex" => ("Grace Admin", "Vera Viewer"),
        _ => ("Ada Admin", "Victor Viewer"),
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let session = expect_context::<SessionResource>();
    let navigator = use_navigator();
    let locale = i18n::locale();
    let action = Action::new_local(move |&(role, workspace): &(Role, &'static str)| async move {
        match api::demo_sign_in(role, workspace).await {
            Ok(_) => {
                session.refetch();
                navigator.go(Route::List);
                Ok(())
            }
            Err(ApiError::Problem(p)) if p.status == 404 => Err(td_string!(locale, session.no_demo).to_owned()),
            Err(e) => Err(messages::api_error(locale, &e)),
        }
    });
    let sign_in = move |role: Role, workspace: &'static str| {
        action.dispatch((role, workspace));
    };
    let busy = move || action.pending().get();
    let error = move || action.value().get().and_then(Result::err);
    view! {
        <h1>{td_string!(locale, session.demo_sign_in)}</h1>
        <p>{td_string!(locale, session.demo_intro)}</p>
        {move || error().map(|message| view! { <div class="cx-notice cx-notice-error" role="alert"><p>{message}</p></div> })}
        {DEMO_WORKSPACES.into_iter().map(|(workspace, company)| {
            let (admin, viewer) = demo_people(workspace);
            view! {
                <section aria-label=company>
                    <h2>{company}</h2>
                    <div class="cx-actions">
                        <button class="cx-button cx-button-primary" disabled=busy on:click=move |_| sign_in(Role::Admin, workspace)>
                            {td_string!(locale, session.sign_in_as_admin, name = admin).to_string()}
                        </button>
                        <button class="cx-button" disabled=busy on:click=move |_| sign_in(Role::Viewer, workspace)>
                            {td_string!(locale, session.sign_in_as_viewer, name = viewer).to_string()}
                        </button>
                    </div>
                </section>
            }
        }).collect_view()}
    }
}
