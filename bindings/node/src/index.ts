/**
 * The npm package `aihub`: the AI Hub SDK for Node.js. The public API is the shared layer
 * of bindings/js; this entry installs its native half, the napi-rs addon built from
 * bindings/node/src/*.rs (loaded through the generated `native.js` at the package root).
 */

import { installNative } from "../../js/src/index.js";

/** The addon, typed by the declarations napi-rs generates from the Rust definitions. */
type Addon = typeof import("../native.js");

// The compiled entry is dist/node/src/index.js; the loader and addon sit at the package root.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const addon = require("../../../native.js") as Addon;

installNative(addon);

export * from "../../js/src/index.js";
