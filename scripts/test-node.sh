#!/usr/bin/env bash
# The Node.js SDK: installs bindings/node's dev tools from package-lock.json, builds the napi
# addon and the TypeScript (npm run build, as a user does), and runs its node:test suite
# against mock-upstream and a real gateway, plus examples/node and tsc --noEmit --strict.
# Usage: scripts/test-node.sh      (incremental: the cargo target directory is shared)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aihub/target}"

cargo build --quiet --locked -p aihub-server --features demo -p mock-upstream
cd bindings/node
# npm ci only when package-lock.json changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
mkdir -p ../../examples/node/node_modules
ln -sfn ../../../bindings/node ../../examples/node/node_modules/aihub
npx --no-install tsc -p ../../examples/node --noEmit --strict
node --test --test-concurrency=2 test/*.test.mjs
