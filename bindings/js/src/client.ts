/**
 * `Client`: the OpenAI-shaped surface (`client.chat.completions.create`, `embeddings`,
 * `models`) over one aihub-core client. Gateway mode sends every call to an AI Hub gateway
 * with one key; direct mode calls providers with their own keys, models named
 * `provider/model`. Retries, fallbacks, timeouts and provider translation all happen in
 * aihub-core; this layer only converts to and from JSON and wires cancellation.
 */

import { abortError, call, callAsync } from "./errors.js";
import type { NativeCancel, NativeClient, NativeClientOptions, NativeRequestOptions } from "./native.js";
import { native } from "./runtime.js";
import { Stream } from "./stream.js";
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParams,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
  CreateEmbeddingResponse,
  EmbeddingCreateParams,
  ModelList,
} from "./types.js";

/** Settings of a {@link Client}. Times are milliseconds; `null` means no limit. */
export interface ClientOptions {
  /**
   * An AI Hub gateway key (`ai-hub-…`): every call goes to the gateway. Without it (and
   * without `AIHUB_API_KEY` where the environment is readable) the client calls providers
   * directly.
   */
  apiKey?: string | null;
  /** The gateway's base URL (`AIHUB_BASE_URL`, else {@link DEFAULT_BASE_URL}). */
  baseURL?: string | null;
  /** Direct mode: provider id → key (else the provider's environment variable, e.g. `OPENAI_API_KEY`). */
  providerKeys?: Record<string, string>;
  /** Direct mode: provider id → base URL (a proxy, a local server). */
  providerBaseURLs?: Record<string, string>;
  /** Whether keys come from the environment when not given (default true; Node only). */
  keysFromEnv?: boolean;
  /** Longest a call may take, or a stream may take to start (default 600 000 ms). */
  timeout?: number | null;
  /** Longest a connection may take to open (default 10 000 ms; native only). */
  connectTimeout?: number | null;
  /** Longest to wait for the next bytes of an answer (default 120 000 ms; native only). */
  readTimeout?: number | null;
  /** Longest a stream may last after its first byte (default 600 000 ms); it then ends with `APITimeoutError`. */
  streamTimeout?: number | null;
  /** Largest answer body read, in bytes (default 32 MiB); a larger one is an `InvalidResponseError`. */
  maxResponseBytes?: number;
  /** Largest single event of a stream, in bytes (default 16 MiB); a larger one ends the stream with an `InvalidResponseError`. */
  maxEventBytes?: number;
  /** Retries after the first attempt, for rate limits, 5xx, timeouts and lost connections (default 2). */
  maxRetries?: number;
  /** Models tried in order when a chat call fails in a way another model might not. */
  fallbackModels?: string[];
  /** Headers sent with every call. */
  defaultHeaders?: Record<string, string>;
}

/** Per-call settings. */
export interface RequestOptions {
  /** Aborting it cancels the call (and a stream it started): `APIUserAbortError`. */
  signal?: AbortSignal | null;
  /** Timeout of this call in milliseconds. */
  timeout?: number | null;
  /** Retries of this call. */
  maxRetries?: number;
  /** Fallback models of this call. */
  fallbackModels?: string[];
  /** Client request id, sent as `x-client-request-id` (one is generated otherwise). */
  requestId?: string;
}

/** Per-call settings as JSON for the native half. */
function nativeOptions(options: RequestOptions | undefined): string {
  const o: NativeRequestOptions = {};
  if (options?.timeout !== undefined) o.timeout = options.timeout;
  if (options?.maxRetries !== undefined) o.maxRetries = options.maxRetries;
  if (options?.fallbackModels !== undefined) o.fallbackModels = options.fallbackModels;
  if (options?.requestId !== undefined) o.requestId = options.requestId;
  return JSON.stringify(o);
}

/**
 * Runs a native call that `signal` may cancel: a NativeCancel is handed to the call and
 * cancelled when the signal aborts.
 */
async function cancellable<T>(
  signal: AbortSignal | null | undefined,
  run: (cancel: NativeCancel | null) => Promise<T>,
): Promise<T> {
  if (signal == null) {
    return callAsync(() => run(null));
  }
  if (signal.aborted) {
    throw abortError();
  }
  const cancel = new (native().NativeCancel)();
  const onAbort = (): void => cancel.cancel();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await callAsync(() => run(cancel));
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** `client.chat.completions`. */
export class Completions {
  #client: NativeClient;

  /** Used by {@link Client}. */
  constructor(client: NativeClient) {
    this.#client = client;
  }

  /** A chat completion, returned whole. */
  create(params: ChatCompletionCreateParamsNonStreaming, options?: RequestOptions): Promise<ChatCompletion>;
  /** A streamed chat completion: iterate the returned stream with `for await`. */
  create(params: ChatCompletionCreateParamsStreaming, options?: RequestOptions): Promise<Stream<ChatCompletionChunk>>;
  /** A chat completion, streamed when `params.stream` is true. */
  create(
    params: ChatCompletionCreateParams,
    options?: RequestOptions,
  ): Promise<ChatCompletion | Stream<ChatCompletionChunk>>;
  async create(
    params: ChatCompletionCreateParams,
    options?: RequestOptions,
  ): Promise<ChatCompletion | Stream<ChatCompletionChunk>> {
    const body = JSON.stringify(params);
    const opts = nativeOptions(options);
    const signal = options?.signal;
    if (params.stream === true) {
      const started = await cancellable(signal, (cancel) => this.#client.chatStream(body, opts, cancel));
      const controller = new AbortController();
      if (signal != null) {
        if (signal.aborted) controller.abort();
        else signal.addEventListener("abort", () => controller.abort(), { once: true });
      }
      return new Stream<ChatCompletionChunk>(started, controller);
    }
    const text = await cancellable(signal, (cancel) => this.#client.chatCreate(body, opts, cancel));
    return JSON.parse(text) as ChatCompletion;
  }
}

/** `client.chat`. */
export class Chat {
  /** Chat completions. */
  readonly completions: Completions;

  /** Used by {@link Client}. */
  constructor(client: NativeClient) {
    this.completions = new Completions(client);
  }
}

/** `client.embeddings`. */
export class Embeddings {
  #client: NativeClient;

  /** Used by {@link Client}. */
  constructor(client: NativeClient) {
    this.#client = client;
  }

  /** Embeddings of one or more inputs. */
  async create(params: EmbeddingCreateParams, options?: RequestOptions): Promise<CreateEmbeddingResponse> {
    const body = JSON.stringify(params);
    const opts = nativeOptions(options);
    const text = await cancellable(options?.signal, (cancel) => this.#client.embeddingsCreate(body, opts, cancel));
    return JSON.parse(text) as CreateEmbeddingResponse;
  }
}

/** `client.models`. */
export class Models {
  #client: NativeClient;

  /** Used by {@link Client}. */
  constructor(client: NativeClient) {
    this.#client = client;
  }

  /** The models the gateway (or, in direct mode, the catalog's providers) serve. */
  async list(options?: RequestOptions): Promise<ModelList> {
    const opts = nativeOptions(options);
    const text = await cancellable(options?.signal, (cancel) => this.#client.modelsList(opts, cancel));
    return JSON.parse(text) as ModelList;
  }
}

/** A client for an AI Hub gateway or for providers directly; share one across your app. */
export class Client {
  /** `client.chat.completions.create(...)`. */
  readonly chat: Chat;
  /** `client.embeddings.create(...)`. */
  readonly embeddings: Embeddings;
  /** `client.models.list()`. */
  readonly models: Models;
  #native: NativeClient;

  /** Builds a client; bad settings throw a ConfigurationError. */
  constructor(options: ClientOptions = {}) {
    const settings: NativeClientOptions = { ...options };
    const Native = native().NativeClient;
    this.#native = call(() => new Native(JSON.stringify(settings)));
    this.chat = new Chat(this.#native);
    this.embeddings = new Embeddings(this.#native);
    this.models = new Models(this.#native);
  }

  /** Whether every call goes to one AI Hub gateway (else to providers directly). */
  get isGateway(): boolean {
    return this.#native.isGateway;
  }
}
