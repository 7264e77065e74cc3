#!/usr/bin/env bash
# Runs the official OpenAI SDKs (Python and npm) against a real gateway in demo mode.
# Usage: scripts/e2e-sdks.sh      (installs what it needs under ~/.cache/aihub)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aihub/target}"
cache="$HOME/.cache/aihub"
venv="$cache/venv-e2e"
mkdir -p "$cache"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'openai>=2,<4' 'pytest>=8' 'httpx>=0.27'
(cd tests/e2e/node && npm ci --no-audit --no-fund --loglevel=error)

cargo build --quiet -p aihub-server --features demo
work=$(mktemp -d)
master="master-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
AIHUB_LISTEN=127.0.0.1:0 \
AIHUB_DATABASE_URL="sqlite://$work/e2e.db" \
AIHUB_MASTER_KEY="$master" \
AIHUB_MAX_BODY_BYTES=65536 \
AIHUB_UPSTREAM_TIMEOUT_SECS=2 \
AIHUB_UPSTREAM_MAX_RETRIES=0 \
AIHUB_LOG=warn \
  "$CARGO_TARGET_DIR/debug/aihub-server" serve --demo > "$work/server.out" 2> "$work/server.err" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  grep -q 'Demo API key' "$work/server.out" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.err"; exit 1; }
  sleep 0.2
done
url=$(grep -o 'listening on http://[0-9.:]*' "$work/server.out" | head -n1 | sed 's/listening on //')
key=$(sed -n 's/.*Demo API key (shown once): \(ai-hub-[A-Za-z0-9]*\).*/\1/p' "$work/server.out")
[ -n "$url" ] && [ -n "$key" ] || { cat "$work/server.out" "$work/server.err"; exit 1; }
export AIHUB_E2E_URL="$url" AIHUB_E2E_KEY="$key" AIHUB_E2E_MASTER="$master"

echo "--- openai (Python) against $url"
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests/e2e/python
echo "--- openai (npm) against $url"
(cd tests/e2e/node && node --test)
