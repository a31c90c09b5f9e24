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
    // Who to sign in as: the button pressed.
    let chosen = StoredValue::new((Role::Admin, ""));
    let action = Action::new_local(move |_: &()| async move {
        let (role, workspace) = chosen.get_value();
        api::demo_sign_in(role, workspace).await?;
        session.refetch();
        navigator.go(Route::List);
        Ok(())
    });
    let sign_in = move |role: Role, workspace: &'static str| {
        chosen.set_value((role, workspace));
        action.dispatch(());
    };
    let busy = {
        let pending = action.pending();
        move || pending.get()
    };
    let error = move || {
        action.value().get().and_then(Result::err).map(|e| match e {
            ApiError::Problem(p) if p.status == 404 => td_string!(locale, session.no_demo).to_owned(),
            e => messages::api_error(locale, &e),
        })
    };
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
