//! `aihub-server`: run the gateway, or bootstrap users and keys from the command line.

use std::io::Write as _;
use std::path::PathBuf;

use aihub_server::accounts::{Credentials, KeyOwner, NewKey, create_user, issue_key};
use aihub_server::config::Config;
use aihub_server::{AppState, serve};
use clap::{Parser, Subcommand};

/// AI Hub gateway.
#[derive(Debug, Parser)]
#[command(
    name = "aihub-server",
    version,
    about = "AI Hub: one OpenAI-compatible gateway for every model provider"
)]
struct Cli {
    /// Configuration file (TOML); also AIHUB_CONFIG.
    #[arg(long, global = true, env = "AIHUB_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        /// Also run the built-in provider simulator, a demo user and key (needs the `demo` feature).
        #[arg(long)]
        demo: bool,
    },
    /// Manage users.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Create a user.
    Create {
        /// E-mail address.
        #[arg(long)]
        email: String,
        /// Password (at least 8 characters).
        #[arg(long)]
        password: String,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create an API key for a user and print it (it is shown only once).
    Create {
        /// The user's e-mail address.
        #[arg(long)]
        email: String,
        /// A label for the key.
        #[arg(long)]
        name: String,
        /// Expiry: RFC 3339 time or YYYY-MM-DD.
        #[arg(long)]
        expires_at: Option<String>,
    },
}

fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
}

fn fail(message: &str) -> std::process::ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {message}");
    std::process::ExitCode::FAILURE
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AIHUB_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let env = |name: &str| std::env::var(name).ok();
    match cli.command {
        Command::Serve { demo } => run_serve(cli.config, demo, &env).await,
        Command::Users {
            command: UsersCommand::Create { email, password },
        } => {
            with_state(cli.config, &env, |state| async move {
                let user = create_user(&state, &Credentials { email, password })
                    .await
                    .map_err(|e| e.0.message().to_owned())?;
                out(&format!("created user {} ({})", user.email, user.id));
                Ok(())
            })
            .await
        }
        Command::Keys {
            command:
                KeysCommand::Create {
                    email,
                    name,
                    expires_at,
                },
        } => {
            with_state(cli.config, &env, |state| async move {
                let (user, _) = state
                    .store
                    .user_by_email(&email.trim().to_lowercase())
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("no user with e-mail {email}"))?;
                let req = NewKey {
                    name,
                    expires_at: expires_at.map(serde_json::Value::String),
                    ..NewKey::default()
                };
                let (_, secret) = issue_key(&state, KeyOwner::of_user(&user, &req), &req)
                    .await
                    .map_err(|e| e.0.message().to_owned())?;
                out(&secret);
                Ok(())
            })
            .await
        }
    }
}

async fn with_state<F, Fut>(
    config: Option<PathBuf>,
    env: &dyn Fn(&str) -> Option<String>,
    f: F,
) -> std::process::ExitCode
where
    F: FnOnce(AppState) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let config = match Config::load(config.as_deref(), env) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    let (state, background) = match AppState::start(config, None).await {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let result = f(state).await;
    background.drain().await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

async fn run_serve(
    config_path: Option<PathBuf>,
    demo: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> std::process::ExitCode {
    let config = match Config::load(config_path.as_deref(), env) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    #[cfg(feature = "demo")]
    let mut config = config;
    #[cfg(feature = "demo")]
    let demo_setup = if demo {
        match aihub_server::demo::prepare(&mut config, env).await {
            Ok(d) => Some(d),
            Err(e) => return fail(&e),
        }
    } else {
        None
    };
    #[cfg(not(feature = "demo"))]
    if demo {
        return fail(
            "this build has no provider simulator: run `cargo run -p aihub-server --features demo -- serve --demo`",
        );
    }
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(l) => l,
        Err(e) => return fail(&format!("cannot listen on {}: {e}", config.listen)),
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let no_providers = config.providers.is_empty();
    let database = redact_url(&config.database_url);
    let (state, background) = match AppState::start(config, None).await {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    out(&format!(
        "AI Hub gateway listening on http://{addr}  (database: {database})"
    ));
    #[cfg(feature = "demo")]
    if let Some(d) = &demo_setup {
        match d.finish(&state, &addr).await {
            Ok(text) => out(&text),
            Err(e) => return fail(&e),
        }
    }
    if no_providers {
        out(
            "\nNo providers are configured yet. Add one in a config file and restart:\n\n  \
             [providers.openai]\n  api_key_env = \"OPENAI_API_KEY\"\n\n  \
             aihub-server serve --config aihub.toml      (see docs/configuration.md)\n",
        );
    }
    if !demo {
        out(&format!(
            "Get a key:\n  curl -s http://{addr}/api/v1/auth/register -H 'content-type: application/json' -d '{{\"email\":\"you@example.com\",\"password\":\"a long password\"}}'\n  \
             curl -s http://{addr}/api/v1/auth/login -H 'content-type: application/json' -d '{{\"email\":\"you@example.com\",\"password\":\"a long password\"}}'\n  \
             curl -s http://{addr}/api/v1/auth/api-keys -H 'authorization: Bearer <token from login>' -H 'content-type: application/json' -d '{{\"name\":\"laptop\"}}'\n\
             or from the command line:\n  aihub-server users create --email you@example.com --password '…'\n  aihub-server keys create --email you@example.com --name laptop"
        ));
    }
    let served = serve(listener, state, shutdown_signal()).await;
    background.drain().await;
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => fail(&e.to_string()),
    }
}

/// The URL with any password replaced, for printing.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing open requests");
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_print() {
        assert_eq!(
            redact_url("postgres://aihub:s3cret@db:5432/aihub"),
            "postgres://aihub:***@db:5432/aihub"
        );
        assert_eq!(
            redact_url("postgres://root@127.0.0.1/test"),
            "postgres://root@127.0.0.1/test"
        );
        assert_eq!(redact_url("sqlite://aihub.db"), "sqlite://aihub.db");
    }
}
