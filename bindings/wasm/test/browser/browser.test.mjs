// The web build in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core):
// a page served from a localhost origin streams a completion through a demo gateway that
// allows that origin (CORS), and a page from an origin the gateway does not list is refused.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

import { startGateway } from "../processes.mjs";

const PKG = resolve(fileURLToPath(import.meta.url), "../../..");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };

/** A static server of the package directory (the page and dist/) on a free port. */
function serveStatic() {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    const file = join(PKG, path);
    if (!file.startsWith(PKG + "/") || !(path.startsWith("/dist/") || path.startsWith("/test/browser/"))) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) =>
    server.listen(0, "127.0.0.1", () => ok({ origin: `http://127.0.0.1:${server.address().port}`, server })),
  );
}

let allowed;
let other;
let gw;
let browser;
let profile;

before(async () => {
  allowed = await serveStatic();
  other = await serveStatic();
  gw = await startGateway({ AIHUB_CORS_ALLOWED_ORIGINS: allowed.origin });
  profile = mkdtempSync(join(tmpdir(), "aihub-chromium-"));
  // A fresh, empty profile each run (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  await gw?.stop();
  allowed?.server.close();
  other?.server.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** Opens the page from `origin` and waits for window.result. */
async function runPage(origin, model = "mock/gpt-4o-mini") {
  const page = await browser.newPage();
  const responses = [];
  const errors = [];
  page.on("response", (r) =>
    responses.push(r.allHeaders().then((headers) => ({ url: r.url(), status: r.status(), headers }))),
  );
  page.on("pageerror", (e) => errors.push(String(e)));
  const q = new URLSearchParams({ key: gw.key, baseURL: gw.baseURL, model });
  await page.goto(`${origin}/test/browser/index.html?${q}`);
  // window.result is undefined until the module (and its wasm) has loaded, null while the
  // call runs, and the outcome after: wait for the outcome.
  await page.waitForFunction(() => window.result !== undefined && window.result !== null, null, {
    timeout: 30_000,
  });
  const result = await page.evaluate(() => window.result);
  const text = await page.textContent("#out");
  const seen = await Promise.all(responses);
  await page.close();
  assert.deepEqual(errors, []);
  return { result, text, responses: seen };
}

test("a page on an allowed origin streams a completion through the gateway", async () => {
  const { result, text, responses } = await runPage(allowed.origin);
  assert.ok(result.ok, JSON.stringify(result.error));
  assert.ok(result.chunks.length >= 9, `${result.chunks.length} chunks`);
  assert.ok(result.chunks.every((c) => c.object === "chat.completion.chunk"));
  const streamed = result.chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
  assert.equal(streamed.split(" ").length, 8);
  assert.equal(text, streamed);

  // The same words as Node gets from the same gateway (the mock answers deterministically).
  const { Client } = await import("aihub-wasm");
  const client = new Client({ apiKey: gw.key, baseURL: gw.baseURL, maxRetries: 0 });
  const r = await client.chat.completions.create({ model: "mock/gpt-4o-mini", messages: [{ role: "user", content: "Say hi" }] });
  assert.equal(streamed, r.choices[0].message.content);

  // The answer crossed origins with the gateway's CORS headers; the wasm came from dist/.
  const api = responses.find((x) => x.url === `${gw.baseURL}/chat/completions`);
  assert.ok(api, responses.map((x) => x.url).join("\n"));
  assert.equal(api.status, 200);
  assert.equal(api.headers["access-control-allow-origin"], allowed.origin);
  assert.match(api.headers["access-control-expose-headers"], /x-request-id/);
  assert.match(api.headers["content-type"], /text\/event-stream/);
  assert.ok(responses.some((x) => x.url.endsWith("/dist/slim/aihub_wasm_bg.wasm") && x.status === 200));
});

test("errors from the gateway reach the page as their classes", async () => {
  const { result } = await runPage(allowed.origin, "nosuch/model");
  assert.equal(result.ok, false);
  assert.deepEqual([result.error.name, result.error.status], ["NotFoundError", 404]);
});

test("a page on an origin the gateway does not list is refused by the browser", async () => {
  const { result } = await runPage(other.origin);
  assert.equal(result.ok, false);
  assert.equal(result.error.name, "APIConnectionError", JSON.stringify(result.error));
  assert.equal(result.error.status, null);
});
