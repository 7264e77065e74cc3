// The slim build straight to providers (mock-upstream speaking OpenAI, Anthropic and Gemini).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { AuthenticationError, Client, ConfigurationError, NotFoundError } from "aihub-wasm";

import { startMock } from "../processes.mjs";

const HI = [{ role: "user", content: "Say hi" }];
let mock;
let client;

before(async () => {
  mock = await startMock();
  client = new Client({
    providerKeys: { openai: "sk-test", anthropic: "sk-ant-test", gemini: "g-test" },
    providerBaseURLs: {
      openai: `${mock.url}/v1`,
      anthropic: `${mock.url}/v1`,
      gemini: `${mock.url}/v1beta`,
    },
    maxRetries: 0,
  });
});
after(async () => {
  await mock?.stop();
});

for (const model of ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash"]) {
  test(`direct ${model}: create and stream agree`, async () => {
    assert.equal(client.isGateway, false);
    const r = await client.chat.completions.create({ model, messages: HI, max_tokens: 100 });
    assert.equal(r.model, model);
    const text = r.choices[0].message.content;
    assert.equal(text.split(" ").length, 8);
    assert.equal(r.usage.completion_tokens, 8);
    let streamed = "";
    const stream = await client.chat.completions.create({ model, messages: HI, max_tokens: 100, stream: true });
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.delta?.content ?? "";
    }
    assert.equal(streamed, text);
  });
}

test("direct errors come from the provider's answer", async () => {
  const bad = new Client({
    providerKeys: { openai: "bad-key" },
    providerBaseURLs: { openai: `${mock.url}/v1` },
    maxRetries: 0,
  });
  const e = await bad.chat.completions.create({ model: "openai/gpt-4o-mini", messages: HI }).then(() => null, (x) => x);
  assert.ok(e instanceof AuthenticationError, String(e));
  assert.equal(e.status, 401);
  assert.equal(e.code, "invalid_api_key");
  assert.equal(e.provider, "openai");
  assert.ok(e.requestId);

  const unknown = await client.chat.completions.create({ model: "nosuch/model", messages: HI }).then(() => null, (x) => x);
  assert.ok(unknown instanceof NotFoundError || unknown instanceof ConfigurationError, String(unknown));
});

test("bad client settings are a ConfigurationError naming the field", () => {
  assert.throws(() => new Client({ timeout: -5 }), (e) => e instanceof ConfigurationError && /timeout/.test(e.message));
});

test("per-call timeout ends a slow call as APITimeoutError", async () => {
  const { APITimeoutError } = await import("aihub-wasm");
  const started = Date.now();
  const e = await client.chat.completions
    .create({ model: "openai/gpt-4o-mini@latency_ms=3000", messages: HI }, { timeout: 300, maxRetries: 0 })
    .then(() => null, (x) => x);
  assert.ok(e instanceof APITimeoutError, String(e));
  assert.equal(e.status, undefined);
  assert.ok(Date.now() - started < 2000);
});

test("models.list in direct mode lists the catalog models of the configured providers", async () => {
  const list = await client.models.list();
  const ids = list.data.map((m) => m.id);
  assert.ok(ids.includes("openai/gpt-4o-mini") && ids.includes("anthropic/claude-sonnet-4-5"), ids.slice(0, 5).join(","));
});
