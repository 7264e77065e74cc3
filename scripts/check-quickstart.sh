#!/usr/bin/env bash
# Follows docs/quickstart.md word for word: runs its commands in order and checks what they print.
# Usage: scripts/check-quickstart.sh [PYTHON]   (PYTHON: an interpreter with the openai package)
set -euo pipefail
cd "$(dirname "$0")/.."
python="${1:-python3}"
doc=docs/quickstart.md
work=$(mktemp -d)
# Step 1 runs in a session of its own, so that stopping it stops cargo and the gateway it started.
trap '[ -n "$server_pid" ] && { kill -- -"$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }; rm -rf "$work"' EXIT
server_pid=

# The fenced blocks of the page, in order: block-N.sh / block-N.python / block-N.text.
awk -v dir="$work" '
  /^```[a-z]+$/ { lang = substr($0, 4); n++; file = sprintf("%s/block-%02d.%s", dir, n, lang); next }
  /^```$/ { file = ""; next }
  file != "" { print > file }
' "$doc"
mapfile -t shell_blocks < <(ls "$work"/*.sh)
mapfile -t python_blocks < <(ls "$work"/*.python)
[ "${#shell_blocks[@]}" -ge 3 ] && [ "${#python_blocks[@]}" -ge 1 ] || { echo "quickstart: unexpected blocks"; exit 1; }

echo "quickstart step 1: $(head -n1 "${shell_blocks[0]}")"
# Step 1 runs in the background (it is the server); a fresh database keeps the run clean.
rm -f aihub-demo.db aihub-demo.db-* 
setsid bash "${shell_blocks[0]}" > "$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 1 900); do
  grep -q 'Demo API key (shown once): ' "$work/server.out" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.err"; echo "quickstart: the gateway exited"; exit 1; }
  sleep 1
done
key=$(sed -n 's/.*Demo API key (shown once): \(ai-hub-[A-Za-z0-9]*\).*/\1/p' "$work/server.out")
[ -n "$key" ] || { echo "quickstart: no key printed"; cat "$work/server.out"; exit 1; }

# Step 2, verbatim except that the placeholder becomes the printed key.
sed "s/ai-hub-…/$key/" "${shell_blocks[1]}" > "$work/step2.sh"
echo "quickstart step 2: curl a streamed completion"
bash "$work/step2.sh" > "$work/step2.out"
grep -q '^data: {' "$work/step2.out" || { cat "$work/step2.out"; echo "quickstart: no chunks"; exit 1; }
tail -n 3 "$work/step2.out" | grep -q '^data: \[DONE\]' || { echo "quickstart: no [DONE]"; exit 1; }

echo "quickstart step 3: the openai Python SDK"
AIHUB_KEY="$key" "$python" "${python_blocks[0]}" > "$work/step3.out"
[ -s "$work/step3.out" ] && [ "$(wc -w < "$work/step3.out")" -gt 1 ] || { echo "quickstart: the SDK printed nothing"; exit 1; }

echo "quickstart step 4: usage"
AIHUB_KEY="$key" bash "${shell_blocks[2]}" > "$work/step4.out"
grep -q '"requests":2' "$work/step4.out" || { cat "$work/step4.out"; echo "quickstart: usage does not show 2 requests"; exit 1; }
rm -f aihub-demo.db aihub-demo.db-*
echo "quickstart: every step works"
