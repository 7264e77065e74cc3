// Real processes for the test suites: mock-upstream and an `aihub-server serve --demo` gateway,
// from the cargo target directory (AIHUB_BIN_DIR, else $CARGO_TARGET_DIR/debug, else
// ~/.cache/aihub/target/debug); scripts/test-wasm.sh builds them.
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

/** Directory of the mock-upstream and aihub-server binaries. */
export function binDir() {
  if (process.env.AIHUB_BIN_DIR) return process.env.AIHUB_BIN_DIR;
  return join(process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache/aihub/target"), "debug");
}

/** Starts `args` and resolves with the process and its output once `ready` matches it. */
function start(args, env, ready) {
  return new Promise((resolve, reject) => {
    const child = spawn(args[0], args.slice(1), { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${args[0]} did not start:\n${out}`));
    }, 60_000);
    const onData = (data) => {
      out += data;
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve({ child, output: () => out });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited early (${code}):\n${out}`));
    });
  });
}

/** Stops a started process and waits for it to exit. */
async function stop(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** A mock-upstream process: `{ url, stop() }` (OpenAI at url/v1, Gemini at url/v1beta). */
export async function startMock() {
  const { child, output } = await start(
    [join(binDir(), "mock-upstream"), "--listen", "127.0.0.1:0", "--no-record"],
    {},
    /listening on (http:\/\/[0-9.:]+)/,
  );
  const url = /listening on (http:\/\/[0-9.:]+)/.exec(output())[1];
  return { url, stop: () => stop(child) };
}

/**
 * A demo gateway: `{ url, baseURL, key, master, api(), newKey(), stop() }`.
 * `env` adds AIHUB_* settings (for example AIHUB_CORS_ALLOWED_ORIGINS).
 */
export async function startGateway(env = {}) {
  const dir = mkdtempSync(join(tmpdir(), "aihub-wasm-"));
  const master = "master-" + randomBytes(12).toString("hex");
  const { child, output } = await start(
    [join(binDir(), "aihub-server"), "serve", "--demo"],
    {
      AIHUB_LISTEN: "127.0.0.1:0",
      AIHUB_DATABASE_URL: `sqlite://${dir}/gateway.db`,
      AIHUB_MASTER_KEY: master,
      AIHUB_MAX_BODY_BYTES: "65536",
      AIHUB_UPSTREAM_TIMEOUT_SECS: "5",
      AIHUB_UPSTREAM_MAX_RETRIES: "0",
      AIHUB_LOG: "warn",
      ...env,
    },
    /Demo API key \(shown once\): (ai-hub-[A-Za-z0-9]+)/,
  );
  const text = output();
  const url = /listening on (http:\/\/[0-9.:]+)/.exec(text)?.[1];
  const key = /Demo API key \(shown once\): (ai-hub-[A-Za-z0-9]+)/.exec(text)?.[1];
  if (!url || !key) throw new Error(`gateway output without url or key:\n${text}`);

  /** Calls the management API: `{ status, body }`. */
  async function api(method, path, body, bearer = master) {
    const r = await fetch(`${url}/api/v1/${path}`, {
      method,
      headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const t = await r.text();
    return { status: r.status, body: t ? JSON.parse(t) : null };
  }

  /** A fresh user on `plan` with one key: `{ key, id }`. */
  async function newKey(plan = "enterprise") {
    const email = `wasm-${randomUUID().slice(0, 10)}@example.com`;
    const user = await api("POST", "admin/users", { email, password: "password-123" });
    if (user.status !== 201) throw new Error(JSON.stringify(user));
    const p = await api("PUT", `admin/users/${user.body.id}/plan`, { plan });
    if (p.status !== 200) throw new Error(JSON.stringify(p));
    const k = await api("POST", "admin/api-keys", { email, name: "node-test" });
    if (k.status !== 201) throw new Error(JSON.stringify(k));
    return { key: k.body.key, id: k.body.id };
  }

  /** Usage records of `key`, waiting up to 10 s for at least `n`. */
  async function records(key, n = 1) {
    const deadline = Date.now() + 10_000;
    let data = [];
    while (Date.now() < deadline) {
      data = (await api("GET", "usage/history", undefined, key)).body.data;
      if (data.length >= n) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return data;
  }

  return {
    url,
    baseURL: `${url}/v1`,
    key,
    master,
    api,
    newKey,
    records,
    async stop() {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
