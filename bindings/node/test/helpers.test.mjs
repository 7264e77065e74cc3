// countTokens, tokenEncoding, estimateCost and the catalog: the core's numbers, checked
// against published ones and against exact integer arithmetic on the catalog's prices.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  BadRequestError,
  DEFAULT_BASE_URL,
  NotFoundError,
  VERSION,
  catalog,
  catalogModel,
  countTokens,
  estimateCost,
  hasTokenCounting,
  tokenEncoding,
} from "../dist/node/src/index.js";
import { gatewayClient, mockClient, startGateway } from "./fixtures.mjs";

// The OpenAI Cookbook's "How to count tokens with tiktoken" conversation (section 6): 129
// prompt tokens on gpt-4 / gpt-3.5-turbo and 124 on gpt-4o / gpt-4o-mini, as the API confirmed.
const COOKBOOK = [
  { role: "system", content: "You are a helpful, pattern-following assistant that translates corporate jargon into plain English." },
  { role: "system", name: "example_user", content: "New synergies will help drive top-line growth." },
  { role: "system", name: "example_assistant", content: "Things working well together will increase revenue." },
  { role: "system", name: "example_user", content: "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage." },
  { role: "system", name: "example_assistant", content: "Let's talk later when we're less busy about how to do better." },
  { role: "user", content: "This late pivot means we don't have time to boil the ocean for the client deliverable." },
];

test("version and default base URL", () => {
  assert.match(VERSION, /^\d+\.\d+\.\d+/);
  assert.equal(DEFAULT_BASE_URL, "http://127.0.0.1:8080/v1");
  assert.equal(hasTokenCounting(), true);
});

test("countTokens matches published counts", () => {
  assert.equal(countTokens("gpt-4", COOKBOOK), 129);
  assert.equal(countTokens("gpt-3.5-turbo", COOKBOOK), 129);
  assert.equal(countTokens("gpt-4o", COOKBOOK), 124);
  assert.equal(countTokens("openai/gpt-4o-mini", COOKBOOK), 124);
  // tiktoken's README: "tiktoken is great!" is 6 cl100k_base tokens.
  assert.equal(countTokens("gpt-4", "tiktoken is great!"), 6);
  // The cookbook's encoding comparison, cl100k_base column.
  assert.equal(countTokens("gpt-4", "antidisestablishmentarianism"), 6);
  assert.equal(countTokens("gpt-4", "2 + 2 = 4"), 7);
  assert.equal(countTokens("gpt-4", "お誕生日おめでとう"), 9);
  assert.equal(countTokens("gpt-4o", ""), 0);
  assert.throws(() => countTokens("gpt-4o", 42), BadRequestError);
  assert.throws(() => countTokens("gpt-4o", [{ role: "robot", content: "x" }]), BadRequestError);
});

test("tokenEncoding says when a count is an estimate", () => {
  assert.deepEqual(tokenEncoding("openai/gpt-4o"), { encoding: "o200k_base", exact: true });
  assert.deepEqual(tokenEncoding("gpt-4"), { encoding: "cl100k_base", exact: true });
  assert.deepEqual(tokenEncoding("deepseek/deepseek-chat"), { encoding: "cl100k_base", exact: false });
});

test("countTokens agrees with the upstream's prompt tokens", async () => {
  const client = await mockClient();
  const messages = [COOKBOOK[0], { role: "user", content: "Count me, please." }];
  const r = await client.chat.completions.create({ model: "gpt-4o-mini", messages });
  assert.equal(countTokens("gpt-4o-mini", messages), r.usage.prompt_tokens);
});

/** A decimal string as an integer count of 10^-30 units: exact, no floats. */
const SCALE = 30;
function units(decimal) {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(decimal);
  assert.ok(m, `not a plain decimal: ${decimal}`);
  const frac = m[2] ?? "";
  assert.ok(frac.length <= SCALE);
  return BigInt(m[1] + frac.padEnd(SCALE, "0"));
}

/** The cost from the catalog's prices, by hand, in exact integer arithmetic. */
function byHand(model, prompt, completion, cached = 0) {
  const price = catalogModel(model).price;
  const input = units(price.input);
  const cachedPrice = price.cached_input == null ? input : units(price.cached_input);
  const total = BigInt(prompt - cached) * input + BigInt(cached) * cachedPrice + BigInt(completion) * units(price.output);
  assert.equal(total % 1_000_000n, 0n, "prices have few enough decimals to divide exactly");
  return total / 1_000_000n;
}

const COST_CASES = [
  ["openai/gpt-4o-mini", 1000, 500, 200],
  ["openai/gpt-4o", 123_456, 7_890, 0],
  ["anthropic/claude-sonnet-4-5", 10_000, 2_000, 4_000],
  ["deepseek/deepseek-chat", 1_000_000, 1_000_000, 250_000],
  ["gemini/gemini-2.5-flash", 1, 1, 0],
];

for (const [model, prompt, completion, cached] of COST_CASES) {
  test(`estimateCost is exact on ${model}`, () => {
    const cost = estimateCost(model, { promptTokens: prompt, completionTokens: completion, cachedTokens: cached });
    assert.equal(typeof cost.amount, "string");
    assert.equal(cost.currency, catalogModel(model).price.currency);
    assert.equal(units(cost.amount), byHand(model, prompt, completion, cached));
  });
}

test("estimateCost known values, a model without usage and an unknown model", () => {
  // gpt-4o-mini at $0.15 / $0.075 cached / $0.60 per million: 800 x 0.15 + 200 x 0.075 + 500 x 0.60.
  assert.deepEqual(estimateCost("openai/gpt-4o-mini", { promptTokens: 1000, completionTokens: 500, cachedTokens: 200 }), {
    amount: "0.000435",
    currency: "USD",
  });
  assert.equal(units(estimateCost("gpt-4o-mini", { promptTokens: 0, completionTokens: 0 }).amount), 0n);
  assert.throws(() => estimateCost("nobody/no-model", { promptTokens: 1, completionTokens: 1 }), (e) => e instanceof NotFoundError && e.status === 404);
  assert.throws(() => estimateCost("openai/gpt-4o", { promptTokens: -1 }), BadRequestError);
});

test("estimateCost prices long prompts at their tier, 1-hour cache writes and dated snapshots", () => {
  // Gemini 2.5 Pro above 200K prompt tokens: 300 000 x 2.50 + 1000 x 15 = 765 000 per million.
  assert.deepEqual(estimateCost("gemini/gemini-2.5-pro", { promptTokens: 300_000, completionTokens: 1000 }), { amount: "0.765", currency: "USD" });
  // Claude Sonnet 4.5: 2000 x 3 + 15 000 x 0.30 + 2000 x 3.75 + 1000 x 6 (1-hour writes) + 1500 x 15 = 46 500.
  const counts = { promptTokens: 20_000, completionTokens: 1500, cachedTokens: 15_000, cacheWriteTokens: 3000, cacheWrite1hTokens: 1000 };
  assert.deepEqual(estimateCost("anthropic/claude-sonnet-4-5", counts), { amount: "0.0465", currency: "USD" });
  // A dated snapshot the catalog lists has its own price; one it does not list is not found.
  assert.deepEqual(estimateCost("openai/gpt-4o-2024-05-13", { promptTokens: 1000, completionTokens: 100 }), { amount: "0.0065", currency: "USD" });
  assert.throws(() => estimateCost("openai/gpt-4o-2099-01-01", { promptTokens: 1 }), NotFoundError);
  // Free is zero; unknown is null.
  assert.deepEqual(estimateCost("ollama/llama3.2", { promptTokens: 100, completionTokens: 100 }), { amount: "0", currency: "USD" });
  assert.equal(estimateCost("moonshot/moonshot-v1-8k", { promptTokens: 100 }), null);
  const tiers = catalogModel("gemini/gemini-2.5-pro").price.tiers;
  assert.deepEqual(tiers, [{ above_prompt_tokens: 200000, input: "2.50", cached_input: "0.25", cache_write: null, cache_write_1h: null, output: "15.00" }]);
});

test("estimateCost equals what the gateway bills", async () => {
  const gw = await startGateway();
  const [key] = await gw.newKey();
  const client = await gatewayClient(key);
  const r = await client.chat.completions.create({ model: "mock/gpt-4o-mini", messages: [{ role: "user", content: "bill me" }] });
  const [status, cost] = await gw.api("GET", "usage/cost", undefined, key);
  assert.equal(status, 200);
  const billed = cost.by_model.filter((c) => c.model === "mock/gpt-4o-mini");
  assert.equal(billed.length, 1);
  // The demo provider `mock` is priced like openai/gpt-4o-mini in the demo catalog.
  const mine = estimateCost("openai/gpt-4o-mini", { promptTokens: r.usage.prompt_tokens, completionTokens: r.usage.completion_tokens });
  assert.equal(billed[0].currency, mine.currency);
  assert.equal(units(billed[0].cost), units(mine.amount));
});

test("the catalog lists models with exact prices", () => {
  const models = catalog();
  assert.ok(models.length >= 60);
  const ids = new Set(models.map((m) => m.id));
  for (const id of ["openai/gpt-4o", "deepseek/deepseek-chat", "qwen/qwen-max", "anthropic/claude-sonnet-4-5"]) assert.ok(ids.has(id), id);
  const priced = models.filter((m) => m.price != null);
  assert.ok(priced.length > 0);
  for (const m of priced) {
    assert.equal(typeof m.price.input, "string");
    assert.ok(["USD", "CNY"].includes(m.price.currency));
  }
  const gpt = catalogModel("openai/gpt-4o");
  assert.ok(gpt.capabilities.tools && gpt.context_window > 0);
  assert.deepEqual(gpt, models.find((m) => m.id === "openai/gpt-4o"));
  const alias = models.find((m) => m.aliases.length > 0);
  assert.deepEqual(catalogModel(alias.aliases[0]), alias);
  assert.equal(catalogModel("nobody/no-model"), null);
});
