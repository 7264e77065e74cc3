// Every ```js block of docs/sdks/node.md runs, as an ES module importing "aihub", against the
// demo gateway; and examples/node/ runs there too, after tsc --noEmit --strict accepts it.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";

import { ROOT, startGateway } from "./fixtures.mjs";

const run = promisify(execFile);
const PACKAGE = join(ROOT, "bindings", "node");
const DOC = readFileSync(join(ROOT, "docs", "sdks", "node.md"), "utf8");
// A block preceded by `<!-- doc-test: key with a spent budget -->` runs with a fresh key whose
// monthly budget is already spent, to show a refusal.
const BLOCKS = [...DOC.matchAll(/(<!-- doc-test: key with a spent budget -->\n)?```(?:js|ts)\n([\s\S]*?)```/g)].map((m) => ({
  spent: m[1] !== undefined,
  code: m[2],
}));
const EXAMPLES = join(ROOT, "examples", "node");

// A scratch project where `import "aihub"` resolves to this package, as after `npm install`.
const project = mkdtempSync(join(tmpdir(), "aihub-node-docs-"));
mkdirSync(join(project, "node_modules"));
symlinkSync(PACKAGE, join(project, "node_modules", "aihub"), "dir");
after(() => rmSync(project, { recursive: true, force: true }));

/** Runs a module file with the gateway's key and address in the environment; returns stdout. */
async function runModule(file, extraEnv = {}) {
  const gw = await startGateway();
  const env = { ...process.env, AIHUB_API_KEY: gw.key, AIHUB_BASE_URL: gw.baseURL, ...extraEnv };
  try {
    const { stdout } = await run(process.execPath, [file], { env, timeout: 60_000 });
    return stdout;
  } catch (e) {
    assert.fail(`${file} failed:\n${e.stderr ?? e}`);
  }
}

test("the guide has examples", () => {
  assert.ok(BLOCKS.length >= 8, `${BLOCKS.length} blocks`);
});

/** A fresh key whose monthly budget (0.000001 USD) is less than any request costs. */
async function spentKey() {
  const gw = await startGateway();
  const [key, keyId] = await gw.newKey();
  const [status, body] = await gw.api("PUT", `admin/api-keys/${keyId}/budget`, { hard_limit: "0.000001", currency: "USD" });
  assert.equal(status, 200, JSON.stringify(body));
  return key;
}

BLOCKS.forEach(({ spent, code }, index) => {
  test(`guide block ${index} runs`, async () => {
    const file = join(project, `block-${index}.mjs`);
    writeFileSync(file, code);
    const out = await runModule(file, spent ? { AIHUB_API_KEY: await spentKey() } : {});
    assert.ok(out.trim(), `block ${index} prints what it shows:\n${code}`);
  });
});

test("every example is tested", () => {
  assert.deepEqual(readdirSync(EXAMPLES).filter((f) => f.endsWith(".mjs")).sort(), ["chat.mjs", "costs.mjs", "stream.mjs", "tool_call.mjs"]);
});

/** Makes `import "aihub"` resolve from examples/node, as scripts/test-node.sh does. */
function linkExamples() {
  mkdirSync(join(EXAMPLES, "node_modules"), { recursive: true });
  try {
    symlinkSync(PACKAGE, join(EXAMPLES, "node_modules", "aihub"), "dir");
  } catch (e) {
    if (e.code !== "EEXIST") throw e;
  }
}

const example = (name) => {
  linkExamples();
  return runModule(join(EXAMPLES, name), { AIHUB_MODEL: "mock/gpt-4o-mini" });
};

test("examples/node/chat.mjs", async () => {
  const out = (await example("chat.mjs")).trimEnd().split("\n");
  assert.equal(out.length, 2);
  assert.ok(out[0]);
  assert.match(out[1], /^tokens: \d+ in, \d+ out$/);
});

test("examples/node/stream.mjs", async () => {
  const [text, usage] = (await example("stream.mjs")).trimEnd().split("\n");
  assert.equal(text.trim().split(/\s+/).length, 8);
  assert.match(usage, /^tokens: \d+$/);
});

test("examples/node/tool_call.mjs", async () => {
  const out = (await example("tool_call.mjs")).trimEnd().split("\n");
  assert.equal(out[0], 'model called get_weather({"city":"sample"})');
  assert.ok(out[1]);
});

test("examples/node/costs.mjs", async () => {
  const out = (await example("costs.mjs")).trimEnd().split("\n");
  assert.equal(out.length, 3);
  assert.match(out[0], /^openai\/gpt-4o-mini: \d+ prompt tokens \(exact\), at most \d+\.\d+ USD with 500 out$/);
  assert.match(out[1], /\(estimate\)/);
});

test("tsc --noEmit --strict accepts the examples against the package's declarations", async () => {
  linkExamples();
  const tsc = join(PACKAGE, "node_modules", "typescript", "bin", "tsc");
  try {
    await run(process.execPath, [tsc, "-p", EXAMPLES, "--noEmit", "--strict"], { timeout: 120_000 });
  } catch (e) {
    assert.fail(`${e.stdout}${e.stderr}`);
  }
});
