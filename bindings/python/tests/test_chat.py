"""Chat, embeddings and models against mock-upstream: gateway protocol and direct mode."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
from typing import List

import pytest

import aihub
from aihub.types import ChatCompletion, ChatCompletionChunk

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}
HELLO = [{"role": "user", "content": "Hello there"}]


def direct_client(mock_url: str) -> aihub.Client:
    return aihub.Client(
        provider_keys={"openai": "sk-test", "anthropic": "sk-ant-test", "gemini": "g-test"},
        provider_base_urls={
            "openai": mock_url + "/v1",
            "anthropic": mock_url + "/v1",
            "gemini": mock_url + "/v1beta",
        },
        keys_from_env=False,
        max_retries=0,
    )


def test_non_stream_has_attribute_access_and_round_trips(mock_client: aihub.Client) -> None:
    r = mock_client.chat.completions.create(model="gpt-4o-mini@tokens=5", messages=HELLO)
    assert isinstance(r, ChatCompletion)
    assert r.object == "chat.completion"
    assert r.model == "gpt-4o-mini"
    assert r.choices[0].message.role == "assistant"
    assert len(r.choices[0].message.content.split()) == 5
    assert r.choices[0].finish_reason == "stop"
    assert r.choices[0].message.tool_calls is None
    assert r.usage is not None
    assert r.usage.completion_tokens == 5
    assert r.usage.total_tokens == r.usage.prompt_tokens + 5
    d = r.to_dict()
    assert d["choices"][0]["message"]["content"] == r.choices[0].message.content
    assert json.loads(r.to_json()) == d
    d["model"] = "changed"
    assert r.model == "gpt-4o-mini", "to_dict must return a copy"
    with pytest.raises(AttributeError):
        r.no_such_field  # noqa: B018


def test_unknown_parameters_reach_the_upstream(mock_client: aihub.Client) -> None:
    # Fields aihub does not name (here `metadata` and `logprobs`) are sent as given.
    r = mock_client.chat.completions.create(
        model="gpt-4o-mini", messages=HELLO, max_tokens=3, extra_body={"metadata": {"k": "v"}}, logprobs=False
    )
    assert r.choices[0].finish_reason == "length"
    assert r.usage is not None and r.usage.completion_tokens == 3


@pytest.mark.parametrize("model", ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash"])
def test_direct_mode_speaks_each_family(mock_url: str, model: str) -> None:
    client = direct_client(mock_url)
    assert not client.is_gateway
    r = client.chat.completions.create(model=model, messages=HELLO, max_tokens=50)
    assert r.model == model
    assert r.choices[0].message.content
    assert r.usage is not None and r.usage.completion_tokens == 8
    chunks = list(client.chat.completions.create(model=model, messages=HELLO, max_tokens=50, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == r.choices[0].message.content


def test_direct_mode_without_a_key_names_the_variable(mock_url: str) -> None:
    client = aihub.Client(keys_from_env=False, max_retries=0)
    with pytest.raises(aihub.AuthenticationError) as e:
        client.chat.completions.create(model="deepseek/deepseek-chat", messages=HELLO)
    assert "DEEPSEEK_API_KEY" in e.value.message


def test_sync_stream_matches_the_completion(mock_client: aihub.Client) -> None:
    full = mock_client.chat.completions.create(model="gpt-4o-mini@chunks=6", messages=HELLO)
    stream = mock_client.chat.completions.create(
        model="gpt-4o-mini@chunks=6", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks: List[ChatCompletionChunk] = list(stream)
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == full.choices[0].message.content
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.to_dict() == full.usage.to_dict()  # type: ignore[union-attr]
    assert stream.closed


def test_async_client_and_stream(mock_url: str) -> None:
    async def main() -> None:
        client = aihub.AsyncClient(api_key="sk-test", base_url=mock_url + "/v1", max_retries=0, keys_from_env=False)
        full = await client.chat.completions.create(model="gpt-4o-mini@chunks=5", messages=HELLO)
        stream = await client.chat.completions.create(model="gpt-4o-mini@chunks=5", messages=HELLO, stream=True)
        parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        assert "".join(parts) == full.choices[0].message.content
        # Many requests at once on one client.
        results = await asyncio.gather(
            *(client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"n{i}"}]) for i in range(20))
        )
        assert len({r.choices[0].message.content for r in results}) > 1
        models = await client.models.list()
        assert [m.id for m in models][:1] == [models.data[0].id]
        emb = await client.embeddings.create(model="text-embedding-3-small", input="alpha")
        assert len(emb.data[0].embedding) == 8

    asyncio.run(main())


def test_async_stream_closes_early(mock_url: str) -> None:
    async def main() -> None:
        client = aihub.AsyncClient(api_key="sk-test", base_url=mock_url + "/v1", max_retries=0, keys_from_env=False)
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with await client.chat.completions.create(
            model="gpt-4o-mini@tokens=100,chunks=100,tps=10", messages=HELLO, stream=True
        ) as stream:
            first = await stream.__anext__()
            assert first.choices[0].delta.role == "assistant"
        # A 10-second stream, left after its first chunk.
        assert loop.time() - started < 5
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()

    asyncio.run(main())


def test_sync_stream_closes_early(mock_client: aihub.Client) -> None:
    with mock_client.chat.completions.create(
        model="gpt-4o-mini@tokens=100,chunks=100,tps=10", messages=HELLO, stream=True
    ) as stream:
        next(stream)
        assert not stream.closed
    assert stream.closed
    assert list(stream) == []


def test_tool_calls_and_the_follow_up_turn(mock_client: aihub.Client) -> None:
    messages: list = [{"role": "user", "content": "What is the weather in Paris?"}]
    r = mock_client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL], tool_choice="required"
    )
    assert r.choices[0].finish_reason == "tool_calls"
    call = r.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "sample", "unit": "c"}
    # The returned message object goes straight back into the conversation.
    messages.append(r.choices[0].message)
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "18 C"})
    final = mock_client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL])
    assert final.choices[0].finish_reason == "stop"

    chunks = list(
        mock_client.chat.completions.create(
            model="gpt-4o-mini@chunks=4", messages=messages[:1], tools=[WEATHER_TOOL], tool_choice="required", stream=True
        )
    )
    deltas = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert deltas[0].id and deltas[0].type == "function"
    assert deltas[0].function is not None and deltas[0].function.name == "get_weather"
    args = "".join(d.function.arguments or "" for d in deltas if d.function)
    assert json.loads(args) == json.loads(call.function.arguments)


def test_response_format_json_schema(mock_client: aihub.Client) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    r = mock_client.chat.completions.create(
        model="gpt-4o-mini",
        messages=HELLO,
        response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
    )
    assert json.loads(r.choices[0].message.content or "") == {"answer": 42}


def test_embeddings_float_and_base64(mock_client: aihub.Client) -> None:
    f = mock_client.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"], dimensions=4)
    assert [e.index for e in f.data] == [0, 1]
    assert len(f.data[0].embedding) == 4
    assert f.usage is not None and f.usage.prompt_tokens == 2
    b = mock_client.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"], dimensions=4, encoding_format="base64")
    raw = base64.b64decode(b.data[0].embedding)  # type: ignore[arg-type]
    floats = struct.unpack("<4f", raw)
    assert floats == pytest.approx(f.data[0].embedding)


def test_models_list(mock_client: aihub.Client, mock_url: str) -> None:
    models = mock_client.models.list()
    assert len(models) > 0 and all(m.object == "model" for m in models)
    direct = direct_client(mock_url).models.list()
    ids = {m.id for m in direct}
    assert "openai/gpt-4o-mini" in ids and "anthropic/claude-sonnet-4-5" in ids
    assert not any(i.startswith("deepseek/") for i in ids), "only providers with a key are listed"
