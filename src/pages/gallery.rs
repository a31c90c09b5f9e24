//! Add a Data Source: the gallery of providers the server offers.

use leptos::prelude::*;

use crate::api;
use crate::components::{AdminOnly, ErrorNotice};
use crate::messages;
use crate::navigator::use_navigator;
use crate::routing::Route;

#[component]
pub fn GalleryPage() -> impl IntoView {
    let navigator = use_navigator();
    view! {
        <nav class="cx-breadcrumb" aria-label="Breadcrumb">
            <a href=navigator.href(&Route::List)>"Connections"</a> " › " <span aria-current="page">"Add a Data Source"</span>
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
    view! {
        <h1>"Add a Data Source"</h1>
        <p class="cx-muted">"Choose where your data comes from."</p>
        {move || match providers.get() {
            None => view! { <p class="cx-muted" role="status" aria-busy="true">"Loading data sources…"</p> }.into_any(),
            Some(Err(error)) => view! { <ErrorNotice message=messages::api_error(&error) /> }.into_any(),
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
        <p><a href=navigator.href(&Route::List)>"Back to Connections"</a></p>
    }
}
