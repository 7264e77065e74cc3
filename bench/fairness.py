"""Fairness under huge prompts: does one tenant sending 4 MiB prompts slow down the others?

Run through bench/fairness.sh, which builds the release binaries first (docs/benchmarks.md
says the same). On one gateway, started as bench/gateway.py starts it (mock-upstream, SQLite,
the benchmark plan, with `max_body_bytes` raised so that a 4 MiB prompt fits), two tenants,
each a user with an API key:

  - tenant A sends small non-stream chats at a fixed rate with bench/loadgen (latency from each
    request's due time), for BENCH_SECONDS;
  - tenant B runs BENCH_FAIR_LOOPS client loops, each sending a chat whose one message is a
    BENCH_FAIR_PROMPT_MIB MiB prompt, the next as soon as the last is answered.

Tenant A runs alone, then again while tenant B's loops run, per gateway build and round
(BENCH_GATEWAY, then BENCH_GATEWAY_B when set, BENCH_ROUNDS times). The report gives tenant A's
p50, p99 and p99.9 in both runs and their ratio, tenant B's request rate, and the gateway's CPU
(split into tokio's async workers and its blocking pool, where this build counts large prompts).

Writes markdown to stdout and bench/results/fairness-<start time>.md, the raw numbers to
bench/results/fairness-<start time>.json. BENCH_SECONDS (20), BENCH_FAIR_RATE (200),
BENCH_FAIR_LOOPS (8), BENCH_FAIR_PROMPT_MIB (4) and BENCH_ROUNDS (2) change the run.
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gateway as gw  # bench/gateway.py: how the gateway and mock-upstream are started

SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
RATE = int(os.environ.get("BENCH_FAIR_RATE", "200"))
LOOPS = int(os.environ.get("BENCH_FAIR_LOOPS", "8"))
PROMPT_MIB = float(os.environ.get("BENCH_FAIR_PROMPT_MIB", "4"))
ROUNDS = max(1, int(os.environ.get("BENCH_ROUNDS", "2")))
# Room for the prompt and its JSON around it.
CONFIG = "max_body_bytes = 16777216"
# Seconds after which tenant B's loops stop whatever happens, and each of its requests' limit.
B_DEADLINE_S = SECONDS + 60
B_TIMEOUT_S = 60
TENANT_B = "tenant-b@example.com"


def prompt(size: int) -> str:
    """`size` bytes of English prose: this repository's docs/*.md, sorted, joined and repeated
    (the text bench/tokens.sh counts)."""
    one = "".join(p.read_text() for p in sorted((gw.ROOT / "docs").glob("*.md")))
    text = one * (size // max(len(one.encode()), 1) + 1)
    return text.encode()[:size].decode(errors="ignore")


def threads(pid: int) -> Dict[int, Tuple[str, float]]:
    """Each thread of the process: its name and its CPU seconds so far."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            out[int(task.name)] = (name, (int(fields[11]) + int(fields[12])) / gw.CLK_TCK)
        except (OSError, IndexError, ValueError):
            continue
    return out


class Loops:
    """Tenant B: `LOOPS` threads, each sending the huge-prompt chat back to back over one
    keep-alive connection until told to stop (or B_DEADLINE_S has passed)."""

    def __init__(self, url: str, key: str, body: bytes) -> None:
        self.url, self.body = urllib.parse.urlsplit(url), body
        self.headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.statuses: Dict[str, int] = {}
        self.latencies: List[float] = []
        self.workers = [threading.Thread(target=self.loop, daemon=True) for _ in range(LOOPS)]

    def loop(self) -> None:
        deadline = time.monotonic() + B_DEADLINE_S
        conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=B_TIMEOUT_S)
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            t0 = time.monotonic()
            try:
                conn.request("POST", self.url.path, body=self.body, headers=self.headers)
                response = conn.getresponse()
                response.read()
                outcome = str(response.status)
            except (OSError, http.client.HTTPException) as e:
                outcome = type(e).__name__
                conn.close()
                conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=B_TIMEOUT_S)
            with self.lock:
                self.statuses[outcome] = self.statuses.get(outcome, 0) + 1
                if outcome.startswith("2"):
                    self.latencies.append(time.monotonic() - t0)
        conn.close()

    def start(self) -> None:
        """Starts every loop."""
        self.t0 = time.monotonic()
        for w in self.workers:
            w.start()

    def stop(self) -> Dict[str, Any]:
        """Stops the loops after their request in flight; what they did."""
        self.stop_event.set()
        for w in self.workers:
            w.join()
        wall = time.monotonic() - self.t0
        ok = sum(n for s, n in self.statuses.items() if s.startswith("2"))
        lat = sorted(self.latencies)
        return {"loops": LOOPS, "prompt_bytes": len(self.body), "seconds": wall, "ok": ok, "statuses": dict(self.statuses),
                "rps": ok / wall, "latency_p50_ms": lat[len(lat) // 2] * 1000 if lat else None}


def is_tokio(name: str) -> bool:
    """tokio names its async workers and its blocking pool's threads alike."""
    return name.startswith("tokio-r")


def tenant_a(target: gw.Target) -> Dict[str, Any]:
    """Tenant A's run at RATE for SECONDS: loadgen's report, the gateway's CPU over it (split into
    tokio's async workers and everything else), mock-upstream's and the clients' CPU."""
    loadavg = os.getloadavg()
    before = threads(target.proc.pid)
    gw_cpu0 = gw.cpu_s(target.proc.pid)
    own0 = resource.getrusage(resource.RUSAGE_SELF)
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    report = gw.loadgen(target, RATE, RATE * SECONDS, 30, body=gw.CHAT, stream=False)
    wall = time.perf_counter() - t0
    after = threads(target.proc.pid)
    own1 = resource.getrusage(resource.RUSAGE_SELF)
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The async workers (one per core, tokio's default) are started first and never end, so they
    # are the tokio threads with the lowest ids; the rest of tokio's threads are its blocking pool.
    workers = sorted(tid for tid, (name, _) in after.items() if is_tokio(name))[: os.cpu_count() or 1]
    by_kind: Dict[str, float] = {}
    for tid, (name, cpu) in after.items():
        kind = "async workers" if tid in workers else "blocking pool" if is_tokio(name) else name
        by_kind[kind] = by_kind.get(kind, 0.0) + cpu - before.get(tid, (name, 0.0))[1]
    # Threads that ended during the run took their CPU with them; the process total keeps it.
    # Only blocking-pool threads end (after 10 s idle).
    gw_total = gw.cpu_s(target.proc.pid) - gw_cpu0
    by_kind["blocking pool"] = by_kind.get("blocking pool", 0.0) + gw_total - sum(by_kind.values())
    report["gateway_cpu_cores"] = gw_total / wall
    report["gateway_cpu_by_thread_cores"] = {n: c / wall for n, c in sorted(by_kind.items())}
    report["loadavg_before"] = loadavg
    report["wall_s"] = wall
    report["client_cpu_cores"] = {
        "loadgen": (kids1.ru_utime + kids1.ru_stime - kids0.ru_utime - kids0.ru_stime) / wall,
        "tenant_b_python": (own1.ru_utime + own1.ru_stime - own0.ru_utime - own0.ru_stime) / wall,
    }
    return report


def measure(bench: gw.Bench, name: str, big: bytes, keys_b: Dict[str, str]) -> Dict[str, Any]:
    """Tenant A alone, then with tenant B's loops, on gateway `name`."""
    target = bench.gateways[name]
    assert bench.mock
    mock0 = gw.cpu_s(bench.mock.proc.pid)
    t0 = time.perf_counter()
    alone = tenant_a(target)
    alone["mock_cpu_cores"] = (gw.cpu_s(bench.mock.proc.pid) - mock0) / (time.perf_counter() - t0)
    print(f"{name}: tenant A alone p99 {alone['latency_ms']['p99']:.2f} ms", file=sys.stderr)
    loops = Loops(target.url, keys_b[name], big)
    loops.start()
    time.sleep(2)  # every loop has a request in flight
    mock0, t0 = gw.cpu_s(bench.mock.proc.pid), time.perf_counter()
    try:
        loaded = tenant_a(target)
    finally:
        b = loops.stop()
    loaded["mock_cpu_cores"] = (gw.cpu_s(bench.mock.proc.pid) - mock0) / (time.perf_counter() - t0)
    print(f"{name}: tenant A with B p99 {loaded['latency_ms']['p99']:.2f} ms; B {b['rps']:.2f} req/s {b['statuses']}", file=sys.stderr)
    # Tenant B's CPU per request, on each kind of thread: the increase over tenant A alone.
    per_b = {kind: (cores - alone["gateway_cpu_by_thread_cores"].get(kind, 0.0)) / max(b["rps"], 1e-9) * 1000
             for kind, cores in loaded["gateway_cpu_by_thread_cores"].items()}
    return {"gateway": name, "alone": alone, "with_b": loaded, "tenant_b": b, "tenant_b_cpu_ms_per_request": per_b,
            "p99_ratio": loaded["latency_ms"]["p99"] / alone["latency_ms"]["p99"]}


def main() -> None:
    gateways = gw.default_gateways()
    bench = gw.Bench(gateways, config=CONFIG, with_litellm=False)
    big = json.dumps({"model": gw.MODEL, "messages": [{"role": "user", "content": prompt(int(PROMPT_MIB * 1024 * 1024))}],
                      "max_tokens": 32}).encode()
    results: Dict[str, Any] = {
        "started": datetime.datetime.now().strftime("%Y-%m-%dT%H%M"),
        "machine": {"cores": os.cpu_count(), "cpu": gw.cpu_model(), "kernel": platform.release(), "memory_gib": gw.mem_gib()},
        "binaries": gateways,
        "versions": {name: subprocess.run([b, "--version"], capture_output=True, text=True).stdout.strip() for name, b in gateways.items()},
        "seconds_per_run": SECONDS, "rate": RATE, "loops": LOOPS, "prompt_mib": PROMPT_MIB, "request_bytes": len(big),
        "runs": [],
    }
    try:
        bench.up(gw.MOCK_CHAT)
        keys_b = {name: bench.account(bench.urls[name], TENANT_B)[1] for name in gateways}
        for t in bench.gateways.values():
            # Warm both tenants' paths: small chats, and one huge prompt.
            gw.loadgen(t, 200, 200, body=gw.CHAT, stream=False)
            results.setdefault("warm_b", {})[t.name] = single(t.url, keys_b[t.name], big)
        for round_ in range(1, ROUNDS + 1):
            for name in gateways:
                run = measure(bench, name, big, keys_b)
                run["round"] = round_
                results["runs"].append(run)
    finally:
        bench.stop()
    out = gw.ROOT / "bench" / "results" / f"fairness-{results['started']}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    report = markdown(results)
    out.with_suffix(".md").write_text(report)
    print(report)
    print(f"raw numbers: {out.relative_to(gw.ROOT)}; tables: {out.with_suffix('.md').relative_to(gw.ROOT)}")


def single(url: str, key: str, body: bytes) -> Dict[str, Any]:
    """One huge-prompt request: its status and seconds."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=B_TIMEOUT_S)
    t0 = time.perf_counter()
    conn.request("POST", u.path, body=body, headers={"authorization": f"Bearer {key}", "content-type": "application/json"})
    response = conn.getresponse()
    answer = response.read()
    conn.close()
    usage = json.loads(answer).get("usage", {}) if response.status == 200 else {}
    return {"status": response.status, "seconds": time.perf_counter() - t0, "prompt_tokens": usage.get("prompt_tokens")}


def markdown(r: Dict[str, Any]) -> str:
    """The report's table."""
    m = r["machine"]
    lines = [f"Machine: {m['cores']} cores, {m['cpu']}, {m['memory_gib']:.0f} GiB, Linux {m['kernel']}.",
             "Gateways: " + "; ".join(f"{n} = {b} ({r['versions'][n]})" for n, b in r["binaries"].items()) + ".",
             f"Tenant A: non-stream chats at {r['rate']} req/s for {r['seconds_per_run']} s (bench/loadgen, from each request's due time). "
             f"Tenant B: {r['loops']} loops of {r['request_bytes'] / 1048576:.1f} MiB chat requests, back to back.", "",
             "| gateway | round | tenant A alone p50 / p99 / p99.9 (ms) | with B p50 / p99 / p99.9 (ms) | p99 ratio | A errors alone / with B | B req/s (statuses) | gateway CPU alone / with B (cores) | with B: async workers / blocking pool (cores) | B's CPU per request: async workers / blocking pool (ms) | mock-upstream CPU with B | load average before |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in r["runs"]:
        a, w, b = run["alone"], run["with_b"], run["tenant_b"]
        la, lw = a["latency_ms"], w["latency_ms"]
        kinds, per_b = w["gateway_cpu_by_thread_cores"], run["tenant_b_cpu_ms_per_request"]
        lines.append(
            f"| {run['gateway']} | {run['round']} | {la['p50']:.2f} / {la['p99']:.2f} / {la['p99.9']:.2f} | {lw['p50']:.2f} / {lw['p99']:.2f} / {lw['p99.9']:.2f} "
            f"| {run['p99_ratio']:.2f}× | {a['errors_total']} / {w['errors_total']} | {b['rps']:.2f} ({', '.join(f'{k}: {v}' for k, v in b['statuses'].items())}) "
            f"| {a['gateway_cpu_cores']:.2f} / {w['gateway_cpu_cores']:.2f} | {kinds['async workers']:.2f} / {kinds.get('blocking pool', 0.0):.2f} "
            f"| {per_b['async workers']:.0f} / {per_b.get('blocking pool', 0.0):.0f} | {w['mock_cpu_cores']:.2f} | {w['loadavg_before'][0]:.1f} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
