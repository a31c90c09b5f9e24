//! One file per page.

mod authorize;
mod callback;
mod connections;
mod detail;
mod detail_checks;
mod gallery;
mod key_form;
pub(crate) mod links;
mod not_found;
mod sign_in;

pub use authorize::AuthorizePage;
pub use callback::CallbackPage;
pub use connections::{ConnectionsPage, FirstLoad};
pub use detail::ConnectionDetailPage;
pub use gallery::GalleryPage;
pub use links::LinkConnectPage;
pub use not_found::NotFoundPage;
pub use sign_in::SignInPage;
