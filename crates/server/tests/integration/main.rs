//! The server's integration tests, as one test binary: each binary links the whole server and its
//! dependencies, so eight of them cost CI eight times the link time and disk.
//! Run one group with a filter, e.g. `cargo test -p connections-server --test integration -- security::`.

mod support;

mod api;
mod binary;
mod connect_links;
mod data_access;
mod embedding;
mod faults;
mod fuzz;
mod hardening;
mod instances;
mod keys;
mod lifecycle;
mod load;
mod manifests;
mod migrations;
mod operating;
mod outgoing_webhooks;
mod providers;
mod renewals;
mod security;
mod service_api;
mod serving;
mod stripe_apps;
mod stripe_modes;
mod workspaces;
