"""What routing and the response cache add to a request, and what a cache hit costs: AI Hub's
gateway in four configurations against calling mock-upstream directly, in one run. Run through
bench/routing.sh (it builds the release binaries and installs oha first); docs/benchmarks.md
reports the figures.

Configurations, each on the full governance path (key auth, plan limits, budget, usage record)
with the same non-stream chat at every rate:
  catalog    `openai/gpt-4o-mini`, a catalog model served alone (no routing configuration);
  routed     a group of three weighted deployments, each with its own rpm and tpm (far above
             the load: counted, never reached), so that every request is ordered, checked
             against its deployment's limits and settled on it;
  cache-miss the catalog model with the response cache on and `x-aihub-cache: no-store`, with a
             prompt the warm-up did not send: every request is looked up, misses, and is not
             stored;
  cache-hit  the catalog model with the response cache on: every request after the first is a
             hit (no upstream call, a usage record at zero cost).

Each round runs every configuration at every rate (BENCH_ROUTING_RATES, default 500,1000);
BENCH_ROUNDS rounds (default 3) alternate them, so that a drift of the machine shows in all.
"Added" is the gateway's latency minus calling mock-upstream directly in the same run. Writes
bench/results/routing-<start time>.{md,json}.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_LITELLM", "0")

import gateway as g  # noqa: E402  (bench/gateway.py, after the path is set)

RATES = [int(r) for r in os.environ.get("BENCH_ROUTING_RATES", "500,1000").split(",")]
ROUNDS = max(1, int(os.environ.get("BENCH_ROUNDS", "3")))

ROUTED = """
[routing.groups.bench]
strategy = "weighted"
deployments = [
  { id = "bench-1", provider = "openai", model = "gpt-4o-mini", weight = 3, rpm = 100000000, tpm = 100000000000 },
  { id = "bench-2", provider = "openai", model = "gpt-4o-mini", weight = 2, rpm = 100000000, tpm = 100000000000 },
  { id = "bench-3", provider = "openai", model = "gpt-4o-mini", weight = 1, rpm = 100000000, tpm = 100000000000 },
]
"""
CACHE = """
[cache]
enabled = true
"""

# A prompt of the same length as the warm-up's, which the warm-up (without `no-store`) did not
# store: with `no-store`, nothing ever stores it, so every lookup misses.
UNSEEN = [{"role": "user", "content": "Say goodbye in five words."}]

# name: (configuration, model, messages, extra headers)
CONFIGS: Dict[str, Any] = {
    "catalog": ("", g.MODEL, g.MESSAGES, []),
    "routed": (ROUTED, "bench", g.MESSAGES, []),
    "cache-miss": (CACHE, g.MODEL, UNSEEN, ["x-aihub-cache: no-store"]),
    "cache-hit": (CACHE, g.MODEL, g.MESSAGES, []),
}


def main() -> None:
    results: Dict[str, Any] = {
        "date": datetime.date.today().isoformat(),
        "started": datetime.datetime.now().strftime("%Y-%m-%dT%H%M"),
        "machine": {"cores": os.cpu_count(), "cpu": g.cpu_model(), "kernel": g.platform.release(), "memory_gib": g.mem_gib()},
        "seconds_per_run": g.SECONDS,
        "rounds": ROUNDS,
        "runs": [],
    }
    for round_ in range(1, ROUNDS + 1):
        for name, (config, model, messages, headers) in CONFIGS.items():
            bench = g.Bench(config=config, with_litellm=False)
            try:
                bench.up(g.MOCK_CHAT)
                bench.warm()
                body = {**g.CHAT, "model": model, "messages": messages}
                for rate in RATES:
                    direct = g.oha(bench.mock, rate)
                    gateway = g.oha(bench.aihub, rate, body, headers)
                    results["runs"].append({"config": name, "rate": rate, "round": round_, "direct": direct, "aihub": gateway})
                    if name.startswith("cache"):
                        # What the gateway answered: the cache's own header on one request.
                        results["runs"][-1]["x-aihub-cache"] = cache_status(bench, body, headers)
                    print(f"round {round_}: {name} at {rate}/s done", file=sys.stderr)
            finally:
                bench.stop()
    out = g.ROOT / "bench" / "results" / f"routing-{results['started']}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    report = markdown(results)
    out.with_suffix(".md").write_text(report)
    print(report)
    print(f"raw numbers: {out.relative_to(g.ROOT)}; tables: {out.with_suffix('.md').relative_to(g.ROOT)}")


def cache_status(bench: "g.Bench", body: Dict[str, Any], headers: List[str]) -> str:
    """The `x-aihub-cache` header of one more request like the measured ones."""
    target = bench.aihub
    req = g.urllib.request.Request(target.url, method="POST", data=json.dumps(body).encode())
    req.add_header("content-type", "application/json")
    req.add_header("authorization", f"Bearer {target.key}")
    for header in headers:
        name, value = header.split(":", 1)
        req.add_header(name, value.strip())
    with g.urllib.request.urlopen(req, timeout=10) as r:
        return r.headers.get("x-aihub-cache", "")


def markdown(r: Dict[str, Any]) -> str:
    """One table: added p50 and p99 and CPU per request, per configuration and rate, over the rounds."""
    lines: List[str] = [
        f"Machine: {r['machine']['cores']} cores, {r['machine']['cpu']}, {r['machine']['memory_gib']:.0f} GiB, Linux {r['machine']['kernel']}.",
        f"{r['seconds_per_run']} s per run, {r['rounds']} rounds. \"Added\" is the gateway's latency minus calling mock-upstream directly in the same run; each cell lists the rounds.",
        "",
        "| configuration | offered req/s | added p50 ms | added p99 ms | gateway CPU per request µs | errors | x-aihub-cache |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in CONFIGS:
        for rate in RATES:
            runs = [x for x in r["runs"] if x["config"] == name and x["rate"] == rate]
            p50 = ", ".join(f"{x['aihub']['p50_ms'] - x['direct']['p50_ms']:.2f}" for x in runs)
            p99 = ", ".join(f"{x['aihub']['p99_ms'] - x['direct']['p99_ms']:.2f}" for x in runs)
            cpu = ", ".join(f"{x['aihub']['cpu_us_per_request']:.0f}" for x in runs)
            errors = sum(x["aihub"]["errors"] for x in runs)
            cache = ", ".join(sorted({x.get("x-aihub-cache", "") for x in runs} - {""})) or "—"
            lines.append(f"| {name} | {rate} | {p50} | {p99} | {cpu} | {errors} | {cache} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
