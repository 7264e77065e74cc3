"""LiteLLM proxy as a comparison gateway for the benchmark, in front of mock-upstream.

LiteLLM lives in its own venv ($HOME/.cache/aihub/litellm-venv): it pins its own `openai` and
must stay out of every other venv. It runs without a database, with a master key (the only key
LiteLLM can check without a database, so both gateways check a key on every request), and with
the settings LiteLLM's documentation gives for production and performance:

- `--num_workers N`, N = CPU count for best throughput: docs/proxy/prod.md ("Match Uvicorn
  Workers to CPU Count") and docs/benchmarks.md ("Setting workers equal to CPU count gives
  optimal performance"); the default Uvicorn server (docs/proxy/server_tuning.md: recommended
  for almost all deployments), which LiteLLM runs on uvloop.
- `litellm_settings.set_verbose: False`, `json_logs: true`, `request_timeout`: docs/proxy/prod.md
  ("Use this config.yaml").
- `LITELLM_LOG=ERROR` ("Turn off FASTAPI's default info logs", which also drops Uvicorn's
  per-request access log) and `LITELLM_MODE=PRODUCTION` (no load_dotenv): docs/proxy/prod.md.
- `general_settings.disable_spend_logs` / `disable_error_logs: True`: docs/proxy/prod.md
  ("Disable spend_logs & error_logs if not using the LiteLLM UI"); no `database_url` at all.
- `litellm_settings.callbacks: []`, `num_retries: 0`: docs/benchmarks.md (benchmark config);
  `turn_off_message_logging: True`: docs/proxy/logging.md (redact messages from callbacks).
- `router_settings.routing_strategy: simple-shuffle`: docs/proxy/prod.md ("recommended for best
  performance", also the default).
- `LITELLM_LOCAL_MODEL_COST_MAP=True`: use the bundled cost map instead of fetching it from
  GitHub at start-up (docs/proxy/custom_model_cost_map.md describes the start-up fetch; the
  switch is read in litellm_core_utils/get_model_cost_map.py; /work/shared/TOOLCHAIN.md).

Callers send `Authorization: Bearer <key>` with the key `start` returns.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List

LITELLM_VERSION = "1.108.7"
VENV = Path(os.environ.get("LITELLM_VENV", Path.home() / ".cache" / "aihub" / "litellm-venv"))
MASTER_KEY = "sk-bench-litellm-master-0123456789"
MODEL = "openai/gpt-4o-mini"


def _env() -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DIRECT_URL", "LITELLM_MASTER_KEY", "JSON_LOGS")}
    env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "LITELLM_MODE": "PRODUCTION"})
    return env


def ensure_installed() -> Path:
    """Creates the LiteLLM venv with the pinned `litellm[proxy]` if needed; returns the `litellm` executable."""
    exe = VENV / "bin" / "litellm"
    if exe.exists() and _installed_version() == LITELLM_VERSION:
        return exe
    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", f"litellm[proxy]=={LITELLM_VERSION}"], check=True)
    return exe


def _installed_version() -> str:
    out = subprocess.run([str(VENV / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
                         capture_output=True, text=True)
    return out.stdout.strip()


def version() -> str:
    """The installed LiteLLM version (without importing LiteLLM itself, which takes seconds)."""
    return _installed_version()


def config_yaml(mock_url: str) -> str:
    """The proxy's config.yaml: one model routed to mock-upstream's OpenAI API, production settings, no database."""
    return f"""model_list:
  - model_name: {MODEL}
    litellm_params:
      model: {MODEL}
      api_base: {mock_url}/v1
      api_key: sk-bench

litellm_settings:
  set_verbose: False
  json_logs: true
  request_timeout: 600
  num_retries: 0
  callbacks: []
  turn_off_message_logging: True

router_settings:
  routing_strategy: simple-shuffle

general_settings:
  master_key: {MASTER_KEY}
  disable_spend_logs: True
  disable_error_logs: True
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(mock_url: str, work: Path, workers: int = 1) -> "tuple[subprocess.Popen[bytes], str, str, float]":
    """Starts the proxy; returns (process, base URL, bearer key, seconds until /health/liveliness answers 200)."""
    exe = ensure_installed()
    work.mkdir(parents=True, exist_ok=True)
    config = work / "litellm-config.yaml"
    config.write_text(config_yaml(mock_url))
    port = _free_port()
    args: List[str] = [str(exe), "--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--num_workers", str(workers)]
    log = open(work / "litellm.log", "wb")
    t0 = time.perf_counter()
    # Own session: stop() ends the supervisor and its worker processes together.
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=_env(), cwd=work, start_new_session=True)
    log.close()
    base = f"http://127.0.0.1:{port}"
    while time.perf_counter() - t0 < 180:
        if proc.poll() is not None:
            raise RuntimeError(f"litellm exited ({proc.returncode}):\n{(work / 'litellm.log').read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(f"{base}/health/liveliness", timeout=1) as r:
                if r.status == 200:
                    return proc, base, MASTER_KEY, time.perf_counter() - t0
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.05)
    stop(proc)
    raise RuntimeError("litellm did not answer /health/liveliness within 180 s")


def stop(proc: "subprocess.Popen[bytes]") -> None:
    """Stops the proxy and its worker processes (its own process group)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        except ProcessLookupError:
            pass
