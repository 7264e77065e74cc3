#!/usr/bin/env bash
# Fairness under huge prompts: one tenant's small-chat latency alone and while another tenant
# sends 4 MiB prompts in 8 loops, through bench/fairness.py. See docs/benchmarks.md.
#   bench/fairness.sh                                          # this build, about 2 minutes
#   BENCH_GATEWAY_B=/path/to/old/aihub-server bench/fairness.sh  # and another build, about 4 minutes
# Builds the release binaries of aihub-server, mock-upstream and loadgen first.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aihub/target}"
cargo build --quiet --release --locked -p aihub-server -p mock-upstream -p aihub-loadgen
exec python3 bench/fairness.py
