//! The HTTP layer's state: the services' [`Core`] and what only requests need (sessions, the
//! browser policies, the list cache, service keys). Built once by the composition root
//! (`Application::build`); handlers narrow it to what they use (`FromRef`).

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::FromRef;
use axum::http::HeaderValue;

use crate::services::Core;
use crate::session::SessionKeys;

/// JSON bodies of this API are small; anything larger is refused before it is read.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub struct AppInner {
    /// What the services work with: database, providers, cipher, clock, tasks, settings.
    pub core: Core,
    pub sessions: SessionKeys,
    /// `scheme://host[:port]` of `public_url`, as browsers send it in `Origin`.
    pub public_origin: String,
    /// The `Content-Security-Policy` of every answer, made a header value once, at start.
    pub csp: HeaderValue,
    /// Origins of the host pages the app is embedded in (`CONNECTIONS_EMBED_URLS`).
    pub embed_origins: Vec<String>,
    /// `/embed.js`, made from the SPA's `index.html`; `None` when no SPA is served.
    pub embed_loader: Option<String>,
    pub demo: bool,
    /// Connect attempts and grants each allowed per session per minute.
    pub rate_limit_per_minute: u32,
    /// Per workspace, the serialized connections list, the revision it was read at and its `ETag`.
    /// Only served while that is still the revision (see `Db::connections_revision`), so it is
    /// never needed by another instance.
    pub(crate) connections_cache: std::sync::Mutex<std::collections::HashMap<String, CachedList>>,
    /// Where `/metrics` is served (`CONNECTIONS_METRICS_ADDR`, as bound); `None` when off.
    pub metrics_addr: Option<SocketAddr>,
    /// Who may call `/service/v1/`.
    pub(crate) service_keys: crate::service_keys::ServiceKeys,
}

/// The services' core is read through: `state.db`, `state.providers`.
impl Deref for AppInner {
    type Target = Core;
    fn deref(&self) -> &Core {
        &self.core
    }
}

/// One workspace's list as last answered (see `AppInner::connections_cache`).
#[derive(Clone)]
pub(crate) struct CachedList {
    pub revision: i64,
    pub etag: HeaderValue,
    pub body: Bytes,
}

#[derive(Clone)]
pub struct AppState(pub(crate) Arc<AppInner>);

impl Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl FromRef<AppState> for Core {
    fn from_ref(state: &AppState) -> Core {
        state.core.clone()
    }
}
