/**
 * The AI Hub SDK for JavaScript: one client for every LLM provider, directly or through an
 * AI Hub gateway, with the OpenAI API's shapes. The same code runs over the napi-rs addon
 * (`aihub`, Node) and the WebAssembly module (`aihub-wasm`, browsers, Deno, edge, Node);
 * each package's entry installs its native half with {@link installNative}.
 */

import { call, localError } from "./errors.js";
import type { NativeModule } from "./native.js";
import { native, setNative } from "./runtime.js";
import type { ChatMessage, Cost, ModelInfo, TokenCounts, TokenEncoding } from "./types.js";

export * from "./client.js";
export {
  APIConnectionError,
  APIError,
  APITimeoutError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  ConfigurationError,
  ContentFilterError,
  InsufficientQuotaError,
  InternalServerError,
  InvalidResponseError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  RequestTooLargeError,
} from "./errors.js";
export type { ErrorInfo } from "./errors.js";
export type { NativeModule } from "./native.js";
export { Stream } from "./stream.js";
export type * from "./types.js";

/** The package version (the same as aihub-core's). */
export let VERSION = "";
/** The gateway a key without a base URL goes to: `http://127.0.0.1:8080/v1`. */
export let DEFAULT_BASE_URL = "";

/** Installs the native half. Package entries call it; applications never need to. */
export function installNative(module: NativeModule): void {
  setNative(module);
  VERSION = module.version();
  DEFAULT_BASE_URL = module.defaultGatewayUrl();
}

/** Whether this build counts tokens (`aihub`, `aihub-wasm/tokens`; not the slim `aihub-wasm`). */
export function hasTokenCounting(): boolean {
  return native().countTokens !== undefined;
}

function tokenFunctions(): Required<Pick<NativeModule, "countTokens" | "tokenEncoding">> {
  const { countTokens, tokenEncoding } = native();
  if (countTokens === undefined || tokenEncoding === undefined) {
    throw localError(
      "ConfigurationError",
      "config",
      "token counting is not in this build: import it from 'aihub-wasm/tokens' (or use the 'aihub' package)",
    );
  }
  return { countTokens, tokenEncoding };
}

/**
 * Tokens in a text, or the prompt tokens of a list of chat messages (with OpenAI's
 * per-message overhead), for `model`. Counted locally with the model's tokenizer.
 */
export function countTokens(model: string, input: string | ChatMessage[]): number {
  const { countTokens: count } = tokenFunctions();
  return call(() => count(model, JSON.stringify(input)));
}

/** The tokenizer `model` is counted with, and whether its counts are exact or an estimate. */
export function tokenEncoding(model: string): TokenEncoding {
  const { tokenEncoding: encoding } = tokenFunctions();
  return JSON.parse(call(() => encoding(model))) as TokenEncoding;
}

/**
 * The exact cost of token counts on a catalog model, as a decimal string in the model's
 * price currency (a long prompt at its tier, a per-request fee once); `null` for a model
 * whose price is unknown (a free model costs `"0"`). NotFoundError for a model the catalog
 * does not know, a dated snapshot it does not list included.
 */
export function estimateCost(model: string, counts: TokenCounts): Cost | null {
  return JSON.parse(call(() => native().estimateCost(model, JSON.stringify(counts)))) as Cost | null;
}

/** Every model of the built-in catalog, with context window, capabilities and exact prices. */
export function catalog(): ModelInfo[] {
  return JSON.parse(call(() => native().catalog())) as ModelInfo[];
}

/** The catalog entry for a model id (`provider/model`) or alias, or `null`. */
export function catalogModel(model: string): ModelInfo | null {
  return JSON.parse(call(() => native().catalogModel(model))) as ModelInfo | null;
}
