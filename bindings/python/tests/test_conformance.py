"""The conformance vectors of tests/conformance, run through the Python SDK (sync and asyncio).

The Rust, Node and WASM suites run the same files; see tests/conformance/README.md.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List

import pytest

import aihub

VECTORS = Path(__file__).resolve().parents[3] / "tests" / "conformance"
IDS = sorted(f"{p.parent.name}/{p.stem}" for p in VECTORS.glob("*/*.json"))


def load(vector_id: str) -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads((VECTORS / f"{vector_id}.json").read_text())
    return data


def error_json(e: aihub.APIError) -> Dict[str, Any]:
    """The error as the vectors describe it: only the fields that have a value."""
    fields = {
        "class": type(e).__name__,
        "message": e.message,
        "status": e.status_code,
        "code": e.code,
        "type": e.type,
        "param": e.param,
        "requestId": e.request_id,
        "provider": e.provider,
        "retryAfter": getattr(e, "retry_after", None),
    }
    return {k: v for k, v in fields.items() if v is not None}


def remove_path(value: Any, path: List[str]) -> None:
    """Removes the field at a dotted path (``*`` matches every element or key)."""
    if not path:
        return
    first, rest = path[0], path[1:]
    if isinstance(value, dict):
        if not rest:
            value.pop(first, None)
        elif first == "*":
            for v in value.values():
                remove_path(v, rest)
        elif first in value:
            remove_path(value[first], rest)
    elif isinstance(value, list) and first == "*":
        for v in value:
            remove_path(v, rest)


def normalize(outcome: Dict[str, Any], ignore: List[str]) -> Dict[str, Any]:
    items = [outcome["result"]] if "result" in outcome else list(outcome.get("chunks", []))
    for item in items:
        for path in ignore:
            remove_path(item, path.split("."))
    return outcome


def client_for(kind: type, mock_url: str, vector_id: str, vector: Dict[str, Any]) -> Any:
    provider = vector["provider"]
    return kind(
        provider_keys={provider: vector.get("api_key", "test-key")},
        provider_base_urls={provider: f"{mock_url}/conformance/{vector_id}"},
        keys_from_env=False,
        max_retries=0,
    )


def run_sync(mock_url: str, vector_id: str, vector: Dict[str, Any]) -> Dict[str, Any]:
    client = client_for(aihub.Client, mock_url, vector_id, vector)
    call, request = vector["call"], vector.get("request", {})
    try:
        if call == "chat":
            return {"result": client.chat.completions.create(**{**request, "stream": False}).to_dict()}
        if call == "embeddings":
            return {"result": client.embeddings.create(**request).to_dict()}
        assert call == "chat_stream", call
        chunks: List[Dict[str, Any]] = []
        try:
            for chunk in client.chat.completions.create(**{**request, "stream": True}):
                chunks.append(chunk.to_dict())
        except aihub.APIError as e:
            if not chunks:
                raise
            return {"chunks": chunks, "error": error_json(e)}
        return {"chunks": chunks}
    except aihub.APIError as e:
        return {"error": error_json(e)}


async def run_async(mock_url: str, vector_id: str, vector: Dict[str, Any]) -> Dict[str, Any]:
    client = client_for(aihub.AsyncClient, mock_url, vector_id, vector)
    call, request = vector["call"], vector.get("request", {})
    try:
        if call == "chat":
            r = await client.chat.completions.create(**{**request, "stream": False})
            return {"result": r.to_dict()}
        if call == "embeddings":
            return {"result": (await client.embeddings.create(**request)).to_dict()}
        chunks: List[Dict[str, Any]] = []
        try:
            async for chunk in await client.chat.completions.create(**{**request, "stream": True}):
                chunks.append(chunk.to_dict())
        except aihub.APIError as e:
            if not chunks:
                raise
            return {"chunks": chunks, "error": error_json(e)}
        return {"chunks": chunks}
    except aihub.APIError as e:
        return {"error": error_json(e)}


def test_every_vector_is_here() -> None:
    assert len(IDS) >= 40, IDS


@pytest.mark.parametrize("vector_id", IDS)
def test_vector_sync(mock_url: str, vector_id: str) -> None:
    vector = load(vector_id)
    got = normalize(run_sync(mock_url, vector_id, vector), vector.get("ignore", []))
    assert got == vector["expect"]


@pytest.mark.parametrize("vector_id", IDS)
def test_vector_asyncio(mock_url: str, vector_id: str) -> None:
    vector = load(vector_id)
    got = normalize(asyncio.run(run_async(mock_url, vector_id, vector)), vector.get("ignore", []))
    assert got == vector["expect"]


def test_token_vectors() -> None:
    cases = json.loads((VECTORS / "tokens.json").read_text())
    assert len(cases) >= 5
    for case in cases:
        text_or_messages = case["messages"] if "messages" in case else case["text"]
        assert aihub.count_tokens(case["model"], text_or_messages) == case["tokens"], case


def test_cost_vectors() -> None:
    cases = json.loads((VECTORS / "costs.json").read_text())
    assert len(cases) >= 5
    for case in cases:
        usage = case["usage"]
        kwargs = {
            "prompt_tokens": usage["promptTokens"],
            "completion_tokens": usage.get("completionTokens", 0),
            "cached_tokens": usage.get("cachedTokens", 0),
            "cache_write_tokens": usage.get("cacheWriteTokens", 0),
            "cache_write_1h_tokens": usage.get("cacheWrite1hTokens", 0),
        }
        want = case["cost"]
        if isinstance(want, dict) and "error" in want:
            with pytest.raises(aihub.APIError) as raised:
                aihub.estimate_cost(case["model"], **kwargs)
            assert type(raised.value).__name__ == want["error"]
            continue
        got = aihub.estimate_cost(case["model"], **kwargs)
        if want is None:
            assert got is None, case
            continue
        info = aihub.catalog_model(case["model"])
        assert info is not None and info.price is not None
        assert (str(got), info.price.currency) == (want["amount"], want["currency"]), case
        assert got == Decimal(want["amount"])
