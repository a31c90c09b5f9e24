//! One file per page.

mod authorize;
mod callback;
mod connections;
mod detail;
mod detail_checks;
mod gallery;
mod not_found;
mod sign_in;

pub use authorize::AuthorizePage;
pub use callback::CallbackPage;
pub use connections::ConnectionsPage;
pub use detail::ConnectionDetailPage;
pub use gallery::GalleryPage;
pub use not_found::NotFoundPage;
pub use sign_in::SignInPage;

use crate::i18n::{td_string, Locale};

/// Test or live, for providers that have modes.
fn mode_label(locale: Locale, live: bool) -> &'static str {
    if live {
        td_string!(locale, mode.live)
    } else {
        td_string!(locale, mode.test)
    }
}
