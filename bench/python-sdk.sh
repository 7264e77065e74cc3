#!/usr/bin/env bash
# The Python SDK against the official openai package, in one run against one mock-upstream:
# a 5,000-chunk stream (sync and asyncio) and 2,000 small non-stream calls.
# Usage: bench/python-sdk.sh [chunks] [calls]      (results also in $CARGO_TARGET_DIR/python-sdk.json)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aihub/target}"
venv="$HOME/.cache/aihub/venv-bench"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'openai>=2,<4'
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./bindings/python
cargo build --quiet --release --locked -p mock-upstream

log=$(mktemp)
"$CARGO_TARGET_DIR/release/mock-upstream" --listen 127.0.0.1:0 --no-record > "$log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do grep -q 'listening on' "$log" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$log" | head -n1)
"$venv/bin/python" bench/python_sdk.py --base-url "$url/v1" --chunks "${1:-5000}" --calls "${2:-2000}" \
  --json "$CARGO_TARGET_DIR/python-sdk.json"
