#!/usr/bin/env bash
# The WASM SDK (npm package aihub-wasm): builds the slim and token-counting wasm modules and
# the package (bindings/wasm, `npm run build`), then runs its node --test suite against real
# mock-upstream and `aihub-server serve --demo` processes, and its browser test in headless
# Chromium (Debian's /usr/bin/chromium through playwright-core; no browser download).
# Installs what it needs on a fresh machine. Usage: scripts/test-wasm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aihub/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n=== wasm: %s\n' "$*"; }

step "toolchain"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
# wasm-bindgen-cli must match the wasm-bindgen crate (=0.2.130) exactly.
if ! "$HOME/.cargo/bin/wasm-bindgen" --version 2>/dev/null | grep -q ' 0\.2\.130$'; then
  cargo install wasm-bindgen-cli --version 0.2.130
fi
export WASM_BINDGEN="$HOME/.cargo/bin/wasm-bindgen"
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq && apt-get install -y -qq chromium
fi
(cd bindings/wasm && npm ci --no-audit --no-fund --loglevel=error)

step "clippy (wasm32, both builds)"
cargo clippy --locked -p aihub-wasm --target wasm32-unknown-unknown -- -D warnings
cargo clippy --locked -p aihub-wasm --target wasm32-unknown-unknown --features tokens -- -D warnings

if cargo tree --locked -p aihub-wasm --target wasm32-unknown-unknown --features tokens -e normal --prefix none \
    | grep -Eq '^(tokio|mio) '; then
  echo "tokio or mio reached the wasm32 build of aihub-wasm" >&2
  exit 1
fi

step "gateway and mock-upstream binaries for the tests"
cargo build --locked -p aihub-server --features demo -p mock-upstream

step "npm run build"
(cd bindings/wasm && npm run build --silent)
for build in slim tokens; do
  wasm="bindings/wasm/dist/$build/aihub_wasm_bg.wasm"
  printf '%-7s %9d bytes, %9d gzip -9\n' "$build" "$(wc -c <"$wasm")" "$(gzip -9c "$wasm" | wc -c)"
done

step "node --test (Node $(node --version))"
(cd bindings/wasm && node --test test/node/)

step "browser (headless Chromium)"
(cd bindings/wasm && node --test test/browser/)
