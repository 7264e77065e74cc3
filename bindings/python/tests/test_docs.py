"""Every ``python`` block of docs/sdks/python.md runs against the demo gateway."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time

import pytest

import aihub
from conftest import ROOT, Gateway

DOC = ROOT / "docs" / "sdks" / "python.md"
# A block may be preceded by ``<!-- doc-test: key with a spent budget -->``: it then runs with a
# fresh key whose monthly budget is already spent, to show a refusal.
BLOCKS = re.findall(r"(<!-- doc-test: key with a spent budget -->\n)?```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_guide_has_examples() -> None:
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_guide_block_runs(index: int, gateway: Gateway) -> None:
    spent, block = BLOCKS[index]
    key = gateway.key
    if spent:
        key, key_id = gateway.new_key()
        status, body = gateway.api("PUT", f"admin/api-keys/{key_id}/budget", {"hard_limit": "0.000001", "currency": "USD"})
        assert status == 200, body
    env = {**os.environ, "AIHUB_API_KEY": key, "AIHUB_BASE_URL": gateway.base_url}
    proc = subprocess.run([sys.executable, "-c", block], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"block {index}:\n{block}\n{proc.stderr}"
    assert proc.stdout.strip(), "every block prints what it shows"


def test_cancelling_an_awaited_call_stops_it_at_once(mock_url: str) -> None:
    async def main() -> float:
        client = aihub.AsyncClient(api_key="sk", base_url=mock_url + "/v1", max_retries=0, keys_from_env=False)
        task = asyncio.create_task(
            client.chat.completions.create(model="gpt-4o-mini@latency_ms=10000", messages=[{"role": "user", "content": "hi"}])
        )
        await asyncio.sleep(0.2)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started

    assert asyncio.run(main()) < 1.0
