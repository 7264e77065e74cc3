// @ts-check
// One chat completion through an AI Hub gateway.
//
// Run: AIHUB_API_KEY=ai-hub-... AIHUB_BASE_URL=http://127.0.0.1:8080/v1 node examples/node/chat.mjs

import { Client } from "aihub";

const client = new Client(); // gateway mode from AIHUB_API_KEY and AIHUB_BASE_URL
const model = process.env.AIHUB_MODEL ?? "openai/gpt-4o-mini";

const completion = await client.chat.completions.create({
  model,
  messages: [
    { role: "system", content: "You are terse." },
    { role: "user", content: "Say hello to AI Hub." },
  ],
  max_tokens: 100,
});
console.log(completion.choices[0]?.message.content);
if (completion.usage) {
  console.log(`tokens: ${completion.usage.prompt_tokens} in, ${completion.usage.completion_tokens} out`);
}
