#!/usr/bin/env bash
# Runs every check AI Hub has, on a fresh machine: it installs what it needs first.
# Usage: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Build outside the clone so that repeated runs (and CI) stay incremental.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aihub/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p "$CARGO_TARGET_DIR"

step() { printf '\n=== %s\n' "$*"; }

step "toolchain"
rustc --version
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed | grep -q '^clippy' || rustup component add clippy

step "services: PostgreSQL and Redis (the store and limit tests use them for real)"
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not running on 127.0.0.1:5432" >&2; exit 1; }
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server; }
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "advisories: cargo audit against the offline RustSec snapshot"
# The snapshot sits beside the clone (../shared/advisory-db); answered advisories are listed,
# each with its reason, in .cargo/audit.toml.
advisory_db="$(cd .. && pwd)/shared/advisory-db"
if [ ! -d "$advisory_db/crates" ]; then
  echo "No RustSec advisory database at $advisory_db: clone https://github.com/rustsec/advisory-db there (CI has one)." >&2
  exit 1
fi
if ! cargo audit --version >/dev/null 2>&1; then
  # About 9 minutes on 2 cores, once per machine.
  cargo install cargo-audit --version 0.22.2 --locked
fi
cargo audit --db "$advisory_db" --no-fetch

step "wasm32 build of aihub-core (no tokens, no native TLS)"
cargo build -p aihub-core --target wasm32-unknown-unknown --no-default-features --locked
if cargo tree -p aihub-core --target wasm32-unknown-unknown --no-default-features -e normal --prefix none \
    | grep -Eq '^(tokio|mio) '; then
  echo "tokio or mio reached the wasm32 build of aihub-core" >&2
  exit 1
fi

step "tests"
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$CARGO_TARGET_DIR/test-output.txt"
passed=$(grep -Eo 'test result: ok\. [0-9]+ passed' "$CARGO_TARGET_DIR/test-output.txt" | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$CARGO_TARGET_DIR/test-output.txt" | awk '{s+=$1} END {print s+0}')
echo "rust: ${passed} passed, ${failed} failed"

step "official OpenAI SDKs (Python and npm) against the gateway"
./scripts/e2e-sdks.sh

step "Python SDK (aihub): pip install ./bindings/python, pytest, examples, mypy --strict"
./scripts/test-python.sh

step "Node SDK (aihub): napi addon, npm run build, node --test, examples, tsc --strict"
./scripts/test-node.sh

step "WASM SDK (aihub-wasm): slim and tokens builds, node --test, headless Chromium"
./scripts/test-wasm.sh

step "docs/quickstart.md, word for word"
./scripts/check-quickstart.sh "$HOME/.cache/aihub/venv-e2e/bin/python"
