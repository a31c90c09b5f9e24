use axum::extract::State;
use axum::Json;
use connections_wire::{ProviderInfo, ProviderList};

use crate::error::ApiError;
use crate::session::Admin;
use crate::AppState;

pub const STRIPE: &str = "stripe";

/// What Stripe data the product syncs once connected.
pub const STRIPE_DATA_SYNCED: [&str; 7] = ["Customers", "Charges", "Coupons", "Invoices", "Plans", "Subscriptions", "Events"];

pub fn stripe_provider(state: &AppState) -> ProviderInfo {
    let stripe = state.stripe.config();
    let access_summary = match stripe.scope.as_str() {
        "read_write" => "Read and write access to your Stripe account's data. Stripe will ask you to approve this.",
        _ => "Read-only access to your Stripe account's data. Nothing in your Stripe account can be changed, and no money can be moved.",
    };
    ProviderInfo {
        id: STRIPE.into(),
        name: "Stripe".into(),
        logo_path: "/public/stripe.svg".into(),
        scope: stripe.scope.clone(),
        access_summary: access_summary.into(),
        data_synced: STRIPE_DATA_SYNCED.iter().map(|s| s.to_string()).collect(),
        authorize_url: stripe.authorize_url.to_string(),
        client_id: stripe.client_id.clone(),
        redirect_uri: state.redirect_uri(STRIPE),
        redirect_uris: state.redirect_uris(STRIPE),
    }
}

pub async fn list(State(state): State<AppState>, _admin: Admin) -> Result<Json<ProviderList>, ApiError> {
    Ok(Json(ProviderList { providers: vec![stripe_provider(&state)] }))
}

/// Only configured providers exist; anything else in a path is refused.
pub fn ensure_known(provider: &str) -> Result<(), ApiError> {
    if provider == STRIPE {
        Ok(())
    } else {
        let shown: String = provider.chars().take(40).collect();
        Err(ApiError::UnknownProvider(shown))
    }
}
