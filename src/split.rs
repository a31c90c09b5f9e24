//! The app in two bundles (see README, "First-load size"): the table page's bundle (`connections`,
//! what `index.html` and `/embed.js` load) holds the shell, the router and the table; every other
//! page is in the pages bundle (`connections-pages-{id}`), fetched once the table is on screen and
//! the browser is idle, or when such a page is first opened. Opening one hands the mount over: the
//! table's app unmounts and the pages bundle's app (which holds every page, the table too) mounts
//! in the same element with the same options, at that page.
//!
//! Each bundle's `main` chooses its pages (`start_table`, `start_pages`): the table's bundle never
//! names the other pages, so the linker leaves them out of it.

use std::cell::Cell;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;

use crate::components::{ErrorNotice, Loading};
use crate::i18n::{self, td_string};
use crate::pages::{AuthorizePage, CallbackPage, ConnectionDetailPage, ConnectionsPage, GalleryPage, LinkConnectPage, NotFoundPage, SignInPage};
use crate::routing::Route;

/// Which page a route shows, in this bundle; on a connect link's page (`/connect/<token>`, outside
/// the app's routes), the link's token.
type Pages = fn(Route, Option<String>) -> AnyView;

thread_local! {
    static PAGES: Cell<Option<Pages>> = const { Cell::new(None) };
    /// Whether this is the table's bundle, which fetches the pages bundle once an app is mounted.
    static PREFETCHES: Cell<bool> = const { Cell::new(false) };
}

/// The page for `route`, as this bundle's `main` chose (the not-found page before it did).
pub fn page(route: Route, link: Option<String>) -> AnyView {
    match PAGES.with(Cell::get) {
        Some(pages) => pages(route, link),
        None => NotFoundPage().into_any(),
    }
}

/// The table page's bundle: the table here, every other page by handing over.
pub fn table_only(route: Route, link: Option<String>) -> AnyView {
    match route {
        Route::List if link.is_none() => ConnectionsPage().into_any(),
        route => view! { <HandOver route /> }.into_any(),
    }
}

/// The pages bundle: every page.
pub fn every_page(route: Route, link: Option<String>) -> AnyView {
    if let Some(token) = link {
        return view! { <LinkConnectPage token /> }.into_any();
    }
    match route {
        Route::List => ConnectionsPage().into_any(),
        Route::Gallery => GalleryPage().into_any(),
        Route::Authorize { provider } => view! { <AuthorizePage provider /> }.into_any(),
        Route::Callback { provider } => view! { <CallbackPage provider /> }.into_any(),
        Route::Detail { id } => view! { <ConnectionDetailPage id /> }.into_any(),
        Route::SignIn => SignInPage().into_any(),
        Route::NotFound => NotFoundPage().into_any(),
    }
}

/// What this bundle shows (its `main` says), and whether it fetches the pages bundle when idle.
pub fn choose(pages: Pages, prefetches: bool) {
    PAGES.with(|p| p.set(Some(pages)));
    PREFETCHES.with(|p| p.set(prefetches));
}

/// The pages bundle's name in this build (`build.rs`); `scripts/name-pages-bundle.sh` gives the
/// built files this name.
pub const PAGES_BUNDLE: &str = concat!("connections-pages-", env!("CONNECTIONS_PAGES_ID"));

#[wasm_bindgen(module = "/src/app.js")]
extern "C" {
    #[wasm_bindgen(js_name = loadPages)]
    fn load_pages(name: &str) -> js_sys::Promise;
    #[wasm_bindgen(js_name = prefetchPages)]
    fn prefetch_pages(name: &str);
}

/// In the table's bundle, once an app is mounted: fetches the pages bundle when the browser is idle
/// after the table showed, so opening another page does not wait for it.
pub fn mounted() {
    if PREFETCHES.with(Cell::get) {
        prefetch_pages(PAGES_BUNDLE);
    }
}

/// Shown by the table's bundle for any other page: "Loading…" while the pages bundle comes, then
/// the mount is handed over; an error if it did not come.
#[component]
fn HandOver(route: Route) -> impl IntoView {
    let locale = i18n::locale();
    let failed = RwSignal::new(false);
    let path = handed_path(&route);
    spawn_local(async move {
        let glue = wasm_bindgen_futures::JsFuture::from(load_pages(PAGES_BUNDLE)).await;
        match glue {
            Ok(glue) => crate::embed::hand_over(glue, &path),
            Err(error) => {
                web_sys::console::error_2(&"Connections: the pages bundle did not load".into(), &error);
                failed.set(true);
            }
        }
    });
    move || match failed.get() {
        false => view! { <Loading text=td_string!(locale, shell.loading) /> }.into_any(),
        true => view! { <ErrorNotice message=td_string!(locale, messages.network) /> }.into_any(),
    }
}

/// The path the pages bundle starts at for `route`. `NotFound`'s own path would name a connection;
/// two segments no page has are not found.
fn handed_path(route: &Route) -> String {
    match route {
        Route::NotFound => "/not-found/-".to_owned(),
        route => route.relative_path(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_is_handed_over_as_itself() {
        let pages = [
            Route::List,
            Route::Gallery,
            Route::Authorize { provider: "stripe".into() },
            Route::Callback { provider: "a b".into() },
            Route::SignIn,
            Route::Detail { id: "conn_1/..".into() },
            Route::NotFound,
        ];
        for route in pages {
            assert_eq!(Route::parse(&handed_path(&route)), route);
        }
    }
}
