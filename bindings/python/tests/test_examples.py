"""examples/python/ runs against the gateway, and mypy --strict accepts it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, Gateway

EXAMPLES = ROOT / "examples" / "python"


def run(example: str, gateway: Gateway) -> str:
    env = {
        **os.environ,
        "AIHUB_API_KEY": gateway.key,
        "AIHUB_BASE_URL": gateway.base_url,
        "AIHUB_MODEL": "mock/gpt-4o-mini",
    }
    proc = subprocess.run([sys.executable, str(EXAMPLES / example)], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_every_example_is_tested() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == ["async_stream.py", "chat.py", "costs.py", "stream.py", "tool_call.py"]


def test_chat(gateway: Gateway) -> None:
    out = run("chat.py", gateway).splitlines()
    assert len(out) == 2 and out[0] and out[1].startswith("tokens: ")


def test_stream(gateway: Gateway) -> None:
    text, usage = run("stream.py", gateway).rsplit("\n", 2)[:2]
    assert len(text.split()) == 8 and usage.startswith("tokens: ")


def test_async_stream(gateway: Gateway) -> None:
    lines = run("async_stream.py", gateway).splitlines()
    assert [len(line.split()) for line in lines] == [8, 8, 1]


def test_tool_call(gateway: Gateway) -> None:
    out = run("tool_call.py", gateway).splitlines()
    assert out[0] == "model called get_weather({'city': 'sample'})"
    assert out[1]


def test_costs(gateway: Gateway) -> None:
    out = run("costs.py", gateway).splitlines()
    assert len(out) == 3
    assert out[0].startswith("openai/gpt-4o-mini: ") and "(exact)" in out[0] and out[0].endswith(" USD with 500 out")
    assert "(estimate)" in out[1]


def test_mypy_strict_accepts_the_examples_and_the_package() -> None:
    for target in ([str(EXAMPLES)], ["-p", "aihub"]):
        proc = subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *target],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
