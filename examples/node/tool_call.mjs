// @ts-check
// A tool call and the follow-up turn: the model asks for the weather, we answer, it replies.
//
// Run: AIHUB_API_KEY=ai-hub-... AIHUB_BASE_URL=http://127.0.0.1:8080/v1 node examples/node/tool_call.mjs

import { Client } from "aihub";

const client = new Client();
const model = process.env.AIHUB_MODEL ?? "openai/gpt-4o-mini";

/** @type {import("aihub").Tool[]} */
const tools = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Current weather in a city",
      parameters: {
        type: "object",
        properties: { city: { type: "string" } },
        required: ["city"],
      },
    },
  },
];
/** @type {import("aihub").ChatMessage[]} */
const messages = [{ role: "user", content: "What's the weather in Hangzhou?" }];

const first = await client.chat.completions.create({ model, messages, tools, tool_choice: "required" });
const message = first.choices[0]?.message;
if (!message) throw new Error("no answer");
messages.push(message);
for (const call of message.tool_calls ?? []) {
  /** @type {{ city?: string }} */
  const args = JSON.parse(call.function.arguments);
  console.log(`model called ${call.function.name}(${JSON.stringify(args)})`);
  messages.push({ role: "tool", tool_call_id: call.id, content: JSON.stringify({ city: args.city, temp_c: 21 }) });
}

const final = await client.chat.completions.create({ model, messages, tools });
console.log(final.choices[0]?.message.content);
