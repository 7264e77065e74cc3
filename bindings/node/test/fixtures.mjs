// Fixtures: a real mock-upstream process and a real aihub-server gateway (demo mode), as the
// Python suite's conftest.py starts them. Both binaries come from AIHUB_BIN_DIR, else
// $CARGO_TARGET_DIR/debug, else target/debug; scripts/test-node.sh builds them.

import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

import { Client } from "../dist/node/src/index.js";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const HI = [{ role: "user", content: "hi" }];

function binDir() {
  if (process.env.AIHUB_BIN_DIR) return process.env.AIHUB_BIN_DIR;
  return join(process.env.CARGO_TARGET_DIR || join(ROOT, "target"), "debug");
}

const workdir = mkdtempSync(join(tmpdir(), "aihub-node-"));
const children = [];
process.on("exit", () => {
  for (const child of children) child.kill("SIGTERM");
  rmSync(workdir, { recursive: true, force: true });
});

/** Starts a process and waits until its output matches `ready`; returns the process and the log text. */
async function start(name, args, env, ready) {
  const log = join(workdir, `${name}.log`);
  const fd = openSync(log, "w");
  const child = spawn(join(binDir(), name), args, { env: { ...process.env, ...env }, stdio: ["ignore", fd, fd] });
  children.push(child);
  child.unref();
  let exited = null;
  child.on("exit", (code) => (exited = code));
  child.on("error", (e) => (exited = e.message));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const text = readFileSync(log, "utf8");
    if (ready.test(text)) return { child, text };
    if (exited !== null) throw new Error(`${name} exited early (${exited}):\n${text}`);
    await sleep(50);
  }
  child.kill("SIGKILL");
  throw new Error(`${name} did not start:\n${readFileSync(log, "utf8")}`);
}

let mock;
/** Base URL of a mock-upstream process (OpenAI routes at `/v1`), started once per test file. */
export async function mockUrl() {
  mock ??= start("mock-upstream", ["--listen", "127.0.0.1:0", "--no-record"], {}, /listening on http:\/\/[0-9.:]+/).then(
    ({ text }) => /listening on (http:\/\/[0-9.:]+)/.exec(text)[1],
  );
  return mock;
}

/** A running gateway: its URLs, the demo key, the master key and the management API. */
export class Gateway {
  constructor(url, key, master) {
    this.url = url;
    this.baseURL = `${url}/v1`;
    this.key = key;
    this.master = master;
  }

  /** Calls the management API; returns [status, JSON body]. */
  async api(method, path, body, bearer) {
    const r = await fetch(`${this.url}/api/v1/${path}`, {
      method,
      headers: { "content-type": "application/json", authorization: `Bearer ${bearer ?? this.master}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return [r.status, text ? JSON.parse(text) : null];
  }

  /** A fresh user on `plan` with one key; returns [key, key id]. */
  async newKey(plan = "enterprise") {
    const email = `node-${randomUUID().slice(0, 10)}@example.com`;
    const [s1, user] = await this.api("POST", "admin/users", { email, password: "password-123" });
    if (s1 !== 201) throw new Error(`create user: ${s1} ${JSON.stringify(user)}`);
    const [s2] = await this.api("PUT", `admin/users/${user.id}/plan`, { plan });
    if (s2 !== 200) throw new Error(`set plan: ${s2}`);
    const [s3, key] = await this.api("POST", "admin/api-keys", { email, name: "node-test" });
    if (s3 !== 201) throw new Error(`create key: ${s3} ${JSON.stringify(key)}`);
    return [key.key, key.id];
  }

  /** The usage records of `key`, waiting up to 10 s for at least one. */
  async usage(key) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const [, history] = await this.api("GET", "usage/history", undefined, key);
      if (history.data.length > 0 || Date.now() > deadline) return history.data;
      await sleep(100);
    }
  }
}

let gateway;
/** A gateway (`aihub-server serve --demo` on SQLite), started once per test file. */
export async function startGateway() {
  gateway ??= (async () => {
    const master = `master-${randomBytes(12).toString("hex")}`;
    const env = {
      AIHUB_LISTEN: "127.0.0.1:0",
      AIHUB_DATABASE_URL: `sqlite://${workdir}/gateway.db`,
      AIHUB_MASTER_KEY: master,
      AIHUB_MAX_BODY_BYTES: "65536",
      AIHUB_UPSTREAM_TIMEOUT_SECS: "5",
      AIHUB_UPSTREAM_MAX_RETRIES: "0",
      AIHUB_LOG: "warn",
    };
    const { text } = await start("aihub-server", ["serve", "--demo"], env, /Demo API key/);
    const url = /listening on (http:\/\/[0-9.:]+)/.exec(text);
    const key = /Demo API key \(shown once\): (ai-hub-[A-Za-z0-9]+)/.exec(text);
    if (!url || !key) throw new Error(`unexpected gateway output:\n${text}`);
    return new Gateway(url[1], key[1], master);
  })();
  return gateway;
}

/** A client speaking OpenAI's protocol straight to mock-upstream, without retries. */
export async function mockClient(extra = {}) {
  return new Client({ apiKey: "sk-test", baseURL: `${await mockUrl()}/v1`, maxRetries: 0, keysFromEnv: false, ...extra });
}

/** A client of the gateway with `key` (the demo key by default), without retries. */
export async function gatewayClient(key) {
  const gw = await startGateway();
  return new Client({ apiKey: key ?? gw.key, baseURL: gw.baseURL, maxRetries: 0, keysFromEnv: false });
}

/** Runs `f` and returns what it threw (fails when it does not throw). */
export async function thrown(f) {
  try {
    await f();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error, none was thrown");
}
