// Helpers that need no client: version, catalog, exact cost estimates, and token counting,
// which only the `aihub-wasm/tokens` build has.
import assert from "node:assert/strict";
import { test } from "node:test";

import * as slim from "aihub-wasm";

// The OpenAI Cookbook's "How to count tokens with tiktoken" conversation: 129 tokens on
// gpt-4 / gpt-3.5-turbo, 124 on gpt-4o / gpt-4o-mini (bindings/python/tests/test_helpers.py).
const COOKBOOK = [
  { role: "system", content: "You are a helpful, pattern-following assistant that translates corporate jargon into plain English." },
  { role: "system", name: "example_user", content: "New synergies will help drive top-line growth." },
  { role: "system", name: "example_assistant", content: "Things working well together will increase revenue." },
  { role: "system", name: "example_user", content: "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage." },
  { role: "system", name: "example_assistant", content: "Let's talk later when we're less busy about how to do better." },
  { role: "user", content: "This late pivot means we don't have time to boil the ocean for the client deliverable." },
];

/** A decimal string as an exact fraction [numerator: bigint, scale: number]. */
function dec(s) {
  const [whole, frac = ""] = s.split(".");
  return [BigInt(whole + frac), frac.length];
}

/** `a == b` exactly, for decimal fractions of different scales. */
function sameAmount([a, sa], [b, sb]) {
  const scale = Math.max(sa, sb);
  return a * 10n ** BigInt(scale - sa) === b * 10n ** BigInt(scale - sb);
}

/** The cost from the catalog's prices, per million tokens, in BigInt arithmetic. */
function byHand(model, prompt, completion, cached = 0) {
  const p = slim.catalogModel(model).price;
  const [input, si] = dec(p.input);
  const [cachedPrice, sc] = dec(p.cached_input ?? p.input);
  const [output, so] = dec(p.output);
  const scale = Math.max(si, sc, so);
  const up = (v, s) => v * 10n ** BigInt(scale - s);
  const total =
    BigInt(prompt - cached) * up(input, si) + BigInt(cached) * up(cachedPrice, sc) + BigInt(completion) * up(output, so);
  return [total, scale + 6]; // ÷ 1 000 000
}

test("version and default base URL come from the native half", () => {
  assert.match(slim.VERSION, /^\d+\.\d+\.\d+/);
  assert.equal(slim.DEFAULT_BASE_URL, "http://127.0.0.1:8080/v1");
});

for (const [model, prompt, completion, cached] of [
  ["openai/gpt-4o-mini", 1000, 500, 200],
  ["openai/gpt-4o", 123_456, 7_890, 0],
  ["anthropic/claude-sonnet-4-5", 10_000, 2_000, 4_000],
  ["deepseek/deepseek-chat", 1_000_000, 1_000_000, 250_000],
  ["gemini/gemini-2.5-flash", 1, 1, 0],
]) {
  test(`estimateCost ${model} is exact`, () => {
    const cost = slim.estimateCost(model, { promptTokens: prompt, completionTokens: completion, cachedTokens: cached });
    assert.equal(typeof cost.amount, "string");
    assert.match(cost.amount, /^\d+(\.\d+)?$/);
    assert.ok(["USD", "CNY"].includes(cost.currency));
    assert.ok(sameAmount(dec(cost.amount), byHand(model, prompt, completion, cached)), `${model}: ${cost.amount}`);
  });
}

test("estimateCost of an unknown model is a NotFoundError", () => {
  assert.throws(() => slim.estimateCost("nosuch/model", { promptTokens: 1 }), slim.NotFoundError);
});

test("estimateCost prices long prompts at their tier and 1-hour cache writes", () => {
  // Gemini 2.5 Pro above 200K prompt tokens: 300 000 x 2.50 + 1000 x 15 = 765 000 per million.
  assert.deepEqual(slim.estimateCost("gemini/gemini-2.5-pro", { promptTokens: 300_000, completionTokens: 1000 }), { amount: "0.765", currency: "USD" });
  // 2000 x 3 + 15 000 x 0.30 + 2000 x 3.75 + 1000 x 6 (1-hour writes) + 1500 x 15 = 46 500.
  const counts = { promptTokens: 20_000, completionTokens: 1500, cachedTokens: 15_000, cacheWriteTokens: 3000, cacheWrite1hTokens: 1000 };
  assert.deepEqual(slim.estimateCost("anthropic/claude-sonnet-4-5", counts), { amount: "0.0465", currency: "USD" });
  assert.throws(() => slim.estimateCost("openai/gpt-4o-2099-01-01", { promptTokens: 1 }), slim.NotFoundError);
  assert.equal(slim.catalogModel("gemini/gemini-2.5-pro").price.tiers[0].above_prompt_tokens, 200000);
});

test("catalog and catalogModel", () => {
  const all = slim.catalog();
  assert.ok(all.length > 20);
  const m = slim.catalogModel("openai/gpt-4o-mini");
  assert.equal(m.id, "openai/gpt-4o-mini");
  assert.equal(typeof m.price.input, "string");
  assert.equal(slim.catalogModel("nosuch/model"), null);
});

test("the slim build has no token counting", () => {
  assert.equal(slim.hasTokenCounting(), false);
  assert.throws(() => slim.countTokens("gpt-4o", "hi"), slim.ConfigurationError);
});

test("aihub-wasm/tokens counts tokens as the cookbook does", async () => {
  const tokens = await import("aihub-wasm/tokens");
  assert.equal(tokens.hasTokenCounting(), true);
  assert.equal(tokens.countTokens("gpt-4", COOKBOOK), 129);
  assert.equal(tokens.countTokens("gpt-3.5-turbo", COOKBOOK), 129);
  assert.equal(tokens.countTokens("gpt-4o", COOKBOOK), 124);
  assert.equal(tokens.countTokens("openai/gpt-4o-mini", COOKBOOK), 124);
  assert.equal(tokens.countTokens("gpt-4", "tiktoken is great!"), 6);
  assert.equal(tokens.countTokens("gpt-4", "antidisestablishmentarianism"), 6);
  assert.equal(tokens.countTokens("gpt-4", "2 + 2 = 4"), 7);
  assert.equal(tokens.countTokens("gpt-4", "お誕生日おめでとう"), 9);
  assert.equal(tokens.countTokens("gpt-4o", ""), 0);
  assert.deepEqual(tokens.tokenEncoding("openai/gpt-4o"), { encoding: "o200k_base", exact: true });
  assert.deepEqual(tokens.tokenEncoding("deepseek/deepseek-chat"), { encoding: "cl100k_base", exact: false });
  assert.throws(() => tokens.countTokens("gpt-4o", 42), tokens.BadRequestError);
  // Importing the slim entry afterwards keeps the token-counting build installed.
  assert.equal(slim.hasTokenCounting(), true);
});
