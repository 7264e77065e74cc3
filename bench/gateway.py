"""The gateway's added latency, throughput, memory and start-up, measured against calling
mock-upstream directly in the same run. Run through bench/gateway.sh, which builds the release
binaries and installs oha first.

Scenarios measured so far:
  1. non-stream chat on the full path (key auth, rate limits, monthly quota and budget
     reservation, usage record written, cost computed) at fixed request rates, with oha's
     coordinated-omission correction, against the same request sent to mock-upstream directly;
  4. start-up time (process start to a 200 from /health) and idle RSS.

Writes a markdown table to stdout and the raw numbers to bench/results/gateway-<date>.json.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
RELEASE = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
OHA = os.environ.get("OHA", "oha")
RATES = [int(r) for r in os.environ.get("BENCH_RATES", "250,500,1000,2000").split(",")]
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
BODY = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello in five words."}], "max_tokens": 32}


def start(args: List[str], ready: str, env: Optional[Dict[str, str]] = None) -> "tuple[subprocess.Popen[bytes], str, float]":
    """Starts a process; returns it, the URL its ready line names, and the seconds until then."""
    t0 = time.perf_counter()
    log = tempfile.NamedTemporaryFile(delete=False)
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    while time.perf_counter() - t0 < 60:
        text = Path(log.name).read_text(errors="replace")
        m = re.search(ready, text)
        if m:
            return proc, m.group(1), time.perf_counter() - t0
        if proc.poll() is not None:
            raise RuntimeError(f"{args[0]} exited:\n{text}")
        time.sleep(0.005)
    raise RuntimeError(f"{args[0]} did not start")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def api(base: str, method: str, path: str, body: Any = None, bearer: Optional[str] = None) -> Any:
    req = urllib.request.Request(f"{base}{path}", method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("content-type", "application/json")
    if bearer:
        req.add_header("authorization", f"Bearer {bearer}")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def oha(url: str, key: str, rate: int) -> Dict[str, Any]:
    """One fixed-rate run; oha's JSON summary."""
    args = [OHA, "--no-tui", "--output-format", "json", "-z", f"{SECONDS}s", "-q", str(rate), "--latency-correction",
            "-c", "64", "-m", "POST", "-H", f"authorization: Bearer {key}", "-T", "application/json", "-d", json.dumps(BODY), url]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def summary(run: Dict[str, Any]) -> Dict[str, Any]:
    """Requests per second, latency percentiles (ms), successes, failures by status or error."""
    pct = run["latencyPercentiles"]
    statuses = run.get("statusCodeDistribution", {})
    ok = sum(v for k, v in statuses.items() if k.startswith("2"))
    return {
        "rps": run["summary"]["requestsPerSec"],
        "p50_ms": pct["p50"] * 1000,
        "p90_ms": pct["p90"] * 1000,
        "p99_ms": pct["p99"] * 1000,
        "p99.9_ms": pct["p99.9"] * 1000,
        "ok": ok,
        # oha cancels the requests still in flight when the run's time is up: not failures.
        "errors": sum(statuses.values()) - ok
        + sum(n for kind, n in run.get("errorDistribution", {}).items() if kind != "aborted due to deadline"),
        "statuses": statuses,
        "error_kinds": run.get("errorDistribution", {}),
    }


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="aihub-bench-"))
    mock, mock_url, _ = start([str(RELEASE / "mock-upstream"), "--listen", "127.0.0.1:0", "--no-record"], r"listening on (http://[0-9.:]+)")
    config = work / "aihub.toml"
    config.write_text(f"""
listen = "127.0.0.1:0"
database_url = "sqlite://{work}/aihub.db"
upstream_max_retries = 0

[providers.openai]
base_url = "{mock_url}/v1"
api_key = "sk-bench"

[plans.bench]
name = "Benchmark"
price_monthly = "0"
monthly_tokens = 1000000000000
rpm = 100000000
tpm = 100000000000
max_concurrent = 100000

[limits]
default_plan = "bench"
""")
    master = "bench-master-key-0123456789"
    env = {"AIHUB_CONFIG": str(config), "AIHUB_LOG": "warn", "AIHUB_MASTER_KEY": master}
    # Start-up: from process start to the gateway's "listening" line (migrations included).
    gw, gw_url, startup = start([str(RELEASE / "aihub-server"), "serve"], r"listening on (http://[0-9.:]+)", env)
    base = f"{gw_url}/api/v1"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{gw_url}/health", timeout=1)
            break
        except OSError:
            time.sleep(0.01)
    time.sleep(1)
    idle = rss_mib(gw.pid)
    user = api(base, "POST", "/auth/register", {"email": "bench@example.com", "password": "bench-password"})
    # Registration puts users on the free plan; the benchmark's plan has room for every rate.
    api(base, "PUT", f"/admin/users/{user['id']}/plan", {"plan": "bench"}, bearer=master)
    token = api(base, "POST", "/auth/login", {"email": "bench@example.com", "password": "bench-password"})["token"]
    created = api(base, "POST", "/auth/api-keys", {"name": "bench"}, bearer=token)
    api(base, "PUT", f"/auth/api-keys/{created['id']}/budget", {"hard_limit": "1000000", "period": "monthly"}, bearer=token)
    key = created["key"]

    results: Dict[str, Any] = {
        "date": datetime.date.today().isoformat(),
        "machine": {"cores": os.cpu_count(), "cpu": cpu_model(), "kernel": platform.release()},
        "versions": {"oha": subprocess.run([OHA, "--version"], capture_output=True, text=True).stdout.strip(), "rustc": subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()},
        "seconds_per_run": SECONDS,
        "gateway": {"startup_s": startup, "idle_rss_mib": idle},
        "non_stream": [],
    }
    # Warm both paths (connections, the SQLite file, the key cache) before measuring.
    oha_warm = [OHA, "--no-tui", "-n", "200", "-c", "8", "-m", "POST", "-H", f"authorization: Bearer {key}", "-T", "application/json", "-d", json.dumps(BODY)]
    subprocess.run(oha_warm + [f"{mock_url}/v1/chat/completions"], check=True, capture_output=True)
    subprocess.run(oha_warm + [f"{gw_url}/v1/chat/completions"], check=True, capture_output=True)
    for rate in RATES:
        direct = summary(oha(f"{mock_url}/v1/chat/completions", "sk-bench", rate))
        through = summary(oha(f"{gw_url}/v1/chat/completions", key, rate))
        rss = rss_mib(gw.pid)
        results["non_stream"].append({"rate": rate, "direct": direct, "gateway": through, "gateway_rss_mib_after": rss})
    records = api(base, "GET", "/usage/current", bearer=token)
    results["usage_records_requests"] = records.get("requests")
    gw.terminate()
    mock.terminate()
    gw.wait(10)
    mock.wait(10)

    out = ROOT / "bench" / "results" / f"gateway-{results['date']}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"machine: {results['machine']}; {results['versions']}")
    print(f"gateway start-up to listening: {startup * 1000:.0f} ms; idle RSS {idle:.1f} MiB")
    print(f"requests the gateway recorded this month: {results['usage_records_requests']}")
    print()
    print("| rate (req/s) | direct p50 / p99 / p99.9 (ms) | gateway p50 / p99 / p99.9 (ms) | added p50 / p99 (ms) | gateway achieved req/s | errors | RSS after (MiB) |")
    print("|---|---|---|---|---|---|---|")
    for r in results["non_stream"]:
        d, g = r["direct"], r["gateway"]
        print(f"| {r['rate']} | {d['p50_ms']:.2f} / {d['p99_ms']:.2f} / {d['p99.9_ms']:.2f} | {g['p50_ms']:.2f} / {g['p99_ms']:.2f} / {g['p99.9_ms']:.2f} | "
              f"{g['p50_ms'] - d['p50_ms']:.2f} / {g['p99_ms'] - d['p99_ms']:.2f} | {g['rps']:.0f} | {g['errors']} | {r['gateway_rss_mib_after']:.1f} |")
    print(f"\nraw numbers: {out.relative_to(ROOT)}")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())
