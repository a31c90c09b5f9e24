//! Add a Data Source: the gallery of providers the server offers.

use leptos::prelude::*;

use crate::api;
use crate::components::{AdminOnly, ErrorNotice};
use crate::messages;

#[component]
pub fn GalleryPage() -> impl IntoView {
    view! {
        <nav class="cx-breadcrumb" aria-label="Breadcrumb">
            <a href="/connections">"Connections"</a> " › " <span aria-current="page">"Add a Data Source"</span>
        </nav>
        <AdminOnly>
            <Gallery />
        </AdminOnly>
    }
}

#[component]
fn Gallery() -> impl IntoView {
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
                            <a class="cx-gallery-item" href=format!("/connections/new/{}", provider.id)>
                                <img src=provider.logo_path.clone() alt="" width="96" height="40" />
                                <span>{provider.name.clone()}</span>
                            </a>
                        </li>
                    }).collect_view()}
                </ul>
            }.into_any(),
        }}
        <p><a href="/connections">"Back to Connections"</a></p>
    }
}
