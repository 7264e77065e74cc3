#!/usr/bin/env bash
# Token counting: aihub-core (tiktoken-rs, through `cargo bench`) against OpenAI's Python
# tiktoken package, on the same ~1 MB of text (this repository's docs/*.md, sorted, joined and
# repeated to 1 MB, as aihub-core/benches/core.rs builds it). Both count with
# encode_ordinary; the script also checks that both give the same number of tokens.
# Usage: bench/tokens.sh      (installs tiktoken into ~/.cache/aihub/venv-bench)
#
# tiktoken downloads its tables at run time, which this machine's closed network refuses: the
# cache is seeded with tiktoken-rs's copies of the same files, named as tiktoken names them
# (the sha1 of their download URL).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aihub/target}"
venv="$HOME/.cache/aihub/venv-bench"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'tiktoken>=0.8'

cache="$HOME/.cache/aihub/tiktoken"
mkdir -p "$cache"
assets=$(ls -d "$HOME"/.cargo/registry/src/*/tiktoken-rs-0.12*/assets | tail -n1)
for name in o200k_base cl100k_base; do
  url="https://openaipublic.blob.core.windows.net/encodings/$name.tiktoken"
  sha=$(printf '%s' "$url" | sha1sum | cut -d' ' -f1)
  cp -f "$assets/$name.tiktoken" "$cache/$sha"
done
export TIKTOKEN_CACHE_DIR="$cache"

echo "== Python tiktoken $("$venv/bin/python" -c 'import tiktoken; print(tiktoken.__version__)') (best of 5, one thread)"
"$venv/bin/python" - <<'PY'
import pathlib, time, tiktoken
docs = sorted(pathlib.Path("docs").glob("*.md"))
one = "".join(p.read_text() for p in docs)
text = ""
while len(text.encode()) < 1_000_000 and one:
    text += one
size = len(text.encode())
for name in ["o200k_base", "cl100k_base"]:
    enc = tiktoken.get_encoding(name)
    enc.encode_ordinary("warm up")
    best = min(_timed for _timed in [(lambda t0: (enc.encode_ordinary(text), time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(5)])
    n = len(enc.encode_ordinary(text))
    print(f"{name}: {size} bytes, {n} tokens, {best*1000:.1f} ms, {size/best/1e6:.2f} MB/s")
PY

echo "== aihub-core (tiktoken-rs 0.12), cargo bench"
cargo bench --quiet -p aihub-core --bench core -- count_tokens 2>&1 | grep -E '^count_tokens|tokens in|time:|thrpt:'
