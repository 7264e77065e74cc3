/**
 * `aihub-wasm/manual`: nothing is loaded on import. Call `initSync({ module })` with a
 * compiled `WebAssembly.Module` (Cloudflare Workers: `import wasm from
 * "aihub-wasm/slim.wasm"`) or `await init({ module_or_path })` once, then use the SDK.
 */

import load, * as glue from "../../slim/aihub_wasm.js";
import { install } from "./install.js";

/** Loads the module from a URL, Response, bytes or `WebAssembly.Module`, then installs it. */
export async function init(source?: Parameters<typeof load>[0]): Promise<void> {
  await load(source);
  install(glue, false);
}

/** Instantiates a module you already have (bytes or `WebAssembly.Module`), then installs it. */
export function initSync(source: Parameters<typeof glue.initSync>[0]): void {
  glue.initSync(source);
  install(glue, false);
}

export * from "../../js/src/index.js";
