// @ts-check
// A streamed completion, printed as it arrives, with the usage from the last chunk.
//
// Run: AIHUB_API_KEY=ai-hub-... AIHUB_BASE_URL=http://127.0.0.1:8080/v1 node examples/node/stream.mjs

import { Client } from "aihub";

const client = new Client();
const model = process.env.AIHUB_MODEL ?? "openai/gpt-4o-mini";

const stream = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: "Write one line about rivers." }],
  stream: true,
  stream_options: { include_usage: true },
});
for await (const chunk of stream) {
  const choice = chunk.choices[0];
  if (choice) {
    process.stdout.write(choice.delta.content ?? "");
  } else if (chunk.usage) {
    console.log(`\ntokens: ${chunk.usage.total_tokens}`);
  }
}
