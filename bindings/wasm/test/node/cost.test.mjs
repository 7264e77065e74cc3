// The slim build through a real gateway: what a request cost (usage.cost, equal to its usage
// record) and which limit refused a request (APIError.limit); the declarations type both.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { AuthenticationError, Client, InsufficientQuotaError, RateLimitError } from "aihub-wasm";

import { startGateway } from "../processes.mjs";

const PACKAGE = resolve(fileURLToPath(import.meta.url), "../../..");
const MODEL = "mock/gpt-4o-mini";
const HI = [{ role: "user", content: "Say hi" }];
let gw;

before(async () => {
  gw = await startGateway();
});
after(async () => {
  await gw?.stop();
});

const clientFor = (key) => new Client({ apiKey: key, baseURL: gw.baseURL, maxRetries: 0 });
const failure = (promise) => promise.then(() => null, (e) => e);

/** Whether two decimal strings are the same number ("0.0000057" and "0.000005700"). */
function sameDecimal(a, b) {
  const norm = (s) => {
    const [whole, frac = ""] = s.split(".");
    return `${BigInt(whole)}.${frac.replace(/0+$/, "")}`;
  };
  return norm(a) === norm(b);
}

test("usage.cost is the cost the gateway recorded, as an exact decimal string", async () => {
  // A fresh key, so that its records are the ones of this test's requests.
  const { key } = await gw.newKey();
  const client = clientFor(key);
  const r = await client.chat.completions.create({ model: MODEL, messages: HI, max_tokens: 20 });
  assert.equal(typeof r.usage.cost, "string");
  assert.equal(r.usage.cost_currency, "USD");
  assert.equal(r.usage.estimated, undefined, "mock-upstream reports its usage");
  const [record] = await gw.records(key, 1);
  assert.equal(sameDecimal(record.cost, r.usage.cost), true, `${record.cost} vs ${r.usage.cost}`);
  assert.equal(record.currency, r.usage.cost_currency);

  const stream = await client.chat.completions.create({
    model: MODEL,
    messages: HI,
    max_tokens: 20,
    stream: true,
    stream_options: { include_usage: true },
  });
  const usage = (await stream.toArray()).at(-1).usage;
  const history = await gw.records(key, 2);
  assert.equal(history.length, 2);
  assert.equal(history[0].stream, true);
  assert.equal(sameDecimal(history[0].cost, usage.cost), true, `${history[0].cost} vs ${usage.cost}`);
});

test("a spent budget's refusal names its limit", async () => {
  const { key, id } = await gw.newKey();
  const set = await gw.api("PUT", `admin/api-keys/${id}/budget`, { hard_limit: "0.000001", currency: "USD" });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  const e = await failure(clientFor(key).chat.completions.create({ model: MODEL, messages: HI }));
  assert.ok(e instanceof InsufficientQuotaError, String(e));
  assert.equal(e.limit, "budget.api_key.monthly");
});

test("a key's rate limit names itself", async () => {
  const { key, id } = await gw.newKey();
  const set = await gw.api("PUT", `admin/api-keys/${id}/limits`, { rpm_limit: 1, tpm_limit: null, max_concurrent: null });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  const client = clientFor(key);
  await client.chat.completions.create({ model: MODEL, messages: HI, max_tokens: 5 });
  const e = await failure(client.chat.completions.create({ model: MODEL, messages: HI, max_tokens: 5 }));
  assert.ok(e instanceof RateLimitError, String(e));
  assert.equal(e.limit, "key.rpm");
});

test("errors that no limit caused have limit undefined", async () => {
  const e = await failure(clientFor("ai-hub-not-a-real-key").chat.completions.create({ model: MODEL, messages: HI }));
  assert.ok(e instanceof AuthenticationError, String(e));
  assert.equal(e.limit, undefined);
});

test("the package's declarations type usage.cost as a string and error.limit", async () => {
  const dir = mkdtempSync(join(tmpdir(), "aihub-wasm-types-"));
  try {
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(PACKAGE, join(dir, "node_modules", "aihub-wasm"), "dir");
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "es2022",
          lib: ["es2022", "dom"],
          module: "nodenext",
          moduleResolution: "nodenext",
          noEmit: true,
          strict: true,
          types: [],
          skipLibCheck: true,
        },
        include: ["*.mts"],
      }),
    );
    writeFileSync(
      join(dir, "check.mts"),
      `import type { APIError, ChatCompletion, ChatCompletionChunk } from "aihub-wasm";
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
    const tsc = join(PACKAGE, "node_modules", "typescript", "bin", "tsc");
    try {
      await promisify(execFile)(process.execPath, [tsc, "-p", dir], { timeout: 120_000 });
    } catch (e) {
      assert.fail(`${e.stdout}${e.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
