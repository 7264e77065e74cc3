"""The official `openai` Python package against the AI Hub gateway."""

import base64
import struct
import time

import httpx
import openai
import pytest
from openai import OpenAI

from conftest import KEY, URL, api

MODEL = "mock/gpt-4o-mini"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_chat_non_stream(client):
    r = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hello!"}])
    assert r.object == "chat.completion"
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens > 0


@pytest.mark.parametrize("model", [MODEL, "mock-anthropic/claude-sonnet-4-5", "mock-gemini/gemini-2.5-flash"])
def test_every_upstream_family_through_one_sdk(client, model):
    r = client.chat.completions.create(
        model=model, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], max_tokens=50
    )
    assert r.choices[0].message.content
    assert r.usage.completion_tokens > 0


def test_stream_with_usage(client):
    stream = client.chat.completions.create(
        model=MODEL + "@chunks=12",
        messages=[{"role": "user", "content": "Stream please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text.split()) == 12
    assert chunks[0].choices[0].delta.role == "assistant"
    last = chunks[-1]
    assert last.choices == []
    assert last.usage.completion_tokens == 12


def test_stream_without_usage_shows_none(client):
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Stream please"}], stream=True
    )
    chunks = list(stream)
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_tool_calls_stream_and_not(client):
    messages = [{"role": "user", "content": "call get_weather for Hangzhou"}]
    r = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    assert r.choices[0].finish_reason == "tool_calls"
    call = r.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"

    stream = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL], stream=True)
    first = None
    args = ""
    for c in stream:
        for tc in (c.choices[0].delta.tool_calls or []) if c.choices else []:
            if first is None:
                first = tc
            args += tc.function.arguments or ""
    assert first.id and first.type == "function" and first.function.name == "get_weather"
    assert args.startswith("{") and args.endswith("}")

    # The tool result goes back; the model answers in text.
    messages += [r.choices[0].message.model_dump(exclude_none=True), {"role": "tool", "tool_call_id": call.id, "content": '{"temp": 21}'}]
    final = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content


def test_embeddings_default_base64_and_float(client):
    # The SDK asks for base64 by default and decodes it.
    r = client.embeddings.create(model="mock/text-embedding-3-small", input=["alpha", "beta"], dimensions=8)
    assert len(r.data) == 2 and len(r.data[0].embedding) == 8
    f = client.embeddings.create(model="mock/text-embedding-3-small", input="alpha", dimensions=8, encoding_format="float")
    assert f.data[0].embedding == pytest.approx(r.data[0].embedding)
    raw = httpx.post(
        URL + "/v1/embeddings",
        headers={"authorization": f"Bearer {KEY}"},
        json={"model": "mock/text-embedding-3-small", "input": "alpha", "dimensions": 8, "encoding_format": "base64"},
    ).json()
    floats = struct.unpack("<8f", base64.b64decode(raw["data"][0]["embedding"]))
    assert list(floats) == pytest.approx(f.data[0].embedding)


def test_models_list(client):
    models = client.models.list()
    ids = [m.id for m in models.data]
    assert MODEL in ids
    m = next(m for m in models.data if m.id == MODEL)
    assert m.owned_by == "mock"
    assert m.model_extra["pricing"]["input"] == "0.15"


def test_unknown_key_is_authentication_error():
    bad = OpenAI(base_url=URL + "/v1", api_key="ai-hub-nonsense", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as e:
        bad.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert e.value.status_code == 401
    assert e.value.code == "invalid_api_key"


def test_revoked_key_fails_at_once(user):
    token, key = user
    c = OpenAI(base_url=URL + "/v1", api_key=key, max_retries=0)
    c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    _, keys = api("GET", "/api/v1/auth/api-keys", bearer=token)
    status, _ = api("DELETE", f"/api/v1/auth/api-keys/{keys['data'][0]['id']}", bearer=token)
    assert status == 200
    with pytest.raises(openai.AuthenticationError) as e:
        c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert e.value.code == "api_key_revoked"


def test_expired_key(user):
    token, _ = user
    soon = int(time.time()) + 2
    status, created = api("POST", "/api/v1/auth/api-keys", {"name": "brief", "expires_at": soon}, token)
    assert status == 201
    c = OpenAI(base_url=URL + "/v1", api_key=created["key"], max_retries=0)
    c.models.list()
    time.sleep(2.5)
    with pytest.raises(openai.AuthenticationError) as e:
        c.models.list()
    assert e.value.code == "api_key_expired"


def test_unknown_model_is_not_found(client):
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="nosuch/model", messages=[{"role": "user", "content": "hi"}])
    assert e.value.code == "model_not_found"
    assert e.value.param == "model"


def test_invalid_field_names_the_field(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], temperature="hot")
    assert e.value.param == "temperature"


def test_malformed_json_is_400():
    r = httpx.post(
        URL + "/v1/chat/completions",
        headers={"authorization": f"Bearer {KEY}", "content-type": "application/json"},
        content=b'{"model": "mock/gpt-4o-mini", "messages": [',
    )
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error"


def test_body_over_the_limit_is_413(client):
    with pytest.raises(openai.APIStatusError) as e:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x" * 200_000}])
    assert e.value.status_code == 413


def test_upstream_error_is_502_with_the_providers_message(client):
    with pytest.raises(openai.InternalServerError) as e:
        client.chat.completions.create(model=MODEL + "@status=500", messages=[{"role": "user", "content": "hi"}])
    assert e.value.status_code == 502
    assert e.value.message


def test_upstream_timeout_is_504(client):
    with pytest.raises(openai.InternalServerError) as e:
        client.chat.completions.create(model=MODEL + "@latency_ms=5000", messages=[{"role": "user", "content": "hi"}])
    assert e.value.status_code == 504


def test_usage_is_recorded(user):
    token, key = user
    c = OpenAI(base_url=URL + "/v1", api_key=key, max_retries=0)
    c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "count me"}])
    status, current = api("GET", "/api/v1/usage/current", bearer=token)
    assert status == 200
    assert current["requests"] == 1
    assert current["cost"][0]["currency"] == "USD"
