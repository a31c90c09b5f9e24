use axum::extract::State;
use axum::Json;
use connections_wire::ConnectionList;

use crate::error::ApiError;
use crate::session::Admin;
use crate::AppState;

pub async fn list(State(state): State<AppState>, _admin: Admin) -> Result<Json<ConnectionList>, ApiError> {
    Ok(Json(ConnectionList { connections: state.db.list_connections().await? }))
}
