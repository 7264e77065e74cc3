// @ts-check
// Token counts and exact costs before sending anything, from the built-in catalog (no network).
//
// Run: node examples/node/costs.mjs

import { catalogModel, countTokens, estimateCost, tokenEncoding } from "aihub";

/** @type {import("aihub").ChatMessage[]} */
const messages = [{ role: "user", content: "Summarise the plot of Journey to the West in three lines." }];
for (const model of ["openai/gpt-4o-mini", "deepseek/deepseek-chat", "anthropic/claude-sonnet-4-5"]) {
  const prompt = countTokens(model, messages);
  const { exact } = tokenEncoding(model);
  const cost = estimateCost(model, { promptTokens: prompt, completionTokens: 500 });
  if (!catalogModel(model)?.price || !cost) {
    console.log(`${model}: no price in the catalog`);
    continue;
  }
  // cost.amount is an exact decimal string, never a float.
  console.log(`${model}: ${prompt} prompt tokens (${exact ? "exact" : "estimate"}), at most ${cost.amount} ${cost.currency} with 500 out`);
}
