use leptos::prelude::*;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <h1>"Page not found"</h1>
        <p><a href=crate::navigator::use_navigator().href(&crate::routing::Route::List)>"Go to Connections"</a></p>
    }
}
