use std::process::ExitCode;

use clap::Parser;
use connections_server::{Application, Args, Config};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(error) = connections_server::observability::init_logging(&args.log_format) {
        eprintln!("connections-server: {error}");
        return ExitCode::from(2);
    }
    if args.demo {
        if let Some(reason) = connections_server::config::demo_refusal(&args) {
            eprintln!("connections-server: CONNECTIONS_DEMO refused: {reason}. The demo is for a machine of your own, never with production settings.");
            return ExitCode::from(2);
        }
    }
    let app = if args.demo { launch_demo(args).await } else { launch(args).await };
    let app = match app {
        Ok(app) => app,
        Err(message) => {
            eprintln!("connections-server: {message}");
            return ExitCode::from(2);
        }
    };
    tracing::info!(url = %app.public_url(), "Connections is ready");
    match app.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("connections-server: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn launch(args: Args) -> Result<Application, String> {
    let config = Config::try_from(args).map_err(|e| e.to_string())?;
    Application::build(config).await.map_err(|e| e.to_string())
}

#[cfg(feature = "demo")]
async fn launch_demo(args: Args) -> Result<Application, String> {
    let demo = connections_server::demo::launch(args).await.map_err(|e| e.to_string())?;
    tracing::info!(stand_in = %demo.standin_url, "demo: local Stripe stand-in running");
    println!(
        "\n  Connections demo: open {}connections\n  Sign in as the administrator, then at the Stripe stand-in use {} / {}\n  \
         Play the account owner (expire, revoke, disconnect the app) at {}/standin\n",
        demo.app.public_url(),
        stripe_standin::DEMO_EMAIL,
        stripe_standin::DEMO_PASSWORD,
        demo.standin_url
    );
    if demo.app.state().providers.iter().count() > 1 {
        println!(
            "  Other sources in the gallery are served by the stand-in too; their demo accounts are listed in the README (password {}).\n",
            stripe_standin::DEMO_PASSWORD
        );
    }
    if let Some(portal) = &demo.portal_url {
        println!("  The app embedded in an example admin portal (mount(), <connections-panel>, an iframe): {portal}\n");
    }
    Ok(demo.app)
}

#[cfg(not(feature = "demo"))]
async fn launch_demo(_args: Args) -> Result<Application, String> {
    Err("CONNECTIONS_DEMO: this build has no demo (built without the `demo` feature)".into())
}
