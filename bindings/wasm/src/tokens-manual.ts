/** `aihub-wasm/tokens/manual`: the token-counting build, loaded when you call `init`/`initSync`. */

import load, * as glue from "../../tokens/aihub_wasm.js";
import { install } from "./install.js";

/** Loads the module from a URL, Response, bytes or `WebAssembly.Module`, then installs it. */
export async function init(source?: Parameters<typeof load>[0]): Promise<void> {
  await load(source);
  install(glue, true);
}

/** Instantiates a module you already have (bytes or `WebAssembly.Module`), then installs it. */
export function initSync(source: Parameters<typeof glue.initSync>[0]): void {
  glue.initSync(source);
  install(glue, true);
}

export * from "../../js/src/index.js";
