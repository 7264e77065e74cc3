#!/usr/bin/env bash
# The benchmark run: AI Hub's gateway against calling mock-upstream directly and against
# LiteLLM's proxy, on this machine, in one run. See docs/benchmarks.md.
#   bench/run.sh                 # everything, about 10 minutes
#   BENCH_LITELLM=0 bench/run.sh # without LiteLLM
# Installs what is missing: oha (cargo install), LiteLLM (pip, in its own virtualenv under
# ~/.cache/aihub), and builds the release binaries of aihub-server, mock-upstream and loadgen.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aihub/target}"
command -v oha >/dev/null || [ -x "$HOME/.cargo/bin/oha" ] || cargo install oha --version 1.16.0 --locked
export OHA="${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}"
cargo build --quiet --release --locked -p aihub-server -p mock-upstream -p aihub-loadgen
if [ "${BENCH_LITELLM:-1}" != 0 ]; then
  python3 -c 'import sys; sys.path.insert(0, "bench"); import litellm_proxy; litellm_proxy.ensure_installed()'
fi
exec python3 bench/gateway.py
