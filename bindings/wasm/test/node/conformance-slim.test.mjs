// The conformance vectors of tests/conformance through the slim aihub-wasm build, exactly as
// the Rust, Python and Node suites run them (one build per file: node --test gives each file
// its own process, and a process holds one native module).
import { after, before } from "node:test";

import * as slim from "aihub-wasm";

import { registerConformanceTests } from "../../../../tests/conformance/run.mjs";
import { startMock } from "../processes.mjs";

let mock;
before(async () => {
  mock = await startMock();
});
after(() => mock?.stop());

registerConformanceTests({ sdk: slim, mockUrl: () => mock.url, label: "aihub-wasm" });
