// Every error class from a real answer of mock-upstream (or a real failure to connect), with
// status, code and request id; retries, fallbacks, timeouts and configuration errors.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import {
  APIConnectionError,
  APIError,
  APITimeoutError,
  AuthenticationError,
  BadRequestError,
  Client,
  ConfigurationError,
  ContentFilterError,
  InternalServerError,
  InvalidResponseError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  RequestTooLargeError,
} from "../dist/node/src/index.js";
import { HI, mockClient, mockUrl, thrown } from "./fixtures.mjs";

const CASES = [
  ["status=400", BadRequestError, 400],
  ["status=403", PermissionDeniedError, 403],
  ["status=404", NotFoundError, 404],
  ["status=413", RequestTooLargeError, 413],
  ["status=429,retry_after=7", RateLimitError, 429],
  ["status=500", InternalServerError, 500],
  ["status=503", InternalServerError, 503],
];

for (const [knobs, Class, status] of CASES) {
  test(`an upstream ${status} (${knobs}) is a ${Class.name}`, async () => {
    const client = await mockClient();
    const e = await thrown(() => client.chat.completions.create({ model: `gpt-4o-mini@${knobs}`, messages: HI }));
    assert.ok(e instanceof Class, String(e));
    assert.ok(e instanceof APIError && e instanceof Error);
    assert.equal(e.name, Class.name);
    assert.equal(e.status, status);
    assert.ok(e.message);
    assert.ok(e.requestId, "the request id is attached");
    if (Class === RateLimitError) {
      assert.equal(e.retryAfter, 7);
      assert.equal(e.code, "rate_limit_exceeded");
      assert.equal(e.kind, "rate_limit");
    }
  });
}

test("the content filter is a ContentFilterError, a kind of BadRequestError", async () => {
  const client = await mockClient();
  const e = await thrown(() => client.chat.completions.create({ model: "gpt-4o-mini@content_filter=1", messages: HI }));
  assert.ok(e instanceof ContentFilterError, String(e));
  assert.ok(e instanceof BadRequestError);
  assert.equal(e.status, 400);
  assert.equal(e.code, "content_filter");
  assert.equal(e.param, "prompt");
  assert.ok(e.requestId);
});

test("a bad key is an AuthenticationError", async () => {
  const client = await mockClient({ apiKey: "bad-key" });
  const e = await thrown(() => client.chat.completions.create({ model: "gpt-4o-mini", messages: HI }));
  assert.ok(e instanceof AuthenticationError, String(e));
  assert.equal(e.status, 401);
  assert.equal(e.code, "invalid_api_key");
  assert.ok(e.requestId);
});

test("a bad request is refused before sending, naming the field", async () => {
  const client = await mockClient();
  let e = await thrown(() => client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "robot", content: "hi" }] }));
  assert.ok(e instanceof BadRequestError, String(e));
  assert.equal(e.param, "messages[0].role");
  e = await thrown(() => client.chat.completions.create({ model: "gpt-4o-mini", messages: HI, temperature: 7 }));
  assert.equal(e.param, "temperature");
  e = await thrown(() => client.chat.completions.create({ model: "gpt-4o-mini", messages: [] }));
  assert.ok(e instanceof BadRequestError);
});

test("a timeout is an APITimeoutError without a status", async () => {
  const client = await mockClient();
  const started = Date.now();
  const e = await thrown(() => client.chat.completions.create({ model: "gpt-4o-mini@latency_ms=5000", messages: HI }, { timeout: 300 }));
  assert.ok(e instanceof APITimeoutError, String(e));
  assert.equal(e.status, undefined);
  assert.ok(Date.now() - started < 3000);
  // The client-wide setting works the same way.
  const slow = await mockClient({ timeout: 300 });
  assert.ok((await thrown(() => slow.chat.completions.create({ model: "gpt-4o-mini@latency_ms=5000", messages: HI }))) instanceof APITimeoutError);
});

test("a refused connection is an APIConnectionError without a status", async () => {
  const client = new Client({ apiKey: "sk", baseURL: "http://127.0.0.1:9/v1", maxRetries: 0, keysFromEnv: false });
  const e = await thrown(() => client.models.list());
  assert.ok(e instanceof APIConnectionError, String(e));
  assert.equal(e.status, undefined);
  assert.equal(e.kind, "connection");
});

test("a body that is not JSON and broken streams", async () => {
  const client = await mockClient();
  assert.ok((await thrown(() => client.chat.completions.create({ model: "gpt-4o-mini@malformed=0", messages: HI }))) instanceof InvalidResponseError);
  const stream = await client.chat.completions.create({ model: "gpt-4o-mini@drop_after=2", messages: HI, stream: true });
  const got = [];
  const e = await thrown(async () => {
    for await (const chunk of stream) got.push(chunk);
  });
  assert.ok(e instanceof APIError, String(e));
  assert.ok(got.length >= 2, "chunks before the break are delivered");
  const failing = await client.chat.completions.create({ model: "gpt-4o-mini@error_event=1", messages: HI, stream: true });
  assert.ok((await thrown(() => failing.toArray())) instanceof InternalServerError);
});

test("bad settings are a ConfigurationError", async () => {
  assert.throws(() => new Client({ baseURL: "http://127.0.0.1:8080/v1", apiKey: " ", keysFromEnv: false }), ConfigurationError);
  assert.throws(() => new Client({ apiKey: "sk", baseURL: "http://x/v1", timeout: -1 }), (e) => e instanceof ConfigurationError && /timeout/.test(e.message));
  assert.throws(() => new Client({ apiKey: "sk", nonsense: true }), ConfigurationError);
});

test("a direct-mode call without a key names the variable to set", async () => {
  const client = new Client({ keysFromEnv: false, maxRetries: 0 });
  const e = await thrown(() => client.chat.completions.create({ model: "deepseek/deepseek-chat", messages: HI }));
  assert.ok(e instanceof AuthenticationError, String(e));
  assert.match(e.message, /DEEPSEEK_API_KEY/);
});

test("5xx are retried maxRetries times, per client or per call; fallbacks take over", async () => {
  const url = await mockUrl();
  const client = (retries) =>
    new Client({ apiKey: "sk", baseURL: `${url}/v1`, maxRetries: retries, keysFromEnv: false, defaultHeaders: { "x-mock-id": randomUUID() } });
  const model = "gpt-4o-mini@fail_times=2,status=503,retry_after=0";
  assert.ok((await client(2).chat.completions.create({ model, messages: HI })).choices[0].message.content);
  const e = await thrown(() => client(1).chat.completions.create({ model, messages: HI }));
  assert.ok(e instanceof InternalServerError && e.status === 503, String(e));
  assert.ok((await client(0).chat.completions.create({ model, messages: HI }, { maxRetries: 2 })).choices.length);
  const r = await client(0).chat.completions.create({ model: "gpt-4o-mini@status=503", messages: HI }, { fallbackModels: ["gpt-4o-mini"] });
  assert.equal(r.model, "gpt-4o-mini");
  // After every retry a 5xx is still an InternalServerError carrying the status.
  const always = await thrown(() => client(2).chat.completions.create({ model: "gpt-4o-mini@status=502,retry_after=0", messages: HI }));
  assert.ok(always instanceof InternalServerError && always.status === 502, String(always));
});

test("a per-call request id is sent and reported", async () => {
  const client = await mockClient();
  const e = await thrown(() => client.chat.completions.create({ model: "gpt-4o-mini@status=404", messages: HI }, { requestId: "req-node-1" }));
  assert.ok(e instanceof NotFoundError);
  assert.ok(e.requestId);
});

test("a per-call timeout bounds an embeddings call", async () => {
  const client = await mockClient();
  const e = await thrown(() => client.embeddings.create({ model: "text-embedding-3-small@latency_ms=5000", input: "a" }, { timeout: 300 }));
  assert.ok(e instanceof APITimeoutError, String(e));
});
