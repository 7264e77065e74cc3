#!/usr/bin/env node
// Builds the npm package: the wasm module twice (slim, and with token counting), the
// wasm-bindgen glue for each (--target web) into dist/slim and dist/tokens, then the entries
// and the shared TypeScript layer (../js/src) into dist/ with tsc.
// Usage: npm run build          (env: CARGO_TARGET_DIR, WASM_BINDGEN, AIHUB_WASM_PROFILE)
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const root = resolve(pkg, "../..");
const target = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache/aihub/target");
const profile = process.env.AIHUB_WASM_PROFILE ?? "wasm-release";
const env = { ...process.env, CARGO_TARGET_DIR: target };

function run(cmd, args, cwd = root) {
  console.log(`$ ${cmd} ${args.join(" ")}`);
  execFileSync(cmd, args, { cwd, env, stdio: "inherit" });
}

function wasmBindgen() {
  const candidates = [process.env.WASM_BINDGEN, join(homedir(), ".cargo/bin/wasm-bindgen"), "wasm-bindgen"];
  for (const c of candidates) {
    if (!c) continue;
    try {
      const v = execFileSync(c, ["--version"], { encoding: "utf8" });
      if (v.includes("0.2.130")) return c;
    } catch {
      // try the next
    }
  }
  throw new Error("wasm-bindgen 0.2.130 not found: cargo install wasm-bindgen-cli --version 0.2.130");
}

const bindgen = wasmBindgen();
for (const [name, features] of [["slim", []], ["tokens", ["--features", "tokens"]]]) {
  run("cargo", ["build", "--locked", "-p", "aihub-wasm", "--target", "wasm32-unknown-unknown", "--profile", profile, ...features]);
  const wasm = join(target, "wasm32-unknown-unknown", profile, "aihub_wasm.wasm");
  const out = join(pkg, "dist", name);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  run(bindgen, ["--target", "web", "--weak-refs", "--remove-name-section", "--remove-producers-section", "--out-dir", out, "--out-name", "aihub_wasm", wasm]);
}
rmSync(join(pkg, "dist/wasm"), { recursive: true, force: true });
rmSync(join(pkg, "dist/js"), { recursive: true, force: true });
const tsc = join(pkg, "node_modules/typescript/bin/tsc");
if (!existsSync(tsc)) throw new Error("run npm ci in bindings/wasm first");
run(process.execPath, [tsc, "-p", "tsconfig.json"], pkg);
console.log("built", join(pkg, "dist"));
