//! `loadgen`: sends one JSON request at a fixed rate and prints the [`aihub_loadgen::Report`] as JSON.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

/// Open-loop load at a fixed rate; latencies from each request's due time.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version, about)]
struct Args {
    /// The URL every request is POSTed to.
    url: String,
    /// JSON body of every request.
    #[arg(long)]
    body: String,
    /// Bearer API key.
    #[arg(long, default_value = "")]
    key: String,
    /// Read answers as event streams (time to first token; end at `data: [DONE]`).
    #[arg(long)]
    stream: bool,
    /// Requests per second.
    #[arg(long)]
    rate: f64,
    /// Seconds to send for (the rate times this is the number of requests).
    #[arg(long, default_value_t = 10.0, conflicts_with = "requests")]
    seconds: f64,
    /// Requests to send in all (instead of --seconds).
    #[arg(long)]
    requests: Option<u64>,
    /// Most requests in flight; a request due beyond it is counted as not sent.
    #[arg(long, default_value_t = 4096)]
    max_in_flight: usize,
    /// Time limit of one request, in seconds.
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !(args.rate.is_finite() && args.rate > 0.0) {
        eprintln!("loadgen: --rate must be a positive number");
        return ExitCode::FAILURE;
    }
    if serde_json::from_str::<serde_json::Value>(&args.body).is_err() {
        eprintln!("loadgen: --body is not JSON");
        return ExitCode::FAILURE;
    }
    let plan = aihub_loadgen::Plan {
        url: args.url,
        api_key: args.key,
        body: args.body.into(),
        stream: args.stream,
        rate: args.rate,
        requests: args
            .requests
            .unwrap_or((args.rate * args.seconds).round() as u64),
        max_in_flight: args.max_in_flight,
        timeout: Duration::from_secs_f64(args.timeout.max(0.001)),
    };
    let report = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|runtime| runtime.block_on(aihub_loadgen::run(plan)));
    match report.and_then(|r| serde_json::to_string_pretty(&r).map_err(|e| e.to_string())) {
        Ok(json) => match writeln!(std::io::stdout(), "{json}") {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("loadgen: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}
