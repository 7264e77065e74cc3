//! `mock-upstream --listen 127.0.0.1:PORT`: the provider simulator as a standalone server.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use mock_upstream::MockConfig;

/// Simulates the OpenAI, Azure OpenAI, Anthropic and Gemini HTTP APIs.
#[derive(Debug, Parser)]
#[command(name = "mock-upstream", version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Do not record requests (for benchmarks).
    #[arg(long)]
    no_record: bool,
    /// Accept requests that carry no API key.
    #[arg(long)]
    no_require_key: bool,
    /// Tokio worker threads (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// Knobs applied to every request before its own `x-mock` header and model suffix
    /// (for benchmarks: `--scenario chunks=50`).
    #[arg(long, default_value = "")]
    scenario: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(workers) = args.workers {
        builder.worker_threads(workers.max(1));
    }
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("mock-upstream: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mock-upstream: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    mock_upstream::warm_up().await;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "mock-upstream listening on http://{addr}")?;
    stdout.flush()?;
    let config = MockConfig {
        record: !args.no_record,
        require_key: !args.no_require_key,
        scenario: args.scenario,
    };
    let mut probe = mock_upstream::Scenario::default();
    if let Err(error) = probe.apply(&config.scenario) {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, error));
    }
    mock_upstream::serve_until(listener, config, shutdown_signal()).await
}

/// Completes on ctrl-c or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
