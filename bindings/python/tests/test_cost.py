"""Through the gateway: what a request cost (``usage.cost``, equal to its usage record) and
which limit refused a request (``APIError.limit``)."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any, Dict, List

import pytest

import aihub
from conftest import MODEL, Gateway

HI = [{"role": "user", "content": "hi"}]


def client_for(gateway: Gateway, key: str) -> aihub.Client:
    return aihub.Client(api_key=key, base_url=gateway.base_url, max_retries=0, keys_from_env=False)


def records(gateway: Gateway, key: str, count: int) -> List[Dict[str, Any]]:
    """The usage records of ``key`` (newest first), waiting up to 10 s for ``count`` of them."""
    deadline = time.monotonic() + 10
    while True:
        status, history = gateway.api("GET", "usage/history", bearer=key)
        assert status == 200, history
        data: List[Dict[str, Any]] = history["data"]
        if len(data) >= count or time.monotonic() > deadline:
            assert len(data) == count, data
            return data
        time.sleep(0.1)


def test_usage_cost_is_the_recorded_cost(gateway: Gateway) -> None:
    # A fresh key, so that its records are the ones of this test's requests.
    key, _ = gateway.new_key()
    client = client_for(gateway, key)

    r = client.chat.completions.create(model=MODEL, messages=HI, max_tokens=20)
    assert r.usage is not None
    assert isinstance(r.usage.cost, Decimal), repr(r.usage.cost)
    assert r.usage.cost > 0 and r.usage.cost_currency == "USD"
    assert r.usage.estimated is None, "mock-upstream reports its usage"
    [record] = records(gateway, key, 1)
    assert record["status"] == 200
    assert Decimal(record["cost"]) == r.usage.cost and record["currency"] == r.usage.cost_currency
    assert record["prompt_tokens"] == r.usage.prompt_tokens
    assert record["completion_tokens"] == r.usage.completion_tokens

    chunks = list(
        client.chat.completions.create(
            model=MODEL, messages=HI, max_tokens=20, stream=True, stream_options={"include_usage": True}
        )
    )
    usage = chunks[-1].usage
    assert usage is not None and isinstance(usage.cost, Decimal)
    newest = records(gateway, key, 2)[0]
    assert newest["stream"] is True
    assert Decimal(newest["cost"]) == usage.cost and newest["currency"] == usage.cost_currency


def test_async_usage_cost_is_a_decimal(gateway: Gateway) -> None:
    key, _ = gateway.new_key()

    async def main() -> Any:
        client = aihub.AsyncClient(api_key=key, base_url=gateway.base_url, max_retries=0, keys_from_env=False)
        return await client.chat.completions.create(model=MODEL, messages=HI, max_tokens=20)

    r = asyncio.run(main())
    [record] = records(gateway, key, 1)
    assert isinstance(r.usage.cost, Decimal) and r.usage.cost == Decimal(record["cost"])


def test_a_spent_budget_names_its_limit(gateway: Gateway) -> None:
    key, key_id = gateway.new_key()
    status, body = gateway.api("PUT", f"admin/api-keys/{key_id}/budget", {"hard_limit": "0.000001", "currency": "USD"})
    assert status == 200, body
    client = client_for(gateway, key)
    with pytest.raises(aihub.InsufficientQuotaError) as e:
        client.chat.completions.create(model=MODEL, messages=HI)
    assert e.value.limit == "budget.api_key.monthly", e.value


def test_a_key_rate_limit_names_its_limit(gateway: Gateway) -> None:
    key, key_id = gateway.new_key()
    status, body = gateway.api(
        "PUT", f"admin/api-keys/{key_id}/limits", {"rpm_limit": 1, "tpm_limit": None, "max_concurrent": None}
    )
    assert status == 200, body
    client = client_for(gateway, key)
    client.chat.completions.create(model=MODEL, messages=HI, max_tokens=5)
    with pytest.raises(aihub.RateLimitError) as e:
        client.chat.completions.create(model=MODEL, messages=HI, max_tokens=5)
    assert e.value.limit == "key.rpm", e.value
    with pytest.raises(aihub.RateLimitError) as streamed:
        list(client.chat.completions.create(model=MODEL, messages=HI, max_tokens=5, stream=True))
    assert streamed.value.limit == "key.rpm", streamed.value


def test_errors_that_no_limit_caused_have_no_limit(gateway: Gateway) -> None:
    with pytest.raises(aihub.AuthenticationError) as e:
        client_for(gateway, "ai-hub-not-a-real-key").chat.completions.create(model=MODEL, messages=HI)
    assert e.value.limit is None
    assert aihub.APIError("made here").limit is None
