//! Add a Data Source: the gallery of providers the server offers, with search and a category filter.

use connections_wire::ProviderInfo;
use leptos::prelude::*;

use crate::api;
use crate::catalog::{self, Catalog, GalleryQuery};
use crate::components::{AdminOnly, Loaded, ProviderIcon};
use crate::i18n::{self, td_string};
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
    let providers = LocalResource::new(api::catalog);
    let locale = i18n::locale();
    view! {
        <h1>{td_string!(locale, gallery.title)}</h1>
        <p class="cx-muted">{td_string!(locale, gallery.intro)}</p>
        <Loaded data=move || providers.get() loading=td_string!(locale, gallery.loading) show=|catalog| view! { <Browse catalog /> }.into_any() />
        <p><a href=navigator.href(&Route::List)>{td_string!(locale, shell.back_to_connections)}</a></p>
    }
}

/// The filters and the providers they leave.
#[component]
fn Browse(catalog: Catalog) -> impl IntoView {
    let query = RwSignal::new(GalleryQuery::default());
    let categories = catalog.categories();
    let total = catalog.providers().len();
    let catalog = StoredValue::new(catalog);
    let shown = move || query.with(|q| catalog.with_value(|c| catalog::filter(c, q).into_iter().cloned().collect::<Vec<_>>()));
    let locale = i18n::locale();
    view! {
        <GalleryFilters query categories />
        <p class="cx-muted cx-count" aria-live="polite">
            {move || td_string!(locale, table.count, shown = i18n::count(shown().len()), total = i18n::count(total)).to_string()}
        </p>
        // A handful of providers: rebuilt on each keystroke, without a keyed list's code in the wasm.
        <ul class="cx-gallery">
            {move || shown().into_iter().map(|provider| view! { <GalleryItem provider /> }).collect_view()}
        </ul>
        {move || shown().is_empty().then(|| view! { <p class="cx-empty">{td_string!(locale, gallery.no_match)}</p> })}
    }
}

#[component]
fn GalleryFilters(query: RwSignal<GalleryQuery>, categories: Vec<String>) -> impl IntoView {
    let locale = i18n::locale();
    let set_search = move |ev: web_sys::Event| query.update(|q| q.search = event_target_value(&ev));
    view! {
        <div class="cx-filters" role="search">
            <label>
                {td_string!(locale, gallery.search)} " "
                <input type="search" placeholder=td_string!(locale, gallery.search_placeholder)
                    prop:value=move || query.with(|q| q.search.clone())
                    on:input=set_search
                    // Clearing by script, autofill or the box's own clear button may not fire `input`.
                    on:change=set_search
                    on:search=set_search />
            </label>
            <label>
                {td_string!(locale, gallery.category)} " "
                <select on:change=move |ev| {
                    let value = event_target_value(&ev);
                    query.update(|q| q.category = (!value.is_empty()).then_some(value));
                }>
                    <option value="">{td_string!(locale, gallery.all_categories)}</option>
                    {categories.into_iter().map(|category| view! { <option value=category.clone()>{category.clone()}</option> }).collect_view()}
                </select>
            </label>
        </div>
    }
}

#[component]
fn GalleryItem(provider: ProviderInfo) -> impl IntoView {
    let href = use_navigator().href(&Route::Authorize { provider: provider.id.clone() });
    let categories = provider.categories.join(" · ");
    view! {
        <li>
            <a class="cx-gallery-item" href=href>
                <ProviderIcon provider=provider.clone() />
                <span class="cx-gallery-name">{provider.name.clone()}</span>
                {(!categories.is_empty()).then(|| view! { <span class="cx-gallery-categories">{categories}</span> })}
            </a>
        </li>
    }
}
