// The official `openai` npm package against the AI Hub gateway.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import OpenAI from 'openai';

const URL = process.env.AIHUB_E2E_URL;
const KEY = process.env.AIHUB_E2E_KEY;
const MASTER = process.env.AIHUB_E2E_MASTER;
if (!URL || !KEY || !MASTER) {
  throw new Error('AIHUB_E2E_URL, AIHUB_E2E_KEY and AIHUB_E2E_MASTER must be set: run scripts/e2e-sdks.sh');
}
const MODEL = 'mock/gpt-4o-mini';
const client = new OpenAI({ baseURL: `${URL}/v1`, apiKey: KEY, maxRetries: 0, timeout: 30_000 });
const hello = [{ role: 'user', content: 'Hello!' }];
const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

async function api(method, path, body, bearer) {
  const r = await fetch(URL + path, {
    method,
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return [r.status, await r.json().catch(() => null)];
}

async function newUser() {
  const email = `js-${randomUUID().slice(0, 8)}@example.com`;
  const creds = { email, password: 'a long password' };
  assert.equal((await api('POST', '/api/v1/admin/users', creds, MASTER))[0], 201);
  const [, login] = await api('POST', '/api/v1/auth/login', creds);
  const [, created] = await api('POST', '/api/v1/auth/api-keys', { name: 'node' }, login.token);
  return { token: login.token, key: created.key };
}

test('chat, non-stream', async () => {
  const r = await client.chat.completions.create({ model: MODEL, messages: hello });
  assert.equal(r.object, 'chat.completion');
  assert.ok(r.choices[0].message.content.length > 0);
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

for (const model of ['mock-anthropic/claude-sonnet-4-5', 'mock-gemini/gemini-2.5-flash']) {
  test(`${model} through the OpenAI SDK`, async () => {
    const r = await client.chat.completions.create({ model, messages: hello, max_tokens: 50 });
    assert.ok(r.choices[0].message.content.length > 0);
  });
}

test('stream with include_usage', async () => {
  const stream = await client.chat.completions.create({
    model: `${MODEL}@chunks=10`,
    messages: hello,
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  assert.equal(text.trim().split(/\s+/).length, 10);
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.equal(last.usage.completion_tokens, 10);
});

test('stream stopped early with break', async () => {
  const stream = await client.chat.completions.create({ model: `${MODEL}@chunks=40,tps=40`, messages: hello, stream: true });
  let n = 0;
  for await (const c of stream) {
    if (++n === 3) break;
  }
  assert.equal(n, 3);
});

test('tool calls, streamed and not', async () => {
  const messages = [{ role: 'user', content: 'call get_weather for Shanghai' }];
  const r = await client.chat.completions.create({ model: MODEL, messages, tools: [weather] });
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  assert.equal(r.choices[0].message.tool_calls[0].function.name, 'get_weather');
  const stream = await client.chat.completions.create({ model: MODEL, messages, tools: [weather], stream: true });
  let first;
  let args = '';
  for await (const c of stream) {
    for (const tc of c.choices[0]?.delta?.tool_calls ?? []) {
      first ??= tc;
      args += tc.function?.arguments ?? '';
    }
  }
  assert.ok(first.id && first.type === 'function' && first.function.name === 'get_weather');
  JSON.parse(args);
});

test('embeddings (the SDK asks for base64 by default)', async () => {
  const r = await client.embeddings.create({ model: 'mock/text-embedding-3-small', input: ['a', 'b'], dimensions: 8 });
  assert.equal(r.data.length, 2);
  assert.equal(r.data[0].embedding.length, 8);
  const f = await client.embeddings.create({ model: 'mock/text-embedding-3-small', input: 'a', dimensions: 8, encoding_format: 'float' });
  f.data[0].embedding.forEach((v, i) => assert.ok(Math.abs(v - r.data[0].embedding[i]) < 1e-6));
});

test('models list', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.ok(ids.includes(MODEL));
});

test('401 for an unknown key', async () => {
  const bad = new OpenAI({ baseURL: `${URL}/v1`, apiKey: 'ai-hub-nonsense', maxRetries: 0 });
  await assert.rejects(bad.chat.completions.create({ model: MODEL, messages: hello }), (e) => {
    assert.ok(e instanceof OpenAI.AuthenticationError);
    assert.equal(e.status, 401);
    assert.equal(e.code, 'invalid_api_key');
    return true;
  });
});

test('401 for a revoked key, at once', async () => {
  const { token, key } = await newUser();
  const c = new OpenAI({ baseURL: `${URL}/v1`, apiKey: key, maxRetries: 0 });
  await c.models.list();
  const [, keys] = await api('GET', '/api/v1/auth/api-keys', undefined, token);
  assert.equal((await api('DELETE', `/api/v1/auth/api-keys/${keys.data[0].id}`, undefined, token))[0], 200);
  await assert.rejects(c.chat.completions.create({ model: MODEL, messages: hello }), (e) => e.status === 401 && e.code === 'api_key_revoked');
});

test('404 for an unknown model', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'nosuch/model', messages: hello }), (e) => {
    assert.ok(e instanceof OpenAI.NotFoundError);
    assert.equal(e.param, 'model');
    return true;
  });
});

test('400 naming an invalid field', async () => {
  await assert.rejects(client.chat.completions.create({ model: MODEL, messages: hello, temperature: 'hot' }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError);
    assert.equal(e.param, 'temperature');
    return true;
  });
});

test('400 for malformed JSON', async () => {
  const r = await fetch(`${URL}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: '{"model": "mock/gpt-4o-mini", "messages": [',
  });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error.type, 'invalid_request_error');
});

test('413 for a body over the limit', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(200_000) }] }),
    (e) => e.status === 413,
  );
});

test('502 keeps the provider message, 504 on upstream timeout', async () => {
  await assert.rejects(client.chat.completions.create({ model: `${MODEL}@status=500`, messages: hello }), (e) => {
    assert.ok(e instanceof OpenAI.InternalServerError);
    assert.equal(e.status, 502);
    assert.ok(e.message.length > 0);
    return true;
  });
  await assert.rejects(client.chat.completions.create({ model: `${MODEL}@latency_ms=5000`, messages: hello }), (e) => e.status === 504);
});
