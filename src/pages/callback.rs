//! Where the provider sends the browser back: check `state`, drop the code from the address bar, hand
//! the grant to the server, and go back to the table.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};
use leptos_router::NavigateOptions;

use crate::components::{Flash, FlashState};
use crate::flow::{self, CallbackOutcome};
use crate::{api, browser, messages};

#[derive(Clone, PartialEq)]
enum Progress {
    Working,
    Failed(String),
}

#[component]
pub fn CallbackPage() -> impl IntoView {
    let params = use_params_map();
    let provider = params.read_untracked().get("provider").unwrap_or_default();
    let progress = RwSignal::new(Progress::Working);
    let flash = expect_context::<FlashState>();
    let navigate = use_navigate();

    // Read once, then scrub: the code must not stay in the address bar, history or a Referer.
    let query = browser::current_query();
    let pending = browser::take_pending();
    browser::scrub_query();

    let outcome = flow::parse_callback(&query);
    let grant = match outcome {
        Ok(CallbackOutcome::Granted { code, state }) => flow::grant_request(code, state, pending, &provider).map_err(|e| messages::callback_error(&e)),
        Ok(CallbackOutcome::Denied) => Err(format!("You cancelled at Stripe, so {}", messages::NOTHING_CONNECTED.to_lowercase())),
        Ok(CallbackOutcome::Failed { error, description }) => Err(format!(
            "Stripe could not complete the connection ({error}{}). {}",
            if description.is_empty() { String::new() } else { format!(": {description}") },
            messages::NOTHING_CONNECTED
        )),
        Err(error) => Err(messages::callback_error(&error)),
    };
    match grant {
        Err(message) => progress.set(Progress::Failed(message)),
        Ok(request) => {
            let provider = provider.clone();
            leptos::task::spawn_local(async move {
                match api::send_grant(&provider, &request).await {
                    Ok(connection) => {
                        flash.0.set(Some(Flash { text: messages::CONNECTION_SUCCESSFUL.into(), connection_id: Some(connection.id) }));
                        navigate("/connections", NavigateOptions { replace: true, ..Default::default() });
                    }
                    Err(error) => progress.set(Progress::Failed(messages::api_error(&error))),
                }
            });
        }
    }

    let retry_href = format!("/connections/new/{provider}");
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
                <a class="cx-button" href="/connections">"Back to Connections"</a>
            </div>
        }
        .into_any(),
    }
}
