#!/usr/bin/env bash
# Instructions per request of the gateway's non-stream chat path, counted by callgrind: a
# figure independent of machine load, for comparing two builds. See bench/instructions.py.
#   bench/instructions.sh                                   # this build
#   BENCH_GATEWAY_B=/path/to/old/aihub-server bench/instructions.sh
#   BENCH_TOP=40 bench/instructions.sh                      # and the costliest functions
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aihub/target}"
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
command -v oha >/dev/null || [ -x "$HOME/.cargo/bin/oha" ] || cargo install oha --version 1.16.0 --locked
export OHA="${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}"
cargo build --quiet --release --locked -p aihub-server -p mock-upstream
exec python3 bench/instructions.py
