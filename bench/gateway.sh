#!/usr/bin/env bash
# The gateway against calling mock-upstream directly, in one run on one machine: added latency
# at fixed request rates (non-stream chat on the full path), achieved throughput, errors, RSS,
# start-up time and idle RSS. See bench/gateway.py and docs/benchmarks.md.
# Usage: bench/gateway.sh      (BENCH_RATES=250,500,1000,2000 BENCH_SECONDS=10 by default)
# Installs oha (a load generator with coordinated-omission correction) with cargo when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aihub/target}"
command -v oha >/dev/null || [ -x "$HOME/.cargo/bin/oha" ] || cargo install oha --locked
export OHA="${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}"
cargo build --quiet --release --locked -p aihub-server -p mock-upstream
exec python3 bench/gateway.py
