//! The real server in demo mode, in-process, with the stand-in in place of every provider.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::Parser;
use connections_server::demo::DemoApp;
use connections_server::{AppState, Args};
use provider_standin::Standin;

/// The settings every suite starts from: demo mode on a free port, `database_url`, the files of
/// `static_dir`, a shared session secret and a fixed encryption key; then `extra` flags.
pub fn demo_args(database_url: &str, static_dir: &Path, session_secret: &str, encryption_key: [u8; 32], extra: &[String]) -> Args {
    let mut argv = vec![
        "connections-server".to_owned(),
        "--demo".to_owned(),
        "--addr=127.0.0.1:0".to_owned(),
        format!("--database-url={database_url}"),
        format!("--static-dir={}", static_dir.display()),
        format!("--session-secret={session_secret}"),
        format!("--encryption-key={}", STANDARD.encode(encryption_key)),
    ];
    argv.extend(extra.iter().cloned());
    Args::try_parse_from(argv).unwrap()
}

/// A server started by [`spawn`], serving in a task of the current runtime.
pub struct Running {
    /// `http://` and the address it listens on.
    pub url: String,
    /// The address it believes it is reached at (return addresses are built from it).
    pub public_url: String,
    pub state: AppState,
    pub standin: Standin,
    pub standin_url: String,
    /// The demo's example admin portal, when its pages are there.
    pub portal_url: Option<String>,
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts the server with `args`, and a new stand-in unless `running` names one already up (a
/// restarted server or a second instance keeps talking to the same "Stripe").
pub async fn spawn(args: Args, running: Option<(Standin, String)>) -> Running {
    spawn_until(args, running, connections_server::shutdown::signal()).await
}

/// Like [`spawn`], but the server shuts down (as on SIGTERM) when `shutdown` resolves; `server` then
/// ends once what was in flight is finished.
pub async fn spawn_until(args: Args, running: Option<(Standin, String)>, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> Running {
    let DemoApp { app, standin, standin_url, portal_url } = connections_server::demo::launch_with(args, running).await.expect("app starts");
    let url = format!("http://{}", app.local_addr().unwrap());
    let public_url = app.public_url().to_string().trim_end_matches('/').to_owned();
    let state = app.state();
    let server = tokio::spawn(app.run_until(shutdown));
    Running { url, public_url, state, standin, standin_url, portal_url, server }
}
