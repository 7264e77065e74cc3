// Every ```js block of docs/sdks/wasm.md runs against a demo gateway: the doc's placeholder
// key and URL are replaced by the gateway's, the block runs as a module inside the package
// (so `import "aihub-wasm"` resolves to this build) and must exit 0 and print something.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { startGateway } from "../processes.mjs";

const HERE = resolve(fileURLToPath(import.meta.url), "..");
const DOC = resolve(HERE, "../../../../docs/sdks/wasm.md");
// A block preceded by `<!-- doc-test: key with a spent budget -->` runs with a fresh key whose
// monthly budget is already spent, to show a refusal.
const BLOCKS = [...readFileSync(DOC, "utf8").matchAll(/(<!-- doc-test: key with a spent budget -->\n)?```js\n(.*?)```/gs)].map(
  (m) => ({ spent: m[1] !== undefined, block: m[2] }),
);
let gw;

before(async () => {
  gw = await startGateway();
});
after(async () => {
  await gw?.stop();
});

test("the guide has examples", () => {
  assert.ok(BLOCKS.length >= 6, `${BLOCKS.length} blocks`);
});

/** A fresh key whose monthly budget (0.000001 USD) is less than any request costs. */
async function spentKey() {
  const { key, id } = await gw.newKey();
  const set = await gw.api("PUT", `admin/api-keys/${id}/budget`, { hard_limit: "0.000001", currency: "USD" });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  return key;
}

BLOCKS.forEach(({ spent, block }, i) => {
  test(`docs/sdks/wasm.md block ${i}`, async () => {
    const key = spent ? await spentKey() : gw.key;
    const code = block.replaceAll("ai-hub-YOUR-KEY", key).replaceAll("http://127.0.0.1:8080/v1", gw.baseURL);
    const file = join(HERE, `.doc-block-${i}.mjs`);
    writeFileSync(file, code);
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [file], { timeout: 60_000 });
      assert.ok(stdout.trim(), `block ${i} prints what it shows`);
      assert.doesNotMatch(stdout, /false/, `block ${i}:\n${stdout}`);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
