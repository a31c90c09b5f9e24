use leptos::prelude::*;
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::path;

use crate::api;
use crate::components::{FlashKind, FlashState, SessionResource, UserBadge};
use crate::i18n::{self, td_string, I18nLocaleTrait, LocaleProvider};
use crate::pages::{AuthorizePage, CallbackPage, ConnectionDetailPage, ConnectionsPage, GalleryPage, NotFoundPage, SignInPage};

#[component]
pub fn App() -> impl IntoView {
    let session: SessionResource = LocalResource::new(api::session);
    provide_context(session);
    let flash = FlashState(RwSignal::new(None));
    provide_context(flash);

    // The provider's children are built inside it, so `i18n::locale()` below finds its context.
    view! {
        <LocaleProvider preferred=None>
        <Router>
            <div class="cx-app" lang=i18n::locale().as_str()>
                <a class="cx-skip" href="#cx-main">{td_string!(i18n::locale(), shell.skip_to_content)}</a>
                <header class="cx-header">
                    <nav class="cx-nav" aria-label=td_string!(i18n::locale(), shell.admin)>
                        <span class="cx-brand">{td_string!(i18n::locale(), shell.admin)}</span>
                        <a href="/connections">{td_string!(i18n::locale(), shell.connections)}</a>
                    </nav>
                    <UserBadge />
                </header>
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
                            <button class="cx-link-button" aria-label=td_string!(i18n::locale(), shell.dismiss) on:click=move |_| flash.0.set(None)>"×"</button>
                        </div>
                    }})}
                </div>
                <main id="cx-main" class="cx-main" tabindex="-1">
                    <Routes fallback=NotFoundPage>
                        <Route path=path!("/") view=|| view! { <Redirect path="/connections" /> } />
                        <Route path=path!("/connections") view=ConnectionsPage />
                        <Route path=path!("/connections/new") view=GalleryPage />
                        <Route path=path!("/connections/new/:provider") view=AuthorizePage />
                        <Route path=path!("/connections/:id") view=ConnectionDetailPage />
                        <Route path=path!("/connections/:provider/callback") view=CallbackPage />
                        <Route path=path!("/sign-in") view=SignInPage />
                    </Routes>
                </main>
            </div>
        </Router>
        </LocaleProvider>
    }
}
