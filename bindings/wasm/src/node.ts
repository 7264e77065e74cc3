/** `aihub-wasm` on Node 18+: the WebAssembly module is read from the package with `fs`. */

import { readFileSync } from "node:fs";

import * as glue from "../../slim/aihub_wasm.js";
import { install } from "./install.js";

glue.initSync({ module: readFileSync(new URL("../../slim/aihub_wasm_bg.wasm", import.meta.url)) });
install(glue, false);

export * from "../../js/src/index.js";
