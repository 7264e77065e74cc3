// Through the gateway: what a request cost (usage.cost, equal to its usage record) and which
// limit refused a request (APIError.limit); and the package's declarations type both.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { promisify } from "node:util";

import { APIError, AuthenticationError, InsufficientQuotaError, RateLimitError } from "../dist/node/src/index.js";
import { HI, ROOT, gatewayClient, startGateway, thrown } from "./fixtures.mjs";

const MODEL = "mock/gpt-4o-mini";

/** The usage records of `key` (newest first), waiting up to 10 s for `count` of them. */
async function records(gw, key, count) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [status, history] = await gw.api("GET", "usage/history", undefined, key);
    assert.equal(status, 200, JSON.stringify(history));
    if (history.data.length >= count || Date.now() > deadline) {
      assert.equal(history.data.length, count, JSON.stringify(history.data));
      return history.data;
    }
    await sleep(100);
  }
}

test("usage.cost is the cost the gateway recorded, as an exact decimal string", async () => {
  const gw = await startGateway();
  // A fresh key, so that its records are the ones of this test's requests.
  const [key] = await gw.newKey();
  const client = await gatewayClient(key);

  const r = await client.chat.completions.create({ model: MODEL, messages: HI, max_tokens: 20 });
  assert.equal(typeof r.usage.cost, "string");
  assert.match(r.usage.cost, /^\d+(\.\d+)?$/);
  assert.equal(r.usage.cost_currency, "USD");
  assert.equal(r.usage.estimated, undefined, "mock-upstream reports its usage");
  const [record] = await records(gw, key, 1);
  assert.equal(record.status, 200);
  assert.equal(sameDecimal(record.cost, r.usage.cost), true, `${record.cost} vs ${r.usage.cost}`);
  assert.equal(record.currency, r.usage.cost_currency);
  assert.equal(record.prompt_tokens, r.usage.prompt_tokens);
  assert.equal(record.completion_tokens, r.usage.completion_tokens);

  const stream = await client.chat.completions.create({
    model: MODEL,
    messages: HI,
    max_tokens: 20,
    stream: true,
    stream_options: { include_usage: true },
  });
  const usage = (await stream.toArray()).at(-1).usage;
  assert.equal(typeof usage.cost, "string");
  const [newest] = await records(gw, key, 2);
  assert.equal(newest.stream, true);
  assert.equal(sameDecimal(newest.cost, usage.cost), true, `${newest.cost} vs ${usage.cost}`);
  assert.equal(newest.currency, usage.cost_currency);
});

/** Whether two decimal strings are the same number ("0.0000057" and "0.000005700"). */
function sameDecimal(a, b) {
  const norm = (s) => {
    const [whole, frac = ""] = s.split(".");
    return `${BigInt(whole)}.${frac.replace(/0+$/, "")}`;
  };
  return norm(a) === norm(b);
}

test("a spent budget's refusal names its limit", async () => {
  const gw = await startGateway();
  const [key, keyId] = await gw.newKey();
  const [status, body] = await gw.api("PUT", `admin/api-keys/${keyId}/budget`, { hard_limit: "0.000001", currency: "USD" });
  assert.equal(status, 200, JSON.stringify(body));
  const client = await gatewayClient(key);
  const e = await thrown(() => client.chat.completions.create({ model: MODEL, messages: HI }));
  assert.ok(e instanceof InsufficientQuotaError, String(e));
  assert.equal(e.limit, "budget.api_key.monthly");
});

test("a key's rate limit names itself, for calls and streams", async () => {
  const gw = await startGateway();
  const [key, keyId] = await gw.newKey();
  const [status, body] = await gw.api("PUT", `admin/api-keys/${keyId}/limits`, { rpm_limit: 1, tpm_limit: null, max_concurrent: null });
  assert.equal(status, 200, JSON.stringify(body));
  const client = await gatewayClient(key);
  await client.chat.completions.create({ model: MODEL, messages: HI, max_tokens: 5 });
  const e = await thrown(() => client.chat.completions.create({ model: MODEL, messages: HI, max_tokens: 5 }));
  assert.ok(e instanceof RateLimitError, String(e));
  assert.equal(e.limit, "key.rpm");
  const streamed = await thrown(async () => {
    const stream = await client.chat.completions.create({ model: MODEL, messages: HI, max_tokens: 5, stream: true });
    await stream.toArray();
  });
  assert.ok(streamed instanceof RateLimitError, String(streamed));
  assert.equal(streamed.limit, "key.rpm");
});

test("errors that no limit caused have limit undefined", async () => {
  const stranger = await gatewayClient("ai-hub-not-a-real-key");
  const e = await thrown(() => stranger.chat.completions.create({ model: MODEL, messages: HI }));
  assert.ok(e instanceof AuthenticationError, String(e));
  assert.equal(e.limit, undefined);
  assert.ok(e instanceof APIError);
});

test("the package's declarations type usage.cost as a string and error.limit", async () => {
  const dir = mkdtempSync(join(tmpdir(), "aihub-node-types-"));
  try {
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(join(ROOT, "bindings", "node"), join(dir, "node_modules", "aihub"), "dir");
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "es2022",
          lib: ["es2022"],
          module: "nodenext",
          moduleResolution: "nodenext",
          noEmit: true,
          strict: true,
          typeRoots: [join(ROOT, "bindings", "node", "node_modules", "@types")],
          types: ["node"],
          skipLibCheck: false,
        },
        include: ["*.mts"],
      }),
    );
    writeFileSync(
      join(dir, "check.mts"),
      `import type { APIError, ChatCompletion, ChatCompletionChunk } from "aihub";
declare const completion: ChatCompletion;
declare const chunk: ChatCompletionChunk;
declare const error: APIError;
export const cost: string | undefined = completion.usage?.cost;
export const currency: string | undefined = completion.usage?.cost_currency;
export const estimated: boolean | undefined = chunk.usage?.estimated;
export const limit: string | undefined = error.limit;
// @ts-expect-error money is a decimal string, never a number
export const float: number | undefined = completion.usage?.cost;
`,
    );
    const tsc = join(ROOT, "bindings", "node", "node_modules", "typescript", "bin", "tsc");
    try {
      await promisify(execFile)(process.execPath, [tsc, "-p", dir], { timeout: 120_000 });
    } catch (e) {
      assert.fail(`${e.stdout}${e.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
