use leptos::prelude::*;

use crate::api;
use crate::components::{ExternalLink, FlashKind, FlashState, SessionResource, UserBadge};
use crate::i18n::{self, td_string, LocaleProvider};
use crate::navigator::Navigator;
use crate::options::AppOptions;
use crate::pages::FirstLoad;
use crate::routing::Route;
use crate::split;

#[component]
pub fn App(options: AppOptions) -> impl IntoView {
    let navigator = Navigator::new(options.base_path.clone(), options.routing);
    provide_context(navigator);
    // The table's rows and providers are asked for before the session check, all three in the same
    // turn: none waits for another's answer.
    if untrack(|| navigator.route()) == Route::List {
        provide_context(FirstLoad::start());
    }
    let session: SessionResource = LocalResource::new(api::session);
    provide_context(session);
    let flash = FlashState(RwSignal::new(None));
    provide_context(flash);
    let preferred_locale = options.locale.clone();
    provide_context(options);
    // A connect link's page (`/connect/<token>`): no session, none of the admin's pages.
    let link = crate::browser::link_token();
    // Back from the provider on a link's attempt, the callback page is the link's too: no admin shell.
    let link_callback = matches!(untrack(|| navigator.route()), Route::Callback { .. }) && crate::browser::link_pending();
    let admin = link.is_none() && !link_callback;
    let page = move || split::page(navigator.route(), link.clone());

    // The provider's children are built inside it, so `i18n::locale()` below finds its context.
    view! {
        <LocaleProvider preferred=preferred_locale>
            <div class="cx-app" lang=i18n::locale().as_str() on:click=move |event| navigator.on_click(event)>
                <a class="cx-skip" href="#cx-main">{td_string!(i18n::locale(), shell.skip_to_content)}</a>
                {admin.then(|| view! {
                    <header class="cx-header">
                        <nav class="cx-nav" aria-label=td_string!(i18n::locale(), shell.admin)>
                            <span class="cx-brand">{td_string!(i18n::locale(), shell.admin)}</span>
                            <a href=navigator.href(&Route::List)>{td_string!(i18n::locale(), shell.connections)}</a>
                        </nav>
                        <UserBadge />
                    </header>
                })}
                // Always in the page, so screen readers announce what appears in it.
                <div class="cx-flash-region" role="status" aria-live="polite">
                    {move || flash.0.get().map(|message| {
                        let (class, icon) = match message.kind {
                            FlashKind::Success => ("cx-flash cx-flash-success", "✓ "),
                            FlashKind::Warning => ("cx-flash cx-flash-warning", "▲ "),
                        };
                        view! {
                        <div class=class>
                            <span aria-hidden="true">{icon}</span>
                            <strong>{message.text}</strong>
                            {message.link.map(|link| view! { <ExternalLink href=link.href text=link.text /> })}
                            <button class="cx-link-button" aria-label=td_string!(i18n::locale(), shell.dismiss) on:click=move |_| flash.0.set(None)>"×"</button>
                        </div>
                    }})}
                </div>
                <main id="cx-main" class="cx-main" tabindex="-1">{page}</main>
            </div>
        </LocaleProvider>
    }
}
