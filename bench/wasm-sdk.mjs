// aihub-wasm load and token-counting times, as docs/benchmarks.md reports them.
// Usage: node bench/wasm-sdk.mjs   (after `npm run build` in bindings/wasm)
//
// For each build, RUNS fresh Node processes time the `import` of the package entry (which
// compiles and instantiates the wasm with initSync); in the tokens build, the first
// countTokens call (the encoder is built then) and the throughput of counting ~900 kB of
// English text (this repository's docs, repeated) with o200k_base.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const PKG = join(ROOT, "bindings/wasm");
const RUNS = 3;

const child = `
const t0 = performance.now();
const sdk = await import(process.argv[1]);
const loaded = performance.now() - t0;
const out = { loaded };
if (sdk.hasTokenCounting()) {
  const { readFileSync } = await import("node:fs");
  const text = readFileSync(process.argv[2], "utf8");
  let t = performance.now();
  sdk.countTokens("gpt-4o", "warm up");
  out.first = performance.now() - t;
  t = performance.now();
  const tokens = sdk.countTokens("gpt-4o", text);
  out.mbps = Buffer.byteLength(text) / 1e6 / ((performance.now() - t) / 1000);
  out.tokens = tokens;
}
console.log(JSON.stringify(out));
`;

// ~900 kB of English prose from docs/, written once to a temporary file.
const docs = readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md"));
let text = "";
while (text.length < 900_000) {
  for (const f of docs) text += readFileSync(join(ROOT, "docs", f), "utf8");
}
text = text.slice(0, 900_000);
const textFile = join(PKG, "dist", "bench-text.txt");
(await import("node:fs")).writeFileSync(textFile, text);

const range = (xs, digits) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
for (const [name, entry] of [["slim", "dist/wasm/src/node.js"], ["tokens", "dist/wasm/src/tokens-node.js"]]) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", child, join(PKG, entry), textFile], { encoding: "utf8" });
    runs.push(JSON.parse(out));
  }
  let line = `${name}: import ${range(runs.map((r) => r.loaded), 0)} ms`;
  if (runs[0].mbps !== undefined) {
    line += `; first countTokens ${range(runs.map((r) => r.first / 1000), 2)} s; counting ${range(runs.map((r) => r.mbps), 1)} MB/s (${runs[0].tokens} tokens in ${Buffer.byteLength(text)} bytes)`;
  }
  console.log(line);
}
