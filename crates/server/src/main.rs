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
    if args.command == Some(connections_server::config::Command::Reseal) {
        return reseal(&args).await;
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

/// `connections-server reseal`: every stored token moved to the newest key; says what it did.
async fn reseal(args: &Args) -> ExitCode {
    let keys = match connections_server::config::encryption_keys(args) {
        Ok(keys) => keys,
        Err(error) => {
            eprintln!("connections-server: {error}");
            return ExitCode::from(2);
        }
    };
    let db = match connections_server::storage::Db::connect(&connections_server::config::database_url(args)).await {
        Ok(db) => db,
        Err(error) => {
            eprintln!("connections-server: DATABASE_URL: {error}");
            return ExitCode::from(2);
        }
    };
    let cipher = connections_server::crypto::TokenCipher::new(&keys);
    match connections_server::services::reseal::reseal(&db, &cipher).await {
        Ok(done) => {
            println!(
                "reseal: {} tokens moved to the newest key, {} already on it, {} still changing under the last pass, {} undecryptable",
                done.moved,
                done.current,
                done.changed_meanwhile,
                done.undecryptable.len()
            );
            if done.complete() {
                println!("reseal: every stored token is sealed with the newest key; older keys can be removed from CONNECTIONS_ENCRYPTION_KEY");
                ExitCode::SUCCESS
            } else if !done.undecryptable.is_empty() {
                eprintln!(
                    "connections-server: reseal: no configured key decrypts these tokens, left as they are: {}. Keep the key that sealed them, or disconnect them",
                    done.undecryptable.join(", ")
                );
                ExitCode::FAILURE
            } else {
                eprintln!(
                    "connections-server: reseal: tokens kept changing while they were resealed (a server still seals with an older key first?). Give every server the newest key first, then run reseal again"
                );
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("connections-server: reseal: database: {error}");
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
        provider_standin::DEMO_EMAIL,
        provider_standin::DEMO_PASSWORD,
        demo.standin_url
    );
    if demo.app.state().providers.iter().count() > 1 {
        println!(
            "  Other sources in the gallery are served by the stand-in too; their demo accounts are listed in the README (password {}).\n",
            provider_standin::DEMO_PASSWORD
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
