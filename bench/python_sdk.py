"""aihub against the official openai package, side by side, against one mock-upstream.

Run through bench/python-sdk.sh, which builds and starts mock-upstream and installs both
packages. Prints a markdown table and writes the raw figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from typing import Any, Callable, Dict, List

import openai

import aihub

MESSAGES = [{"role": "user", "content": "Benchmark me."}]


def stream_sync(create: Callable[..., Any], chunks: int) -> int:
    n = 0
    for chunk in create(model=f"gpt-4o-mini@chunks={chunks},tokens={chunks}", messages=MESSAGES, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            n += 1
    return n


async def stream_async(create: Callable[..., Any], chunks: int) -> int:
    n = 0
    stream = await create(model=f"gpt-4o-mini@chunks={chunks},tokens={chunks}", messages=MESSAGES, stream=True)
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            n += 1
    return n


def calls_sync(create: Callable[..., Any], count: int, latencies: List[float]) -> None:
    for _ in range(count):
        t = time.perf_counter()
        r = create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=8)
        assert r.choices[0].message.content
        latencies.append(time.perf_counter() - t)


def measure(fn: Callable[[], Any], repeat: int) -> Dict[str, float]:
    """Median wall and CPU time (all threads of this process) over ``repeat`` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        c, t = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--chunks", type=int, default=5000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", default="")
    args = parser.parse_args()

    clients = {
        "aihub": aihub.Client(api_key="sk-bench", base_url=args.base_url, max_retries=0, keys_from_env=False),
        "openai": openai.OpenAI(api_key="sk-bench", base_url=args.base_url, max_retries=0),
    }
    async_clients = {
        "aihub": lambda: aihub.AsyncClient(api_key="sk-bench", base_url=args.base_url, max_retries=0, keys_from_env=False),
        "openai": lambda: openai.AsyncOpenAI(api_key="sk-bench", base_url=args.base_url, max_retries=0),
    }
    results: Dict[str, Dict[str, Any]] = {}
    for name, client in clients.items():
        # Warm up: connections, imports, BPE tables.
        stream_sync(client.chat.completions.create, 50)
        calls_sync(client.chat.completions.create, 50, [])

        got = stream_sync(client.chat.completions.create, args.chunks)
        assert got == args.chunks, f"{name} saw {got} content chunks, expected {args.chunks}"
        results.setdefault(name, {})["stream"] = measure(
            lambda: stream_sync(client.chat.completions.create, args.chunks), args.repeat
        )

        def run_async_stream() -> None:
            async def go() -> None:
                c = async_clients[name]()
                await stream_async(c.chat.completions.create, args.chunks)
                await c.close()

            asyncio.run(go())

        results[name]["async_stream"] = measure(run_async_stream, args.repeat)

        latencies: List[float] = []
        results[name]["calls"] = measure(lambda: calls_sync(client.chat.completions.create, args.calls, latencies), 1)
        latencies.sort()
        results[name]["calls"]["p50_ms"] = latencies[len(latencies) // 2] * 1000
        results[name]["calls"]["p99_ms"] = latencies[int(len(latencies) * 0.99)] * 1000

    a, o = results["aihub"], results["openai"]
    print(f"Python {platform.python_version()}, openai {openai.__version__}, aihub {aihub.__version__}, "
          f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}")
    print()
    print("| scenario | aihub wall | openai wall | openai / aihub | aihub CPU | openai CPU |")
    print("|---|---|---|---|---|---|")
    rows = [
        (f"stream of {args.chunks} chunks, sync (median of {args.repeat})", "stream"),
        (f"stream of {args.chunks} chunks, asyncio (median of {args.repeat})", "async_stream"),
        (f"{args.calls} non-stream calls, sync, one after another", "calls"),
    ]
    for label, key in rows:
        print(
            f"| {label} | {a[key]['wall_s'] * 1000:.0f} ms | {o[key]['wall_s'] * 1000:.0f} ms | "
            f"{o[key]['wall_s'] / a[key]['wall_s']:.1f}× | {a[key]['cpu_s'] * 1000:.0f} ms | {o[key]['cpu_s'] * 1000:.0f} ms |"
        )
    print()
    print(
        f"Per call, {args.calls} sequential calls: aihub p50 {a['calls']['p50_ms']:.2f} ms, p99 {a['calls']['p99_ms']:.2f} ms; "
        f"openai p50 {o['calls']['p50_ms']:.2f} ms, p99 {o['calls']['p99_ms']:.2f} ms."
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"python": platform.python_version(), "openai": openai.__version__, "aihub": aihub.__version__, "results": results},
                f,
                indent=2,
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
