//! The configured data sources, and the extractor that finds one by the `{provider}` path segment.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::Json;
use connections_wire::ProviderList;

use super::Admin;
use crate::app::AppState;
use crate::error::ApiError;
use crate::providers::Provider;
use crate::services::Core;

pub(crate) async fn list(State(state): State<Core>, _admin: Admin) -> Result<Json<ProviderList>, ApiError> {
    let providers = state.providers.iter().map(|provider| provider.info(state.redirect_uris(provider.id()))).collect();
    Ok(Json(ProviderList { providers }))
}

/// A provider the server is configured with, found once from the path: handlers never compare ids.
pub(crate) struct KnownProvider(pub Arc<Provider>);

impl FromRequestParts<AppState> for KnownProvider {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state).await.map_err(|_| ApiError::UnknownProvider(String::new()))?;
        let id = params.get("provider").map(String::as_str).unwrap_or_default();
        state.providers.get(id).map(KnownProvider).ok_or_else(|| ApiError::UnknownProvider(id.chars().take(40).collect()))
    }
}
