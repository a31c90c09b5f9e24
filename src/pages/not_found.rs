use leptos::prelude::*;

use crate::i18n::{self, td_string};

#[component]
pub fn NotFoundPage() -> impl IntoView {
    let locale = i18n::locale();
    view! {
        <h1>{td_string!(locale, shell.not_found)}</h1>
        <p><a href=crate::navigator::use_navigator().href(&crate::routing::Route::List)>{td_string!(locale, shell.go_to_connections)}</a></p>
    }
}
