/** `aihub-wasm/tokens` on Node 18+: the build with token counting, read with `fs`. */

import { readFileSync } from "node:fs";

import * as glue from "../../tokens/aihub_wasm.js";
import { install } from "./install.js";

glue.initSync({ module: readFileSync(new URL("../../tokens/aihub_wasm_bg.wasm", import.meta.url)) });
install(glue, true);

export * from "../../js/src/index.js";
