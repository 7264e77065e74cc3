// The conformance vectors of tests/conformance through the aihub-wasm/tokens build (token
// counting included), in a process of its own.
import { after, before } from "node:test";

import * as tokens from "aihub-wasm/tokens";

import { registerConformanceTests } from "../../../../tests/conformance/run.mjs";
import { startMock } from "../processes.mjs";

let mock;
before(async () => {
  mock = await startMock();
});
after(() => mock?.stop());

registerConformanceTests({ sdk: tokens, mockUrl: () => mock.url, label: "aihub-wasm/tokens" });
