"""Instructions the gateway executes per request, counted by valgrind's callgrind: a figure that
does not depend on what else the machine is doing, for comparing two builds of the hot path.
Run through bench/instructions.sh, which builds the release binaries first.

The gateway runs under callgrind with instrumentation off; after 200 warm-up requests collection is
switched on for BENCH_REQUESTS non-stream chat requests on the full path (the same request and
plan as bench/run.sh), then off again. Prints instructions per request for each build named
(BENCH_GATEWAY, and BENCH_GATEWAY_B for a second one) and, with BENCH_TOP, the functions that
cost the most inclusive instructions. The callgrind files stay under bench/results/callgrind/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gateway  # bench/gateway.py

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
TOP = int(os.environ.get("BENCH_TOP", "0"))
OUT = gateway.ROOT / "bench" / "results" / "callgrind"


def wrapper(name: str, binary: str) -> str:
    """A script that runs `binary` under callgrind, uninstrumented until switched on."""
    OUT.mkdir(parents=True, exist_ok=True)
    script = OUT / f"{name}.sh"
    script.write_text(
        "#!/bin/sh\n"
        f"exec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file={OUT}/{name}.out "
        f"{binary} \"$@\"\n"
    )
    script.chmod(0o755)
    return str(script)


def control(pid: int, *args: str) -> None:
    """callgrind_control on the gateway's valgrind process."""
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def total(path: Path) -> int:
    """Instructions in a callgrind output file (the largest of its `totals:` and `summary:`
    lines; the header's summary is written before anything was collected)."""
    counts = [int(line.split()[1]) for line in path.read_text(errors="replace").splitlines()
              if line.startswith(("totals:", "summary:"))]
    if not counts:
        raise RuntimeError(f"no totals in {path}")
    return max(counts)


def main() -> None:
    builds = gateway.default_gateways()
    bench = gateway.Bench(gateways={n: wrapper(n, b) for n, b in builds.items()}, with_litellm=False)
    results: Dict[str, Dict[str, float]] = {}
    try:
        bench.up(gateway.MOCK_CHAT)
        bench.warm()
        for t in bench.targets():
            if t.name == "direct":
                continue
            control(t.proc.pid, "-i", "on")
            subprocess.run([gateway.OHA, "--no-tui", "-n", str(REQUESTS), "-c", "4", "-m", "POST", "-H",
                            f"authorization: Bearer {t.key}", "-T", "application/json", "-d",
                            json.dumps(gateway.CHAT), t.url], check=True, capture_output=True)
            control(t.proc.pid, "-i", "off")
    finally:
        bench.stop()
    time.sleep(1)
    for name in builds:
        path = OUT / f"{name}.out"
        results[name] = {"instructions_per_request": total(path) / REQUESTS}
        print(f"{name}: {results[name]['instructions_per_request']:,.0f} instructions per request "
              f"({REQUESTS} requests; {path.relative_to(gateway.ROOT)})")
        if TOP:
            report = subprocess.run(["callgrind_annotate", "--inclusive=yes", str(path)], check=True,
                                    capture_output=True, text=True).stdout
            lines = [l for l in report.splitlines() if re.match(r"^\s*[0-9,]+ \(", l)]
            print("\n".join(lines[:TOP]))


if __name__ == "__main__":
    main()
