//! The one test kit: what the server's integration tests, the browser tests (`tests/e2e.rs`) and the
//! benchmarks (`bench/`) all need, once. Each suite keeps only what is its own (its assertions, its
//! database set-up, its pages).

pub mod browser;
pub mod flow;
pub mod server;
pub mod session;

pub use browser::Chrome;
pub use flow::{allow_at, allow_at_connect, random_b64url, start_attempt, Attempt};
pub use server::{demo_args, spawn, spawn_until, Running};
pub use session::{session_token, sign};

/// A port nobody listens on right now, for a process that must be told its port in advance.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
