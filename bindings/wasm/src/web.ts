/**
 * `aihub-wasm` for browsers, Deno, Bun and edge runtimes that can `fetch` the module next
 * to this file: the WebAssembly module is loaded on import (top-level await), then the
 * whole SDK is exported. Runtimes that must hand over the module themselves (Cloudflare
 * Workers) use `aihub-wasm/manual` instead.
 */

import init, * as glue from "../../slim/aihub_wasm.js";
import { install } from "./install.js";

await init();
install(glue, false);

export * from "../../js/src/index.js";
