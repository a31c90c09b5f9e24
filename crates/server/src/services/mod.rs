//! What the server does, apart from HTTP: routes call these, and these call storage and the
//! provider clients. Nothing here imports the routes.

pub mod connect;
pub mod data_access;
pub mod delivery;
pub mod lifecycle;
pub mod maintenance;
pub mod reseal;
pub mod tokens;
