"""aihub against a running aihub-server: chat, streams, cancellation and the gateway's refusals."""

from __future__ import annotations

import asyncio
import time

import pytest

import aihub
from conftest import Gateway

HI = [{"role": "user", "content": "hi"}]


def client_for(gateway: Gateway, key: str) -> aihub.Client:
    return aihub.Client(api_key=key, base_url=gateway.base_url, max_retries=0, keys_from_env=False)


@pytest.mark.parametrize("model", ["mock/gpt-4o-mini", "mock-anthropic/claude-sonnet-4-5", "mock-gemini/gemini-2.5-flash"])
def test_chat_and_stream_through_the_gateway(gateway_client: aihub.Client, model: str) -> None:
    assert gateway_client.is_gateway
    r = gateway_client.chat.completions.create(model=model, messages=HI, max_tokens=50)
    assert r.choices[0].message.content and r.usage is not None
    chunks = list(
        gateway_client.chat.completions.create(
            model=model, messages=HI, max_tokens=50, stream=True, stream_options={"include_usage": True}
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == r.choices[0].message.content
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == r.usage.total_tokens


def test_embeddings_and_models_through_the_gateway(gateway_client: aihub.Client) -> None:
    e = gateway_client.embeddings.create(model="mock/text-embedding-3-small", input=["a", "b"], dimensions=8)
    assert len(e.data) == 2 and len(e.data[0].embedding) == 8
    ids = [m.id for m in gateway_client.models.list()]
    assert "mock/gpt-4o-mini" in ids


def test_closing_a_stream_cancels_it_at_the_gateway(gateway: Gateway) -> None:
    key, key_id = gateway.new_key()
    client = client_for(gateway, key)
    stream = client.chat.completions.create(model="mock/gpt-4o-mini@tokens=200,chunks=200,tps=20", messages=HI, stream=True)
    next(stream)
    stream.close()
    # The gateway sees the client leave and records the request as cancelled (499).
    deadline = time.monotonic() + 10
    records: list = []
    while time.monotonic() < deadline:
        _, history = gateway.api("GET", "usage/history", bearer=key)
        records = history["data"]
        if records:
            break
        time.sleep(0.1)
    assert len(records) == 1, records
    assert records[0]["status"] == 499
    assert records[0]["completion_tokens"] < 200


def test_async_early_close_cancels_too(gateway: Gateway) -> None:
    key, _ = gateway.new_key()

    async def main() -> None:
        client = aihub.AsyncClient(api_key=key, base_url=gateway.base_url, max_retries=0, keys_from_env=False)
        stream = await client.chat.completions.create(
            model="mock/gpt-4o-mini@tokens=200,chunks=200,tps=20", messages=HI, stream=True
        )
        await stream.__anext__()
        await stream.aclose()

    asyncio.run(main())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        _, history = gateway.api("GET", "usage/history", bearer=key)
        if history["data"]:
            break
        time.sleep(0.1)
    assert [r["status"] for r in history["data"]] == [499]


def test_gateway_refusals_raise_the_matching_class(gateway: Gateway) -> None:
    with pytest.raises(aihub.AuthenticationError) as auth:
        client_for(gateway, "ai-hub-not-a-real-key").chat.completions.create(model="mock/gpt-4o-mini", messages=HI)
    assert auth.value.status_code == 401 and auth.value.request_id

    client = client_for(gateway, gateway.key)
    with pytest.raises(aihub.NotFoundError):
        client.chat.completions.create(model="nosuch/model", messages=HI)
    with pytest.raises(aihub.RequestTooLargeError) as big:
        client.chat.completions.create(model="mock/gpt-4o-mini", messages=[{"role": "user", "content": "x" * 100_000}])
    assert big.value.status_code == 413
    with pytest.raises(aihub.InternalServerError) as upstream:
        client.chat.completions.create(model="mock/gpt-4o-mini@status=500", messages=HI)
    assert upstream.value.status_code == 502


def test_rate_limit_error_carries_retry_after(gateway: Gateway) -> None:
    key, _ = gateway.new_key(plan="free")  # 10 requests per minute
    client = client_for(gateway, key)
    with pytest.raises(aihub.RateLimitError) as e:
        for _ in range(11):
            client.chat.completions.create(model="mock/gpt-4o-mini", messages=HI, max_tokens=5)
    assert e.value.status_code == 429
    assert e.value.code == "rate_limit_exceeded"
    assert e.value.retry_after is not None and 0 < e.value.retry_after <= 6.5


def test_insufficient_quota_when_the_budget_is_spent(gateway: Gateway) -> None:
    key, key_id = gateway.new_key()
    status, body = gateway.api("PUT", f"admin/api-keys/{key_id}/budget", {"hard_limit": "0.000001", "currency": "USD"})
    assert status == 200, body
    client = client_for(gateway, key)
    with pytest.raises(aihub.InsufficientQuotaError) as e:
        client.chat.completions.create(model="mock/gpt-4o-mini", messages=HI)
    assert e.value.status_code == 429 and e.value.code == "insufficient_quota"
    assert not isinstance(e.value, aihub.RateLimitError), "retrying cannot fix a spent budget"
