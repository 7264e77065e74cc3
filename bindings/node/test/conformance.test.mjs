// The conformance vectors of tests/conformance through the package's public API: the same
// vectors the Rust, Python and WASM suites run (see tests/conformance/README.md).

import { before } from "node:test";

import * as sdk from "../dist/node/src/index.js";
import { registerConformanceTests } from "../../../tests/conformance/run.mjs";
import { mockUrl } from "./fixtures.mjs";

let url;
before(async () => {
  url = await mockUrl();
});

registerConformanceTests({ sdk, mockUrl: () => url, label: "aihub" });
