#!/usr/bin/env bash
# Throughput of tests/mock-upstream, the upstream every gateway benchmark stands on.
# Usage: bench/mock-upstream.sh [SECONDS]   (needs wrk: apt-get install -y wrk)
# One simulator worker thread; wrk with 2 threads and 64 keep-alive connections on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aihub/target}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --quiet --release -p mock-upstream
bin="$CARGO_TARGET_DIR/release/mock-upstream"
work=$(mktemp -d)
"$bin" --listen 127.0.0.1:0 --no-record --workers 1 > "$work/out" 2>/dev/null &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do grep -q listening "$work/out" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$work/out" | head -n1)

run() { # name body-json
  cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$2'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
LUA
  local rps
  rps=$(wrk -t2 -c64 -d"${secs}s" -s "$work/post.lua" "$url/v1/chat/completions" | awk '/Requests\/sec/ {print $2}')
  printf '| %s | %s |\n' "$1" "$rps"
}
echo "| scenario (1 worker thread, wrk -t2 -c64, ${secs}s) | requests/s |"
echo "|---|---|"
run "OpenAI chat, non-stream" '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}'
run "OpenAI chat, stream of 8 chunks" '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hello"}]}'
