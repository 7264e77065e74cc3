#!/usr/bin/env bash
# The Node.js SDK: installs bindings/node's dev tools from package-lock.json, builds the napi
# addon (debug; see below) and the TypeScript, and runs its node:test suite
# against mock-upstream and a real gateway, plus examples/node and tsc --noEmit --strict.
# Usage: scripts/test-node.sh      (incremental: the cargo target directory is shared)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aihub/target}"

cargo build --quiet --locked -p aihub-server --features demo -p mock-upstream
# Other builds sharing the target directory may overwrite target/debug/aihub-server (e.g.
# without the demo feature) while the suite runs: the suite uses its own copies.
export AIHUB_BIN_DIR="$HOME/.cache/aihub/bin-node"
mkdir -p "$AIHUB_BIN_DIR"
cp -f "$CARGO_TARGET_DIR/debug/aihub-server" "$CARGO_TARGET_DIR/debug/mock-upstream" "$AIHUB_BIN_DIR/"
cd bindings/node
# npm ci only when package-lock.json changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# A debug addon by default. Measured on 2 cores: cold, the debug addon builds in ~2m50s and
# the suite runs in ~32 s; the release addon (what `npm run build` ships) builds in ~5m and
# the suite runs in ~16 s (tiktoken's tables load faster). Debug is quicker end to end, and
# a warm debug rebuild takes seconds. AIHUB_NODE_RELEASE=1 tests the release build instead.
if [ "${AIHUB_NODE_RELEASE:-0}" = 1 ]; then
  npm run --silent build
else
  npm run --silent build:debug
fi
# test/docs.test.mjs also runs examples/node and `tsc --noEmit --strict` over them.
node --test --test-concurrency=2 test/*.test.mjs
