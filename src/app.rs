use leptos::prelude::*;
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::path;

use crate::api;
use crate::components::{FlashKind, FlashState, SessionResource, UserBadge};
use crate::pages::{AuthorizePage, CallbackPage, ConnectionDetailPage, ConnectionsPage, GalleryPage, NotFoundPage, SignInPage};

#[component]
pub fn App() -> impl IntoView {
    let session: SessionResource = LocalResource::new(api::session);
    provide_context(session);
    let flash = FlashState(RwSignal::new(None));
    provide_context(flash);

    view! {
        <Router>
            <div class="cx-app">
                <a class="cx-skip" href="#cx-main">"Skip to content"</a>
                <header class="cx-header">
                    <nav class="cx-nav" aria-label="Admin">
                        <span class="cx-brand">"Admin"</span>
                        <a href="/connections">"Connections"</a>
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
                            <button class="cx-link-button" aria-label="Dismiss message" on:click=move |_| flash.0.set(None)>"×"</button>
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
    }
}
