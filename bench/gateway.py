"""AI Hub's gateway against calling mock-upstream directly and against LiteLLM's proxy, in one
run on one machine. Run through bench/run.sh, which builds the release binaries, installs oha
and LiteLLM first, and documents the settings (docs/benchmarks.md says the same).

Scenarios, each with the same request at every target:
  1. non-stream chat on the full path (key auth, rate limits, monthly quota and budget
     reservation, usage record written, cost computed) at fixed rates with oha's
     coordinated-omission correction, then a maximum-throughput run (64 connections, no rate);
  2. streamed chat of 50 chunks at fixed rates with bench/loadgen: time to first token and to
     the end of the stream, measured from each request's due time;
  3. 1,000 concurrent open streams (each lasting about 20 s): the gateway's peak RSS and CPU;
  4. start-up time and idle RSS.

Writes markdown tables to stdout and to bench/results/<start time>.md, and the raw numbers to
bench/results/<start time>.json. BENCH_SECONDS, BENCH_RATES, BENCH_STREAM_RATES, BENCH_STREAMS,
BENCH_LITELLM=0 (skip LiteLLM) and BENCH_GATEWAY (another aihub-server binary) change the run.
BENCH_GATEWAY_B names a second aihub-server binary, measured as "aihub-b" right after "aihub" at
every rate, and BENCH_ROUNDS repeats each fixed-rate run that many times (A, B, A, B, …), for a
before-and-after comparison in one run. Every fixed-rate figure carries the target's CPU per
request.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parents[1]
RELEASE = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
OHA = os.environ.get("OHA", "oha")
LOADGEN = str(RELEASE / "loadgen")
# Another build of the gateway to measure, e.g. an earlier commit's, for a before-and-after run.
GATEWAY = os.environ.get("BENCH_GATEWAY", str(RELEASE / "aihub-server"))
# A second build measured beside the first in the same run ("aihub-b"), and rounds per rate.
GATEWAY_B = os.environ.get("BENCH_GATEWAY_B", "")
ROUNDS = max(1, int(os.environ.get("BENCH_ROUNDS", "1")))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
RATES = [int(r) for r in os.environ.get("BENCH_RATES", "250,500,1000,2000").split(",")]
STREAM_RATES = [int(r) for r in os.environ.get("BENCH_STREAM_RATES", "100,250,500").split(",")]
OPEN_STREAMS = int(os.environ.get("BENCH_STREAMS", "1000"))
WITH_LITELLM = os.environ.get("BENCH_LITELLM", "1") != "0"
if WITH_LITELLM:
    import litellm_proxy  # bench/litellm_proxy.py
MODEL = "openai/gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello in five words."}]
CHAT = {"model": MODEL, "messages": MESSAGES, "max_tokens": 32}
STREAM = {"model": MODEL, "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}
# mock-upstream's default knobs per scenario: 8 words for a chat; 50 chunks for a stream; 50
# chunks at 2.5 tokens/s (about 20 s) for the open streams.
MOCK_CHAT = ""
MOCK_STREAM = "chunks=50,tokens=50"
MOCK_OPEN = "chunks=50,tokens=50,tps=2.5"
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Target:
    """One server the load is sent to: its process, its chat URL and the key it checks."""

    def __init__(self, name: str, proc: "subprocess.Popen[bytes]", url: str, key: str, startup_s: float,
                 stopper: "Optional[Callable[[subprocess.Popen[bytes]], None]]" = None) -> None:
        self.name, self.proc, self.url, self.key, self.startup_s, self.stopper = name, proc, url, key, startup_s, stopper

    def stop(self) -> None:
        """Stops the process (and its children) and waits for it."""
        if self.stopper:
            self.stopper(self.proc)
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def start(args: List[str], ready: str, env: Optional[Dict[str, str]] = None) -> "Tuple[subprocess.Popen[bytes], str, float]":
    """Starts a process; returns it, the URL its ready line names, and the seconds until then."""
    t0 = time.perf_counter()
    log = tempfile.NamedTemporaryFile(delete=False, prefix="aihub-bench-", suffix=".log")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    while time.perf_counter() - t0 < 60:
        text = Path(log.name).read_text(errors="replace")
        m = re.search(ready, text)
        if m:
            return proc, m.group(1), time.perf_counter() - t0
        if proc.poll() is not None:
            raise RuntimeError(f"{args[0]} exited:\n{text}")
        time.sleep(0.002)
    raise RuntimeError(f"{args[0]} did not start")


def tree(pid: int) -> List[int]:
    """The process and all its descendants (LiteLLM's workers are child processes)."""
    children: Dict[int, List[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_mib(pid: int) -> float:
    """Resident memory of the process tree, MiB."""
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def cpu_s(pid: int) -> float:
    """User plus system CPU seconds of the process tree so far."""
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / CLK_TCK


def api(base: str, method: str, path: str, body: Any = None, bearer: Optional[str] = None) -> Any:
    """A JSON call to the gateway's management API."""
    req = urllib.request.Request(f"{base}{path}", method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("content-type", "application/json")
    if bearer:
        req.add_header("authorization", f"Bearer {bearer}")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def oha(target: Target, rate: Optional[int], body: Optional[Dict[str, Any]] = None,
        headers: Optional[List[str]] = None) -> Dict[str, Any]:
    """One oha run of SECONDS: at a fixed rate (coordinated-omission corrected) or, without a
    rate, as fast as 64 connections go. `body` (default CHAT) and extra `headers` ("name: value")
    change the request."""
    args = [OHA, "--no-tui", "--output-format", "json", "-z", f"{SECONDS}s", "-c", "64", "-m", "POST",
            "-H", f"authorization: Bearer {target.key}", "-T", "application/json", "-d", json.dumps(body or CHAT)]
    for header in headers or []:
        args += ["-H", header]
    if rate:
        args += ["-q", str(rate), "--latency-correction"]
    cpu0 = cpu_s(target.proc.pid)
    out = subprocess.run(args + [target.url], check=True, capture_output=True, text=True).stdout
    cpu = cpu_s(target.proc.pid) - cpu0
    run = json.loads(out)
    pct = run["latencyPercentiles"]
    statuses = run.get("statusCodeDistribution", {})
    ok = sum(v for k, v in statuses.items() if k.startswith("2"))
    kinds = run.get("errorDistribution", {})
    return {
        "rps": ok / SECONDS,
        "p50_ms": pct["p50"] * 1000, "p90_ms": pct["p90"] * 1000, "p99_ms": pct["p99"] * 1000, "p99.9_ms": pct["p99.9"] * 1000,
        "ok": ok,
        "cpu_us_per_request": cpu / max(ok, 1) * 1e6,
        # oha cancels the requests still in flight when the run's time is up: not failures.
        "errors": sum(statuses.values()) - ok + sum(n for kind, n in kinds.items() if kind != "aborted due to deadline"),
        "statuses": statuses,
        "error_kinds": kinds,
    }


def loadgen(target: Target, rate: float, requests: int, timeout_s: float = 60,
            body: Dict[str, Any] = STREAM, stream: bool = True) -> Dict[str, Any]:
    """One bench/loadgen run (of streamed chats unless told otherwise); its JSON report."""
    args = [LOADGEN, target.url, "--key", target.key, "--rate", str(rate), "--requests", str(requests),
            "--timeout", str(timeout_s), "--body", json.dumps(body)] + (["--stream"] if stream else [])
    cpu0 = cpu_s(target.proc.pid)
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    cpu = cpu_s(target.proc.pid) - cpu0
    report = json.loads(out)
    report["errors_total"] = sum(report["errors"].values()) + report["not_sent"]
    report["cpu_us_per_request"] = cpu / max(report["ok"], 1) * 1e6
    return report


def sampled(target: Target, work: Callable[[], Dict[str, Any]]) -> Dict[str, Any]:
    """Runs `work` while sampling the target's RSS every 100 ms: peak RSS and CPU per second."""
    peak = [rss_mib(target.proc.pid)]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            peak.append(rss_mib(target.proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    cpu0, t0 = cpu_s(target.proc.pid), time.perf_counter()
    sampler.start()
    try:
        result = work()
    finally:
        done.set()
        sampler.join()
    wall = time.perf_counter() - t0
    result["peak_rss_mib"] = max(peak)
    result["cpu_cores"] = (cpu_s(target.proc.pid) - cpu0) / wall
    return result


class Bench:
    """The processes of one run: mock-upstream, AI Hub's gateway (one or two builds) and LiteLLM,
    restarted per scenario. `gateways` maps each gateway's name to its binary; `config` is added
    to the top of the gateway's configuration; `with_litellm` starts LiteLLM too."""

    def __init__(self, gateways: Optional[Dict[str, str]] = None, config: str = "", with_litellm: bool = WITH_LITELLM) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="aihub-bench-"))
        self.master = "bench-master-key-0123456789"
        self.binaries = gateways or default_gateways()
        self.config, self.with_litellm = config, with_litellm
        self.keys: Dict[str, str] = {}
        self.tokens: Dict[str, str] = {}
        self.urls: Dict[str, str] = {}
        self.mock: Optional[Target] = None
        self.gateways: Dict[str, Target] = {}
        self.litellm: Optional[Target] = None

    @property
    def aihub(self) -> Optional[Target]:
        """The first gateway."""
        return next(iter(self.gateways.values()), None)

    def targets(self) -> List[Target]:
        """direct (mock-upstream), the gateways and, when enabled, litellm."""
        return [t for t in (self.mock, *self.gateways.values(), self.litellm) if t]

    def stop(self) -> None:
        """Stops every process."""
        for t in self.targets():
            t.stop()
        self.mock, self.gateways, self.litellm = None, {}, None

    def up(self, scenario: str) -> None:
        """(Re)starts them all with mock-upstream answering every request with `scenario`."""
        self.stop()
        proc, url, startup = start([str(RELEASE / "mock-upstream"), "--listen", "127.0.0.1:0", "--no-record", "--scenario", scenario],
                                   r"listening on (http://[0-9.:]+)")
        mock_url = url
        self.mock = Target("direct", proc, f"{url}/v1/chat/completions", "sk-bench", startup)
        self.idle_rss: Dict[str, float] = {}
        for name, binary in self.binaries.items():
            self.gateways[name] = self.gateway(name, binary, mock_url)
        if self.with_litellm:
            # LiteLLM's documentation: as many workers as cores.
            proc, base, key, startup = litellm_proxy.start(mock_url, self.work, workers=os.cpu_count() or 1)
            self.litellm = Target("litellm", proc, f"{base}/v1/chat/completions", key, startup, litellm_proxy.stop)
            time.sleep(1)
            self.idle_rss["litellm"] = rss_mib(proc.pid)

    def gateway(self, name: str, binary: str, mock_url: str) -> Target:
        """Starts one gateway build on its own SQLite file; registers its caller on first start."""
        config = self.work / f"{name}.toml"
        config.write_text(f"""
listen = "127.0.0.1:0"
database_url = "sqlite://{self.work}/{name}.db"
upstream_max_retries = 0
{self.config}

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
        env = {"AIHUB_CONFIG": str(config), "AIHUB_LOG": "warn", "AIHUB_MASTER_KEY": self.master}
        # Start-up: from process start to the "listening" line (migrations included).
        proc, url, startup = start([binary, "serve"], r"listening on (http://[0-9.:]+)", env)
        self.urls[name] = url
        # Idle memory, before anything is asked of the gateway (registering a user hashes a
        # password with argon2, which takes 19 MiB while it runs).
        time.sleep(1)
        self.idle_rss[name] = rss_mib(proc.pid)
        if name not in self.keys:
            self.tokens[name], self.keys[name] = self.account(url)
        return Target(name, proc, f"{url}/v1/chat/completions", self.keys[name], startup)

    def warm(self) -> None:
        """Sends 200 requests to each target before measuring."""
        # Warm every path (connections, the SQLite file, the key cache, Python imports).
        for t in self.targets():
            subprocess.run([OHA, "--no-tui", "-n", "200", "-c", "8", "-m", "POST", "-H", f"authorization: Bearer {t.key}",
                            "-T", "application/json", "-d", json.dumps(CHAT), t.url], check=True, capture_output=True)

    def account(self, url: str, email: str = "bench@example.com") -> Tuple[str, str]:
        """A user on the benchmark plan and an API key with a monthly budget; returns the user's
        session token and the key."""
        base = f"{url}/api/v1"
        user = api(base, "POST", "/auth/register", {"email": email, "password": "bench-password"})
        # Registration puts users on the free plan; the benchmark's plan has room for every rate.
        api(base, "PUT", f"/admin/users/{user['id']}/plan", {"plan": "bench"}, bearer=self.master)
        token = api(base, "POST", "/auth/login", {"email": email, "password": "bench-password"})["token"]
        created = api(base, "POST", "/auth/api-keys", {"name": "bench"}, bearer=token)
        api(base, "PUT", f"/auth/api-keys/{created['id']}/budget", {"hard_limit": "1000000", "period": "monthly"}, bearer=token)
        return token, created["key"]


def default_gateways() -> Dict[str, str]:
    """The gateway builds BENCH_GATEWAY and BENCH_GATEWAY_B name."""
    return {"aihub": GATEWAY, **({"aihub-b": GATEWAY_B} if GATEWAY_B else {})}


def first_event(target: Target) -> None:
    """Warms a target whose answers are slow: one stream, closed after its first event."""
    req = urllib.request.Request(target.url, method="POST", data=json.dumps(STREAM).encode())
    req.add_header("content-type", "application/json")
    req.add_header("authorization", f"Bearer {target.key}")
    with urllib.request.urlopen(req, timeout=60) as r:
        for line in r:
            if line.startswith(b"data:"):
                return


def idle(bench: Bench) -> Dict[str, Any]:
    """Start-up time and RSS one second after start, per gateway (fresh processes)."""
    bench.up(MOCK_CHAT)
    out = {t.name: {"startup_s": t.startup_s, "idle_rss_mib": bench.idle_rss[t.name]} for t in bench.targets() if t.name != "direct"}
    bench.warm()
    return out


def main() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 1,000 streams hold 2,000 sockets at the gateway
    bench = Bench()
    results: Dict[str, Any] = {
        "date": datetime.date.today().isoformat(),
        "started": datetime.datetime.now().strftime("%Y-%m-%dT%H%M"),
        "machine": {"cores": os.cpu_count(), "cpu": cpu_model(), "kernel": platform.release(), "memory_gib": mem_gib()},
        "versions": versions(),
        "seconds_per_run": SECONDS,
        "rounds": ROUNDS,
    }
    try:
        results["idle"] = idle(bench)
        results["non_stream"] = []
        for rate in RATES:
            for round_ in range(1, ROUNDS + 1):
                row: Dict[str, Any] = {"rate": rate, "round": round_}
                for t in bench.targets():
                    row[t.name] = oha(t, rate)
                    row[t.name]["rss_mib_after"] = rss_mib(t.proc.pid)
                results["non_stream"].append(row)
            print(f"non-stream {rate}/s done", file=sys.stderr)
        results["max_throughput"] = {t.name: sampled(t, lambda t=t: oha(t, None)) for t in bench.targets()}
        print("max throughput done", file=sys.stderr)

        bench.up(MOCK_STREAM)
        bench.warm()
        results["stream"] = []
        for rate in STREAM_RATES:
            for round_ in range(1, ROUNDS + 1):
                row = {"rate": rate, "round": round_}
                for t in bench.targets():
                    row[t.name] = loadgen(t, rate, rate * SECONDS)
                results["stream"].append(row)
            print(f"stream {rate}/s done", file=sys.stderr)

        bench.up(MOCK_OPEN)
        for t in bench.targets():
            first_event(t)
        results["open_streams"] = {"streams": OPEN_STREAMS}
        for t in bench.targets():
            # Opened over 5 s, each lasting about 20 s: all are open together for about 15 s.
            results["open_streams"][t.name] = sampled(t, lambda t=t: loadgen(t, OPEN_STREAMS / 5, OPEN_STREAMS, 120))
            print(f"open streams at {t.name} done", file=sys.stderr)
        results["usage_records"] = {name: api(f"{bench.urls[name]}/api/v1", "GET", "/usage/current", bearer=bench.tokens[name]).get("requests")
                                    for name in bench.gateways}
    finally:
        bench.stop()

    out = ROOT / "bench" / "results" / f"{results['started']}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    report = markdown(results)
    (out.with_suffix(".md")).write_text(report)
    print(report)
    print(f"raw numbers: {out.relative_to(ROOT)}; tables: {out.with_suffix('.md').relative_to(ROOT)}")


def markdown(r: Dict[str, Any]) -> str:
    """The report's tables."""
    names = [n for n in ("aihub", "aihub-b", "litellm") if n in r["idle"]]

    def at(row: Dict[str, Any]) -> str:
        return f"{row['rate']}" + (f" (round {row['round']})" if r.get("rounds", 1) > 1 else "")

    lines = [f"Machine: {r['machine']['cores']} cores, {r['machine']['cpu']}, {r['machine']['memory_gib']:.0f} GiB, Linux {r['machine']['kernel']}.",
             "Versions: " + "; ".join(f"{k} {v}" for k, v in r["versions"].items()) + ".",
             f"{r['seconds_per_run']} s per run. \"Added\" is the gateway's figure minus calling mock-upstream directly in the same run.", ""]
    lines += ["### Start-up and idle memory", "", "| gateway | start-up (ms) | idle RSS (MiB) |", "|---|---|---|"]
    for n in names:
        lines.append(f"| {n} | {r['idle'][n]['startup_s'] * 1000:.0f} | {r['idle'][n]['idle_rss_mib']:.1f} |")
    lines += ["", "### Non-stream chat at fixed rates (oha, latency from each request's due time)", "",
              "| rate (req/s) | target | p50 / p90 / p99 / p99.9 (ms) | added p50 / p99 (ms) | achieved req/s | errors | RSS after (MiB) | CPU per request (µs) |",
              "|---|---|---|---|---|---|---|---|"]
    for row in r["non_stream"]:
        d = row["direct"]
        for n in ["direct"] + names:
            x = row[n]
            added = "" if n == "direct" else f"{x['p50_ms'] - d['p50_ms']:.2f} / {x['p99_ms'] - d['p99_ms']:.2f}"
            rss = "" if n == "direct" else f"{x['rss_mib_after']:.1f}"
            cpu = f"{x['cpu_us_per_request']:.0f}" if "cpu_us_per_request" in x else ""
            lines.append(f"| {at(row)} | {n} | {x['p50_ms']:.2f} / {x['p90_ms']:.2f} / {x['p99_ms']:.2f} / {x['p99.9_ms']:.2f} | {added} | {x['rps']:.0f} | {x['errors']} | {rss} | {cpu} |")
    lines += ["", "### Maximum throughput, non-stream chat (oha, 64 connections, no rate)", "",
              "| target | req/s | p50 / p99 (ms) | errors | peak RSS (MiB) | CPU (cores) |", "|---|---|---|---|---|---|"]
    for n in ["direct"] + names:
        x = r["max_throughput"][n]
        lines.append(f"| {n} | {x['rps']:.0f} | {x['p50_ms']:.2f} / {x['p99_ms']:.2f} | {x['errors']} | {x['peak_rss_mib']:.1f} | {x['cpu_cores']:.2f} |")
    if "litellm" in names:
        ratio = r["max_throughput"]["aihub"]["rps"] / max(r["max_throughput"]["litellm"]["rps"], 1e-9)
        lines += ["", f"AI Hub's maximum throughput is {ratio:.1f}× LiteLLM's."]
    lines += ["", "### Streamed chat, 50 chunks, at fixed rates (bench/loadgen, from each request's due time)", "",
              "| rate (streams/s) | target | first token p50 / p99 (ms) | last token p50 / p99 / p99.9 (ms) | added first p50 / p99 | added last p50 / p99 | achieved/s | errors | CPU per stream (µs) |",
              "|---|---|---|---|---|---|---|---|---|"]
    for row in r["stream"]:
        d = row["direct"]
        for n in ["direct"] + names:
            x = row[n]
            f, l = x.get("ttft_ms"), x.get("latency_ms")
            if not f or not l:
                lines.append(f"| {at(row)} | {n} | – | – | | | {x['achieved_rps']:.0f} | {x['errors_total']} | |")
                continue
            added_f = "" if n == "direct" else f"{f['p50'] - d['ttft_ms']['p50']:.2f} / {f['p99'] - d['ttft_ms']['p99']:.2f}"
            added_l = "" if n == "direct" else f"{l['p50'] - d['latency_ms']['p50']:.2f} / {l['p99'] - d['latency_ms']['p99']:.2f}"
            cpu = f"{x['cpu_us_per_request']:.0f}" if "cpu_us_per_request" in x else ""
            lines.append(f"| {at(row)} | {n} | {f['p50']:.2f} / {f['p99']:.2f} | {l['p50']:.2f} / {l['p99']:.2f} / {l['p99.9']:.2f} | {added_f} | {added_l} | {x['achieved_rps']:.0f} | {x['errors_total']} | {cpu} |")
    o = r["open_streams"]
    lines += ["", f"### {o['streams']:,} concurrent open streams (50 chunks at 2.5 tokens/s each, opened over 5 s)", "",
              "| target | completed | errors | first token p50 / p99 (ms) | peak RSS (MiB) | CPU (cores, over the run) |", "|---|---|---|---|---|---|"]
    for n in ["direct"] + names:
        x = o[n]
        f = x.get("ttft_ms") or {"p50": float("nan"), "p99": float("nan")}
        lines.append(f"| {n} | {x['ok']} | {x['errors_total']} | {f['p50']:.2f} / {f['p99']:.2f} | {x['peak_rss_mib']:.1f} | {x['cpu_cores']:.2f} |")
    lines += ["", f"Usage records the gateway wrote this month: {r.get('usage_records')}.", ""]
    return "\n".join(lines)


def versions() -> Dict[str, str]:
    """Versions of the tools and servers measured."""
    def first_line(args: List[str]) -> str:
        return subprocess.run(args, capture_output=True, text=True).stdout.strip().splitlines()[0]
    out = {"aihub-server": first_line([GATEWAY, "--version"]), "oha": first_line([OHA, "--version"]),
           "rustc": first_line(["rustc", "--version"])}
    if GATEWAY_B:
        out["aihub-server (aihub-b)"] = first_line([GATEWAY_B, "--version"])
    if WITH_LITELLM:
        out["litellm"] = litellm_proxy.version()
    return out


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def mem_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


if __name__ == "__main__":
    sys.exit(main())
