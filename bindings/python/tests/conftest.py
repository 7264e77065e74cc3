"""Fixtures: a real mock-upstream process and a real aihub-server gateway (demo mode).

Both binaries come from the cargo target directory (``AIHUB_BIN_DIR``, else
``$CARGO_TARGET_DIR/debug``, else ``target/debug``); ``scripts/test-python.sh`` builds them.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

import pytest

import aihub

ROOT = Path(__file__).resolve().parents[3]
MODEL = "mock/gpt-4o-mini"


def _bin_dir() -> Path:
    if os.environ.get("AIHUB_BIN_DIR"):
        return Path(os.environ["AIHUB_BIN_DIR"])
    target = os.environ.get("CARGO_TARGET_DIR") or str(ROOT / "target")
    return Path(target) / "debug"


def _start(args: list[str], env: Dict[str, str], ready: str, log: Path) -> Tuple[subprocess.Popen[bytes], str]:
    """Starts a process and waits for a stdout line matching ``ready``; returns it and the match."""
    out = open(log, "wb")
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        match = re.search(ready, text)
        if match:
            return proc, match.group(1)
        if proc.poll() is not None:
            raise RuntimeError(f"{args[0]} exited early:\n{text}")
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{args[0]} did not start:\n{log.read_text(errors='replace')}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="aihub-py-") as d:
        yield Path(d)


@pytest.fixture(scope="session")
def mock_url(workdir: Path) -> Iterator[str]:
    """Base URL of a mock-upstream process (OpenAI routes at ``/v1``)."""
    proc, url = _start(
        [str(_bin_dir() / "mock-upstream"), "--listen", "127.0.0.1:0", "--no-record"],
        {},
        r"listening on (http://[0-9.:]+)",
        workdir / "mock.log",
    )
    yield url
    _stop(proc)


class Gateway:
    """A running gateway: its ``/v1`` URL, the demo key and the master key."""

    def __init__(self, url: str, key: str, master: str) -> None:
        self.url = url
        self.base_url = url + "/v1"
        self.key = key
        self.master = master

    def api(self, method: str, path: str, body: Optional[Any] = None, bearer: Optional[str] = None) -> Tuple[int, Any]:
        """Calls the management API; returns (status, JSON body)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/api/v1/" + path, data=data, method=method)
        req.add_header("content-type", "application/json")
        req.add_header("authorization", f"Bearer {bearer or self.master}")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def new_key(self, plan: str = "enterprise") -> Tuple[str, str]:
        """A fresh user on ``plan`` with one key; returns (key, key id)."""
        email = f"py-{uuid.uuid4().hex[:10]}@example.com"
        status, user = self.api("POST", "admin/users", {"email": email, "password": "password-123"})
        assert status == 201, user
        status, _ = self.api("PUT", f"admin/users/{user['id']}/plan", {"plan": plan})
        assert status == 200
        status, key = self.api("POST", "admin/api-keys", {"email": email, "name": "pytest"})
        assert status == 201, key
        return key["key"], key["id"]


@pytest.fixture(scope="session")
def gateway(workdir: Path) -> Iterator[Gateway]:
    master = "master-" + secrets.token_hex(12)
    env = {
        "AIHUB_LISTEN": "127.0.0.1:0",
        "AIHUB_DATABASE_URL": f"sqlite://{workdir}/gateway.db",
        "AIHUB_MASTER_KEY": master,
        "AIHUB_MAX_BODY_BYTES": "65536",
        "AIHUB_UPSTREAM_TIMEOUT_SECS": "5",
        "AIHUB_UPSTREAM_MAX_RETRIES": "0",
        "AIHUB_LOG": "warn",
    }
    proc, _ = _start(
        [str(_bin_dir() / "aihub-server"), "serve", "--demo"], env, r"(Demo API key)", workdir / "gateway.log"
    )
    text = (workdir / "gateway.log").read_text()
    url = re.search(r"listening on (http://[0-9.:]+)", text)
    key = re.search(r"Demo API key \(shown once\): (ai-hub-[A-Za-z0-9]+)", text)
    assert url and key, text
    yield Gateway(url.group(1), key.group(1), master)
    _stop(proc)


@pytest.fixture()
def mock_client(mock_url: str) -> aihub.Client:
    """A client speaking OpenAI's protocol straight to mock-upstream, without retries."""
    return aihub.Client(api_key="sk-test", base_url=mock_url + "/v1", max_retries=0, keys_from_env=False)


@pytest.fixture()
def gateway_client(gateway: Gateway) -> aihub.Client:
    """A client of the gateway with the demo key, without retries."""
    return aihub.Client(api_key=gateway.key, base_url=gateway.base_url, max_retries=0, keys_from_env=False)
