"""Every exception class, retries, timeouts, Ctrl-C and sharing a client across threads."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid

import pytest

import aihub

HI = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("knobs", "cls", "status", "code"),
    [
        ("status=400", aihub.BadRequestError, 400, None),
        ("status=403", aihub.PermissionDeniedError, 403, None),
        ("status=404", aihub.NotFoundError, 404, None),
        ("status=413", aihub.RequestTooLargeError, 413, None),
        ("status=429,retry_after=7", aihub.RateLimitError, 429, None),
        ("status=500", aihub.InternalServerError, 500, None),
        ("status=503", aihub.InternalServerError, 503, None),
    ],
)
def test_status_maps_to_class(mock_client: aihub.Client, knobs: str, cls: type, status: int, code: object) -> None:
    with pytest.raises(cls) as info:
        mock_client.chat.completions.create(model=f"gpt-4o-mini@{knobs}", messages=HI)
    e = info.value
    assert isinstance(e, aihub.APIError)
    assert e.status_code == status
    assert e.message
    assert e.request_id, "the client's request id is attached"
    if cls is aihub.RateLimitError:
        assert e.retry_after == 7.0
        assert e.code == "rate_limit_exceeded"


def test_content_filter_error(mock_client: aihub.Client) -> None:
    with pytest.raises(aihub.ContentFilterError) as e:
        mock_client.chat.completions.create(model="gpt-4o-mini@content_filter=1", messages=HI)
    assert isinstance(e.value, aihub.BadRequestError)
    assert e.value.status_code == 400 and e.value.code == "content_filter" and e.value.param == "prompt"


def test_authentication_error(mock_url: str) -> None:
    client = aihub.Client(api_key="bad-key", base_url=mock_url + "/v1", max_retries=0, keys_from_env=False)
    with pytest.raises(aihub.AuthenticationError) as e:
        client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert e.value.status_code == 401 and e.value.code == "invalid_api_key"


def test_bad_request_is_refused_before_sending(mock_client: aihub.Client) -> None:
    with pytest.raises(aihub.BadRequestError) as e:
        mock_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "robot", "content": "hi"}])
    assert e.value.param == "messages[0].role"
    with pytest.raises(aihub.BadRequestError) as e:
        mock_client.chat.completions.create(model="gpt-4o-mini", messages=HI, temperature=7)
    assert e.value.param == "temperature"
    with pytest.raises(aihub.BadRequestError):
        mock_client.chat.completions.create(model="gpt-4o-mini", messages=[])
    with pytest.raises(TypeError):
        mock_client.chat.completions.create(model="gpt-4o-mini", messages=HI, extra_headers={"a": "b"})


def test_timeout(mock_client: aihub.Client) -> None:
    started = time.monotonic()
    with pytest.raises(aihub.APITimeoutError) as e:
        mock_client.chat.completions.create(model="gpt-4o-mini@latency_ms=5000", messages=HI, timeout=0.3)
    assert time.monotonic() - started < 3
    assert e.value.status_code is None


def test_connection_error() -> None:
    client = aihub.Client(api_key="sk", base_url="http://127.0.0.1:9/v1", max_retries=0, keys_from_env=False)
    with pytest.raises(aihub.APIConnectionError) as e:
        client.models.list()
    assert e.value.status_code is None


def test_invalid_response_and_broken_streams(mock_client: aihub.Client) -> None:
    with pytest.raises(aihub.InvalidResponseError):
        mock_client.chat.completions.create(model="gpt-4o-mini@malformed=0", messages=HI)
    stream = mock_client.chat.completions.create(model="gpt-4o-mini@drop_after=2", messages=HI, stream=True)
    got = []
    with pytest.raises(aihub.APIError):
        for chunk in stream:
            got.append(chunk)
    assert len(got) >= 2, "chunks before the break are delivered"
    with pytest.raises(aihub.InternalServerError):
        list(mock_client.chat.completions.create(model="gpt-4o-mini@error_event=1", messages=HI, stream=True))


def test_configuration_error() -> None:
    with pytest.raises(aihub.ConfigurationError):
        aihub.Client(base_url="http://127.0.0.1:8080/v1", keys_from_env=False)
    with pytest.raises(aihub.ConfigurationError):
        aihub.Client(api_key="sk", base_url="http://x/v1", timeout=-1)


def test_retries_follow_max_retries(mock_url: str) -> None:
    def client(retries: int) -> aihub.Client:
        return aihub.Client(
            api_key="sk",
            base_url=mock_url + "/v1",
            max_retries=retries,
            keys_from_env=False,
            default_headers={"x-mock-id": uuid.uuid4().hex},
        )

    model = "gpt-4o-mini@fail_times=2,status=503,retry_after=0"
    assert client(2).chat.completions.create(model=model, messages=HI).choices[0].message.content
    with pytest.raises(aihub.InternalServerError):
        client(1).chat.completions.create(model=model, messages=HI)
    # A per-call setting wins over the client's.
    assert client(0).chat.completions.create(model=model, messages=HI, max_retries=2).choices
    # Fallback models take over when the first one keeps failing.
    r = client(0).chat.completions.create(model="gpt-4o-mini@status=503", messages=HI, fallback_models=["gpt-4o-mini"])
    assert r.model == "gpt-4o-mini"


def test_ctrl_c_interrupts_a_blocking_call(mock_url: str) -> None:
    # The child installs Python's own Ctrl-C handler: one started in the background by a
    # non-interactive shell inherits SIGINT ignored, and Python then leaves it ignored.
    script = f"""
import signal, sys, time, aihub
signal.signal(signal.SIGINT, signal.default_int_handler)
c = aihub.Client(api_key="sk", base_url="{mock_url}/v1", max_retries=0, keys_from_env=False)
print("calling", flush=True)
t = time.monotonic()
try:
    c.chat.completions.create(model="gpt-4o-mini@latency_ms=20000", messages=[{{"role": "user", "content": "hi"}}])
except KeyboardInterrupt:
    print(f"interrupted after {{time.monotonic() - t:.2f}}s", flush=True)
    sys.exit(3)
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "calling"
    time.sleep(0.5)
    proc.send_signal(2)  # SIGINT, as Ctrl-C sends
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 3, out
    assert float(out.split()[2].rstrip("s")) < 2.0


def test_one_client_many_threads_with_the_gil_released(mock_client: aihub.Client) -> None:
    errors: list = []
    results: list = []

    def worker(i: int) -> None:
        try:
            for j in range(5):
                r = mock_client.chat.completions.create(
                    model="gpt-4o-mini@latency_ms=100", messages=[{"role": "user", "content": f"{i}-{j}"}]
                )
                results.append(r.choices[0].message.content)
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    ticks = 0
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    started = time.monotonic()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        ticks += 1  # pure-Python work: runs only while the calls have let go of the GIL
    elapsed = time.monotonic() - started
    assert errors == []
    assert len(results) == 40
    # 8 threads x 5 calls x 100 ms: in parallel about 0.5 s, serially 4 s.
    assert elapsed < 3.0
    assert ticks > 10_000
