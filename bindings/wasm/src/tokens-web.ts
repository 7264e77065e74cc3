/**
 * `aihub-wasm/tokens` for browsers, Deno, Bun and edge runtimes: the build with token
 * counting (`countTokens`, `tokenEncoding`), loaded on import.
 */

import init, * as glue from "../../tokens/aihub_wasm.js";
import { install } from "./install.js";

await init();
install(glue, true);

export * from "../../js/src/index.js";
