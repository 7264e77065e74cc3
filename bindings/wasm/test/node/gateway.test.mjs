// The slim build through a real `aihub-server serve --demo` gateway: chat, streams,
// cancellation as the gateway records it, errors from real answers, models.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  Client,
  InternalServerError,
  NotFoundError,
  RateLimitError,
  RequestTooLargeError,
  Stream,
} from "aihub-wasm";

import { startGateway } from "../processes.mjs";

const HI = [{ role: "user", content: "Say hi" }];
let gw;

before(async () => {
  gw = await startGateway();
});
after(async () => {
  await gw?.stop();
});

const clientFor = (key) => new Client({ apiKey: key, baseURL: gw.baseURL, maxRetries: 0 });

describe("through the gateway", () => {
  test("a chat completion", async () => {
    const client = clientFor(gw.key);
    assert.equal(client.isGateway, true);
    const r = await client.chat.completions.create({ model: "mock/gpt-4o-mini", messages: HI });
    assert.equal(r.object, "chat.completion");
    assert.equal(r.choices[0].message.role, "assistant");
    assert.ok(r.choices[0].message.content.split(" ").length >= 1);
    assert.ok(r.usage.prompt_tokens > 0 && r.usage.completion_tokens === 8);
  });

  test("a stream read with for await", async () => {
    const client = clientFor(gw.key);
    const full = await client.chat.completions.create({ model: "mock/gpt-4o-mini", messages: HI });
    const stream = await client.chat.completions.create({
      model: "mock/gpt-4o-mini",
      messages: HI,
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.ok(stream instanceof Stream);
    let text = "";
    let usage = null;
    let finish = null;
    for await (const chunk of stream) {
      assert.equal(chunk.object, "chat.completion.chunk");
      for (const c of chunk.choices) {
        text += c.delta.content ?? "";
        finish = c.finish_reason ?? finish;
      }
      usage = chunk.usage ?? usage;
    }
    assert.equal(text, full.choices[0].message.content, "the same prompt gets the same words");
    assert.equal(finish, "stop");
    assert.equal(usage.completion_tokens, 8);
  });

  test("break in for await cancels the request (the gateway records 499)", async () => {
    const { key } = await gw.newKey();
    const client = clientFor(key);
    const stream = await client.chat.completions.create({
      model: "mock/gpt-4o-mini@tokens=200,chunks=200,tps=20",
      messages: HI,
      stream: true,
    });
    const started = Date.now();
    for await (const _chunk of stream) {
      break;
    }
    assert.ok(Date.now() - started < 2000, "breaking out does not wait for the stream");
    const records = await gw.records(key);
    assert.equal(records.length, 1);
    assert.equal(records[0].status, 499);
    assert.ok(records[0].completion_tokens < 200);
  });

  test("controller.abort() during a pending read ends it at once", async () => {
    const { key } = await gw.newKey();
    const client = clientFor(key);
    const stream = await client.chat.completions.create({
      model: "mock/gpt-4o-mini@tokens=50,chunks=50,tps=2",
      messages: HI,
      stream: true,
    });
    const started = Date.now();
    setTimeout(() => stream.controller.abort(), 700);
    await assert.rejects(async () => {
      for await (const _chunk of stream) {
        // the second chunk is 500 ms away: the abort lands during a pending read
      }
    }, APIUserAbortError);
    assert.ok(Date.now() - started < 2000, `aborted after ${Date.now() - started} ms`);
    const records = await gw.records(key);
    assert.deepEqual(
      records.map((r) => r.status),
      [499],
    );
  });

  test("an AbortSignal cancels a call that has not answered yet (the fetch is aborted)", async () => {
    const { key } = await gw.newKey();
    const client = clientFor(key);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    const err = await client.chat.completions
      .create({ model: "mock/gpt-4o-mini@latency_ms=1500", messages: HI }, { signal: controller.signal })
      .then(() => null, (e) => e);
    assert.ok(err instanceof APIUserAbortError, String(err));
    assert.ok(err instanceof APIError);
    assert.equal(err.status, undefined);
    assert.ok(Date.now() - started < 1000);
    // Had the fetch gone on, the gateway would have answered and recorded a 200 after 1.5 s.
    // (It records nothing for a non-streamed call the client leaves before the upstream
    // answers; a stream left early is recorded as 499, above.)
    await new Promise((r) => setTimeout(r, 2000));
    const { body } = await gw.api("GET", "usage/history", undefined, key);
    assert.deepEqual(
      body.data.filter((r) => r.status === 200),
      [],
    );
  });

  test("refusals raise the matching class with status, code and request id", async () => {
    const bad = await clientFor("ai-hub-not-a-real-key")
      .chat.completions.create({ model: "mock/gpt-4o-mini", messages: HI })
      .then(() => null, (e) => e);
    assert.ok(bad instanceof AuthenticationError, String(bad));
    assert.equal(bad.name, "AuthenticationError");
    assert.equal(bad.status, 401);
    assert.ok(bad.requestId, "request id from the gateway");

    const client = clientFor(gw.key);
    const missing = await client.chat.completions.create({ model: "nosuch/model", messages: HI }).then(() => null, (e) => e);
    assert.ok(missing instanceof NotFoundError, String(missing));
    assert.equal(missing.status, 404);

    const big = await client.chat.completions
      .create({ model: "mock/gpt-4o-mini", messages: [{ role: "user", content: "x".repeat(100_000) }] })
      .then(() => null, (e) => e);
    assert.ok(big instanceof RequestTooLargeError, String(big));
    assert.equal(big.status, 413);

    const upstream = await client.chat.completions
      .create({ model: "mock/gpt-4o-mini@status=500", messages: HI })
      .then(() => null, (e) => e);
    assert.ok(upstream instanceof InternalServerError, String(upstream));
    assert.equal(upstream.status, 502);

    const invalid = await client.chat.completions.create({ model: "mock/gpt-4o-mini", messages: [] }).then(() => null, (e) => e);
    assert.ok(invalid instanceof BadRequestError, String(invalid));
  });

  test("a rate limit carries retryAfter", async () => {
    const { key } = await gw.newKey("free"); // 10 requests per minute
    const client = clientFor(key);
    let err = null;
    for (let i = 0; i < 11 && err === null; i++) {
      err = await client.chat.completions
        .create({ model: "mock/gpt-4o-mini", messages: HI, max_tokens: 5 })
        .then(() => null, (e) => e);
    }
    assert.ok(err instanceof RateLimitError, String(err));
    assert.equal(err.status, 429);
    assert.equal(err.code, "rate_limit_exceeded");
    assert.ok(err.retryAfter > 0 && err.retryAfter <= 6.5, String(err.retryAfter));
  });

  test("models.list and embeddings", async () => {
    const client = clientFor(gw.key);
    const models = await client.models.list();
    const ids = models.data.map((m) => m.id);
    assert.ok(ids.includes("mock/gpt-4o-mini"), ids.join(","));
    const e = await client.embeddings.create({ model: "mock/text-embedding-3-small", input: ["a", "b"] });
    assert.equal(e.data.length, 2);
    assert.equal(e.data[0].embedding.length, 8);
  });
});
