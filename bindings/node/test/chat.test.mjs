// Chat, streams, cancellation, embeddings, models and tool calls against mock-upstream,
// through the gateway protocol and in direct mode for each wire family.

import assert from "node:assert/strict";
import { test } from "node:test";

import { APIUserAbortError, Client, Stream } from "../dist/node/src/index.js";
import { HI, mockClient, mockUrl, thrown } from "./fixtures.mjs";

const HELLO = [{ role: "user", content: "Hello there" }];
const WEATHER_TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather in a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } },
      required: ["city"],
    },
  },
};

async function directClient() {
  const url = await mockUrl();
  return new Client({
    providerKeys: { openai: "sk-test", anthropic: "sk-ant-test", gemini: "g-test" },
    providerBaseURLs: { openai: `${url}/v1`, anthropic: `${url}/v1`, gemini: `${url}/v1beta` },
    keysFromEnv: false,
    maxRetries: 0,
  });
}

test("a non-stream completion has OpenAI's shape and honest usage", async () => {
  const client = await mockClient();
  assert.equal(client.isGateway, true);
  const r = await client.chat.completions.create({ model: "gpt-4o-mini@tokens=5", messages: HELLO });
  assert.equal(r.object, "chat.completion");
  assert.equal(r.model, "gpt-4o-mini");
  assert.equal(r.choices[0].message.role, "assistant");
  assert.equal(r.choices[0].message.content.split(" ").length, 5);
  assert.equal(r.choices[0].finish_reason, "stop");
  assert.equal(r.usage.completion_tokens, 5);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + 5);
  // Fields aihub does not name reach the upstream; max_tokens truncates.
  const short = await client.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO, max_tokens: 3, metadata: { k: "v" } });
  assert.equal(short.choices[0].finish_reason, "length");
  assert.equal(short.usage.completion_tokens, 3);
});

test("a stream read with for await matches the completion, usage last", async () => {
  const client = await mockClient();
  const full = await client.chat.completions.create({ model: "gpt-4o-mini@chunks=6", messages: HELLO });
  const stream = await client.chat.completions.create({
    model: "gpt-4o-mini@chunks=6",
    messages: HELLO,
    stream: true,
    stream_options: { include_usage: true },
  });
  assert.ok(stream instanceof Stream);
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.equal(chunks[0].object, "chat.completion.chunk");
  assert.equal(chunks[0].choices[0].delta.role, "assistant");
  const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
  assert.equal(text, full.choices[0].message.content);
  const finish = chunks.flatMap((c) => (c.choices[0]?.finish_reason ? [c.choices[0].finish_reason] : []));
  assert.deepEqual(finish, ["stop"]);
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.deepEqual(last.usage, full.usage);
  await assert.rejects(async () => {
    for await (const _ of stream) break;
  }, /consumed/);
});

test("many calls at once on one client", async () => {
  const client = await mockClient();
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      client.chat.completions.create({ model: "gpt-4o-mini@latency_ms=100", messages: [{ role: "user", content: `n${i}` }] }),
    ),
  );
  assert.ok(new Set(results.map((r) => r.choices[0].message.content)).size > 1);
});

test("leaving a for await early stops a slow stream at once", async () => {
  const client = await mockClient();
  const started = Date.now();
  const stream = await client.chat.completions.create({
    model: "gpt-4o-mini@tokens=100,chunks=100,tps=10",
    messages: HELLO,
    stream: true,
  });
  let n = 0;
  for await (const chunk of stream) {
    assert.equal(chunk.choices[0].delta.role, "assistant");
    n += 1;
    break;
  }
  assert.equal(n, 1);
  // A 10-second stream, left after its first chunk.
  assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
});

test("an AbortSignal aborts a non-stream call promptly", async () => {
  const client = await mockClient();
  const controller = new AbortController();
  const started = Date.now();
  setTimeout(() => controller.abort(), 200);
  const e = await thrown(() =>
    client.chat.completions.create({ model: "gpt-4o-mini@latency_ms=10000", messages: HI }, { signal: controller.signal }),
  );
  assert.ok(e instanceof APIUserAbortError, String(e));
  assert.equal(e.name, "APIUserAbortError");
  assert.equal(e.status, undefined);
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  // An already aborted signal refuses at once.
  const again = await thrown(() => client.models.list({ signal: controller.signal }));
  assert.ok(again instanceof APIUserAbortError);
});

test("an AbortSignal aborts a stream before and after it starts", async () => {
  const client = await mockClient();
  // Before the headers: the pending create rejects.
  const early = new AbortController();
  setTimeout(() => early.abort(), 200);
  const e1 = await thrown(() =>
    client.chat.completions.create({ model: "gpt-4o-mini@latency_ms=10000", messages: HI, stream: true }, { signal: early.signal }),
  );
  assert.ok(e1 instanceof APIUserAbortError, String(e1));
  // While chunks flow: the for await rejects, long before the stream's 10 s.
  const late = new AbortController();
  const started = Date.now();
  const stream = await client.chat.completions.create(
    { model: "gpt-4o-mini@tokens=100,chunks=100,tps=10", messages: HI, stream: true },
    { signal: late.signal },
  );
  const got = [];
  const e2 = await thrown(async () => {
    for await (const chunk of stream) {
      got.push(chunk);
      if (got.length === 2) setTimeout(() => late.abort(), 10);
    }
  });
  assert.ok(e2 instanceof APIUserAbortError, String(e2));
  assert.ok(got.length >= 2 && got.length < 50, `${got.length} chunks`);
  assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
});

test("stream.controller.abort() ends a pending read", async () => {
  const client = await mockClient();
  const stream = await client.chat.completions.create({
    model: "gpt-4o-mini@ttft_ms=10000",
    messages: HI,
    stream: true,
  });
  const started = Date.now();
  setTimeout(() => stream.controller.abort(), 200);
  const e = await thrown(async () => {
    for await (const _ of stream) assert.fail("no chunk was due");
  });
  assert.ok(e instanceof APIUserAbortError, String(e));
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
});

test("a model calls a tool, streamed and not", async () => {
  const client = await mockClient();
  const messages = [{ role: "user", content: "weather in Paris?" }];
  const r = await client.chat.completions.create({
    model: "gpt-4o-mini",
    messages,
    tools: [WEATHER_TOOL],
    tool_choice: { type: "function", function: { name: "get_weather" } },
  });
  assert.equal(r.choices[0].finish_reason, "tool_calls");
  const [call] = r.choices[0].message.tool_calls;
  assert.equal(call.type, "function");
  assert.equal(call.function.name, "get_weather");
  assert.deepEqual(JSON.parse(call.function.arguments), { city: "sample", unit: "c" });
  const stream = await client.chat.completions.create({ model: "gpt-4o-mini", messages, tools: [WEATHER_TOOL], tool_choice: "required", stream: true });
  const deltas = [];
  for await (const chunk of stream) deltas.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
  assert.ok(deltas[0].id);
  assert.equal(deltas[0].type, "function");
  assert.equal(deltas[0].function.name, "get_weather");
  assert.deepEqual(JSON.parse(deltas.map((d) => d.function?.arguments ?? "").join("")), { city: "sample", unit: "c" });
  // The follow-up turn with the tool's answer.
  const final = await client.chat.completions.create({
    model: "gpt-4o-mini",
    messages: [...messages, r.choices[0].message, { role: "tool", tool_call_id: call.id, content: '{"temp_c": 21}' }],
    tools: [WEATHER_TOOL],
  });
  assert.ok(final.choices[0].message.content);
});

test("embeddings and the model list", async () => {
  const client = await mockClient();
  const e = await client.embeddings.create({ model: "text-embedding-3-small", input: ["alpha", "beta"], dimensions: 8 });
  assert.equal(e.object, "list");
  assert.equal(e.data.length, 2);
  assert.equal(e.data[0].embedding.length, 8);
  const norm = Math.hypot(...e.data[0].embedding);
  assert.ok(Math.abs(norm - 1) < 1e-5);
  assert.ok(e.usage.prompt_tokens > 0);
  const models = await client.models.list();
  assert.equal(models.object, "list");
  assert.ok(models.data.length > 0 && typeof models.data[0].id === "string");
});

for (const model of ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash"]) {
  test(`direct mode speaks ${model.split("/")[0]}'s wire format`, async () => {
    const client = await directClient();
    assert.equal(client.isGateway, false);
    const r = await client.chat.completions.create({ model, messages: HELLO, max_tokens: 50 });
    assert.equal(r.model, model);
    assert.ok(r.choices[0].message.content);
    assert.equal(r.usage.completion_tokens, 8);
    const stream = await client.chat.completions.create({ model, messages: HELLO, max_tokens: 50, stream: true });
    const chunks = await stream.toArray();
    assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? "").join(""), r.choices[0].message.content);
  });
}
