#!/usr/bin/env bash
# The Python SDK: installs bindings/python with pip (a release build through maturin) into its
# own virtualenv and runs its pytest suite against mock-upstream and a real gateway, plus
# examples/python and mypy --strict.
# Usage: scripts/test-python.sh      (installs what it needs under ~/.cache/aihub)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aihub/target}"
venv="$HOME/.cache/aihub/venv-python"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'pytest>=8' 'mypy>=1.10'
cargo build --quiet --locked -p aihub-server --features demo -p mock-upstream
# What a user types; the build shares the cargo target directory, so it is incremental.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./bindings/python
(cd bindings/python && "$venv/bin/python" -m pytest -q -p no:cacheprovider tests)
