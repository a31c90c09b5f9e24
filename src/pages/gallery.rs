//! Add a Data Source: the gallery of providers the server offers.

use leptos::prelude::*;

use crate::api;
use crate::components::{AdminOnly, ErrorNotice};
use crate::i18n::{self, td_string};
use crate::messages;
use crate::navigator::use_navigator;
use crate::routing::Route;

#[component]
pub fn GalleryPage() -> impl IntoView {
    let navigator = use_navigator();
    let locale = i18n::locale();
    view! {
        <nav class="cx-breadcrumb" aria-label=td_string!(locale, shell.breadcrumb)>
            <a href=navigator.href(&Route::List)>{td_string!(locale, shell.connections)}</a> " › " <span aria-current="page">{td_string!(locale, gallery.title)}</span>
        </nav>
        <AdminOnly>
            <Gallery />
        </AdminOnly>
    }
}

#[component]
fn Gallery() -> impl IntoView {
    let navigator = use_navigator();
    let providers = LocalResource::new(api::providers);
    let locale = i18n::locale();
    view! {
        <h1>{td_string!(locale, gallery.title)}</h1>
        <p class="cx-muted">{td_string!(locale, gallery.intro)}</p>
        {move || match providers.get() {
            None => view! { <p class="cx-muted" role="status" aria-busy="true">{td_string!(locale, gallery.loading)}</p> }.into_any(),
            Some(Err(error)) => view! { <ErrorNotice message=messages::api_error(locale, &error) /> }.into_any(),
            Some(Ok(list)) => view! {
                <ul class="cx-gallery">
                    {list.into_iter().map(|provider| view! {
                        <li>
                            <a class="cx-gallery-item" href=navigator.href(&Route::Authorize { provider: provider.id.clone() })>
                                <img src=crate::api::asset_url(&provider.logo_path) alt="" width="96" height="40" />
                                <span>{provider.name.clone()}</span>
                            </a>
                        </li>
                    }).collect_view()}
                </ul>
            }.into_any(),
        }}
        <p><a href=navigator.href(&Route::List)>{td_string!(locale, shell.back_to_connections)}</a></p>
    }
}
