// The conformance vectors of tests/conformance, registered as node:test tests for a
// JavaScript SDK package: `aihub` (napi) and `aihub-wasm` both call registerConformanceTests
// with their public module, so they run exactly what the Rust and Python suites run.
// See tests/conformance/README.md.

import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const DIR = dirname(fileURLToPath(import.meta.url));

/** Every `group/name` vector id, sorted. */
export function vectorIds() {
  const ids = [];
  for (const group of readdirSync(DIR)) {
    if (!statSync(join(DIR, group)).isDirectory()) continue;
    for (const file of readdirSync(join(DIR, group))) {
      if (file.endsWith(".json")) ids.push(`${group}/${file.slice(0, -5)}`);
    }
  }
  return ids.sort();
}

function load(name) {
  return JSON.parse(readFileSync(join(DIR, name), "utf8"));
}

/** The error as the vectors describe it: only the fields that have a value. */
function errorJson(sdk, e) {
  if (!(e instanceof sdk.APIError)) throw e;
  const fields = {
    class: e.name,
    message: e.message,
    status: e.status,
    code: e.code,
    type: e.type,
    param: e.param,
    requestId: e.requestId,
    provider: e.provider,
    retryAfter: e.retryAfter,
  };
  assert.ok(e instanceof sdk[e.name], `${e.name} is the class of the error`);
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== null));
}

/** Removes the field at a dotted path (`*` matches every element or key). */
function removePath(value, path) {
  if (path.length === 0 || value === null || typeof value !== "object") return;
  const [first, ...rest] = path;
  if (Array.isArray(value)) {
    if (first === "*") value.forEach((v) => removePath(v, rest));
  } else if (rest.length === 0) {
    delete value[first];
  } else if (first === "*") {
    Object.values(value).forEach((v) => removePath(v, rest));
  } else if (first in value) {
    removePath(value[first], rest);
  }
}

function normalize(outcome, ignore) {
  const items = "result" in outcome ? [outcome.result] : (outcome.chunks ?? []);
  for (const item of items) for (const path of ignore) removePath(item, path.split("."));
  return outcome;
}

async function run(sdk, mockUrl, id, vector) {
  const provider = vector.provider;
  const client = new sdk.Client({
    providerKeys: { [provider]: vector.api_key ?? "test-key" },
    providerBaseURLs: { [provider]: `${mockUrl}/conformance/${id}` },
    keysFromEnv: false,
    maxRetries: 0,
  });
  const request = vector.request ?? {};
  try {
    if (vector.call === "chat") {
      return { result: await client.chat.completions.create({ ...request, stream: false }) };
    }
    if (vector.call === "embeddings") {
      return { result: await client.embeddings.create(request) };
    }
    assert.equal(vector.call, "chat_stream");
    const chunks = [];
    try {
      for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) {
        chunks.push(chunk);
      }
    } catch (e) {
      if (chunks.length === 0) throw e;
      return { chunks, error: errorJson(sdk, e) };
    }
    return { chunks };
  } catch (e) {
    return { error: errorJson(sdk, e) };
  }
}

/**
 * Registers one test per vector, plus the token and cost vectors, for `sdk` (the package's
 * public module). `mockUrl()` gives the base URL of a running mock-upstream when a test runs.
 */
export function registerConformanceTests({ sdk, mockUrl, label }) {
  const ids = vectorIds();
  test(`${label}: conformance vectors are present`, () => {
    assert.ok(ids.length >= 40, `${ids.length} vectors`);
  });
  for (const id of ids) {
    test(`${label}: conformance ${id}`, async () => {
      const vector = load(`${id}.json`);
      const got = normalize(await run(sdk, mockUrl(), id, vector), vector.ignore ?? []);
      assert.deepStrictEqual(got, vector.expect);
    });
  }
  test(`${label}: conformance token counts`, (t) => {
    if (!sdk.hasTokenCounting()) {
      assert.throws(() => sdk.countTokens("gpt-4o", "hi"), sdk.ConfigurationError);
      t.diagnostic("this build has no token counting: countTokens throws ConfigurationError");
      return;
    }
    const cases = load("tokens.json");
    assert.ok(cases.length >= 5);
    for (const c of cases) {
      assert.equal(sdk.countTokens(c.model, c.messages ?? c.text), c.tokens, JSON.stringify(c));
    }
  });
  test(`${label}: conformance costs`, () => {
    const cases = load("costs.json");
    assert.ok(cases.length >= 5);
    for (const c of cases) {
      if (c.cost !== null && "error" in c.cost) {
        assert.throws(() => sdk.estimateCost(c.model, c.usage), (e) => e.name === c.cost.error);
      } else {
        assert.deepStrictEqual(sdk.estimateCost(c.model, c.usage), c.cost, JSON.stringify(c));
      }
    }
  });
}
