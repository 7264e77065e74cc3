#!/usr/bin/env bash
# What routing and the response cache add, and what a cache hit costs (bench/routing.py).
#   bench/routing.sh                          # 3 rounds at 500 and 1,000 req/s, about 6 minutes
#   BENCH_ROUNDS=1 BENCH_ROUTING_RATES=1000 bench/routing.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aihub/target}"
command -v oha >/dev/null || [ -x "$HOME/.cargo/bin/oha" ] || cargo install oha --version 1.16.0 --locked
export OHA="${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}"
cargo build --quiet --release --locked -p aihub-server -p mock-upstream -p aihub-loadgen
exec python3 bench/routing.py
