/**
 * The contract between the shared TypeScript layer and a native half: the napi-rs addon of
 * the `aihub` npm package, or the wasm-bindgen module of `aihub-wasm`. Both hold the same
 * aihub-core and expose exactly this, so the public API is written once, here in bindings/js.
 *
 * Everything crosses as JSON text: requests and options go in as `JSON.stringify` output,
 * results come back as JSON text for `JSON.parse`. Money is a decimal string inside that
 * JSON, never a number.
 *
 * Errors: every native function and method rejects (or throws) with an `Error` whose
 * `message` is {@link NATIVE_ERROR_PREFIX} followed by the JSON of
 * `aihub_core::Error::to_sdk_json()`:
 * `{class, kind, message, status, code, type, param, requestId, provider, retryAfter}`, plus
 * `limit` when a gateway limit refused the request.
 */

/** Prefix of the message of an error thrown by a native half. */
export const NATIVE_ERROR_PREFIX = "aihub-error:";

/** A cancellation handle: `cancel()` drops the call it was passed to (closing its connection). */
export interface NativeCancel {
  /** Cancels the call; it then rejects with an error of class `APIUserAbortError`. */
  cancel(): void;
}

/** A started chat completion stream. */
export interface NativeStream {
  /**
   * Waits for the next chunk, then takes every chunk already received (up to 256), as the
   * JSON text `{"chunks": [...], "error": {...} | null, "done": bool}`. `error` is the
   * `to_sdk_json()` object of an error that ended the stream after `chunks`; `done` is true
   * once nothing more will come. After the end or `close()`, resolves to
   * `{"chunks":[],"error":null,"done":true}`.
   */
  nextBatch(): Promise<string>;
  /** Stops the stream and cancels the request; a pending `nextBatch` resolves as ended. */
  close(): void;
}

/** One aihub-core client. */
export interface NativeClient {
  /** Whether requests go to an AI Hub gateway (else to providers directly). */
  readonly isGateway: boolean;
  /** `POST /chat/completions` without streaming: the ChatCompletion as JSON text. */
  chatCreate(request: string, options: string, cancel: NativeCancel | null | undefined): Promise<string>;
  /** A streamed chat completion, resolved once the response has started. */
  chatStream(request: string, options: string, cancel: NativeCancel | null | undefined): Promise<NativeStream>;
  /** `POST /embeddings`: the response as JSON text. */
  embeddingsCreate(request: string, options: string, cancel: NativeCancel | null | undefined): Promise<string>;
  /** `GET /models`: the list as JSON text. */
  modelsList(options: string, cancel: NativeCancel | null | undefined): Promise<string>;
}

/** What a native half exports. */
export interface NativeModule {
  /** The package version. */
  version(): string;
  /** The default gateway base URL (`http://127.0.0.1:8080/v1`). */
  defaultGatewayUrl(): string;
  /** Builds a client from the JSON of {@link NativeClientOptions}; throws on bad settings. */
  NativeClient: new (options: string) => NativeClient;
  /** A fresh cancellation handle. */
  NativeCancel: new () => NativeCancel;
  /**
   * Tokens in a text (`input` is a JSON string) or the prompt tokens of a message list
   * (`input` is a JSON array). Absent from builds without token counting (aihub-wasm's
   * default build).
   */
  countTokens?: (model: string, input: string) => number;
  /** `{"encoding": "o200k_base", "exact": true}` as JSON text; absent with countTokens. */
  tokenEncoding?: (model: string) => string;
  /**
   * The exact cost of token counts (JSON of {@link NativeTokenCounts}) on a catalog model:
   * `{"amount": "0.000123", "currency": "USD"}` as JSON text, or `"null"` for a model
   * without a price. Throws NotFoundError for a model the catalog does not know.
   */
  estimateCost(model: string, counts: string): string;
  /** Every catalog model as a JSON array (prices as decimal strings). */
  catalog(): string;
  /** One catalog model (id or alias) as JSON, or `"null"`. */
  catalogModel(model: string): string;
}

/** Client settings as the native constructor reads them (JSON). Times are milliseconds. */
export interface NativeClientOptions {
  apiKey?: string | null;
  baseURL?: string | null;
  providerKeys?: Record<string, string>;
  providerBaseURLs?: Record<string, string>;
  keysFromEnv?: boolean;
  timeout?: number | null;
  connectTimeout?: number | null;
  readTimeout?: number | null;
  streamTimeout?: number | null;
  maxResponseBytes?: number;
  maxEventBytes?: number;
  maxRetries?: number;
  fallbackModels?: string[];
  defaultHeaders?: Record<string, string>;
}

/** Per-call settings as native methods read them (JSON). `timeout` is milliseconds. */
export interface NativeRequestOptions {
  timeout?: number | null;
  maxRetries?: number | null;
  fallbackModels?: string[] | null;
  requestId?: string | null;
}

/** Token counts for `estimateCost` (JSON). */
export interface NativeTokenCounts {
  promptTokens?: number;
  completionTokens?: number;
  cachedTokens?: number;
  cacheWriteTokens?: number;
}
