/**
 * The OpenAI-compatible shapes every AI Hub SDK speaks: requests as callers write them and
 * responses as aihub-core returns them (plain objects, `JSON.parse` output). Fields that
 * only some providers send are optional; unknown fields pass through untouched.
 */

/** Text, image or audio parts of a user message. */
export type ContentPart =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: { url: string; detail?: "auto" | "low" | "high" } }
  | { type: "input_audio"; input_audio: { data: string; format: string } };

/** A message's content: plain text or parts. */
export type MessageContent = string | ContentPart[];

/** A function the model called, with its arguments as JSON text. */
export interface FunctionCall {
  name: string;
  arguments: string;
}

/** One tool call of an assistant message. */
export interface ToolCall {
  id: string;
  type: "function";
  function: FunctionCall;
}

/** A system (or developer) message. */
export interface SystemMessage {
  role: "system" | "developer";
  content: MessageContent;
  name?: string;
}

/** A user message. */
export interface UserMessage {
  role: "user";
  content: MessageContent;
  name?: string;
}

/** An assistant message sent back in a later turn (a returned `message` fits as is). */
export interface AssistantMessage {
  role: "assistant";
  content?: MessageContent | null;
  refusal?: string | null;
  name?: string;
  tool_calls?: ToolCall[] | null;
  reasoning_content?: string | null;
}

/** The result of a tool call. */
export interface ToolMessage {
  role: "tool";
  content: MessageContent;
  tool_call_id: string;
}

/** Any chat message. */
export type ChatMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

/** A function the model may call. */
export interface FunctionDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments. */
  parameters?: Record<string, unknown>;
  strict?: boolean;
}

/** A tool the model may call. */
export interface Tool {
  type: "function";
  function: FunctionDefinition;
}

/** Which tool the model must call, if any. */
export type ToolChoice = "none" | "auto" | "required" | { type: "function"; function: { name: string } };

/** The format of the answer. */
export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | {
      type: "json_schema";
      json_schema: { name: string; description?: string; schema?: Record<string, unknown>; strict?: boolean };
    };

/** `POST /chat/completions` parameters. Fields AI Hub does not know are passed through. */
export interface ChatCompletionCreateParamsBase {
  /** A model id (`gpt-4o-mini`, `anthropic/claude-sonnet-4-5`, an alias, …). */
  model: string;
  messages: ChatMessage[];
  temperature?: number | null;
  top_p?: number | null;
  n?: number | null;
  stream_options?: { include_usage?: boolean } | null;
  stop?: string | string[] | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
  logprobs?: boolean | null;
  top_logprobs?: number | null;
  seed?: number | null;
  user?: string;
  tools?: Tool[];
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean;
  response_format?: ResponseFormat;
  reasoning_effort?: "minimal" | "low" | "medium" | "high" | (string & {});
  /** Provider-specific fields, passed through. */
  [extra: string]: unknown;
}

/** Parameters of a completion returned whole. */
export interface ChatCompletionCreateParamsNonStreaming extends ChatCompletionCreateParamsBase {
  stream?: false | null;
}

/** Parameters of a streamed completion. */
export interface ChatCompletionCreateParamsStreaming extends ChatCompletionCreateParamsBase {
  stream: true;
}

/** Either kind of chat parameters. */
export type ChatCompletionCreateParams = ChatCompletionCreateParamsNonStreaming | ChatCompletionCreateParamsStreaming;

/** Why the model stopped. */
export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "function_call";

/** Token counts of a call. */
export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: {
    cached_tokens?: number;
    audio_tokens?: number;
    /** Tokens written to the prompt cache (5-minute and 1-hour writes); an AI Hub extension. */
    cache_write_tokens?: number;
    /** Of `cache_write_tokens`, those written to Anthropic's 1-hour cache; an AI Hub extension. */
    cache_write_1h_tokens?: number;
  } | null;
  completion_tokens_details?: {
    reasoning_tokens?: number;
    audio_tokens?: number;
    accepted_prediction_tokens?: number;
    rejected_prediction_tokens?: number;
  } | null;
  /**
   * What the AI Hub gateway charged for the request, an exact decimal string (`"0.0000057"`)
   * equal to the cost of its usage record; absent when the gateway did not price it, and in
   * direct mode.
   */
  cost?: string;
  /** Currency of {@link cost} (`"USD"`, `"CNY"`), the currency of the model's price. */
  cost_currency?: string;
  /** `true` when the provider reported no usage and the AI Hub gateway counted the tokens. */
  estimated?: boolean;
}

/** The assistant's answer. */
export interface ChatCompletionMessage {
  role: "assistant";
  content: string | null;
  refusal?: string | null;
  tool_calls?: ToolCall[];
  /** Reasoning text, for models that return it (DeepSeek, Qwen, Claude thinking, Gemini thoughts). */
  reasoning_content?: string;
  [extra: string]: unknown;
}

/** One choice of a completion. */
export interface ChatCompletionChoice {
  index: number;
  message: ChatCompletionMessage;
  finish_reason: FinishReason | null;
  logprobs?: unknown;
}

/** A chat completion. */
export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: ChatCompletionChoice[];
  usage?: CompletionUsage;
  system_fingerprint?: string;
  service_tier?: string;
  [extra: string]: unknown;
}

/** A piece of a tool call in a stream. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function?: { name?: string; arguments?: string };
}

/** What a chunk adds to a choice. */
export interface ChatCompletionChunkDelta {
  role?: "assistant";
  content?: string | null;
  refusal?: string | null;
  tool_calls?: ToolCallDelta[];
  reasoning_content?: string;
  [extra: string]: unknown;
}

/** One choice of a chunk. */
export interface ChatCompletionChunkChoice {
  index: number;
  delta: ChatCompletionChunkDelta;
  finish_reason: FinishReason | null;
  logprobs?: unknown;
}

/** One event of a streamed completion. */
export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: ChatCompletionChunkChoice[];
  usage?: CompletionUsage | null;
  system_fingerprint?: string;
  service_tier?: string;
  [extra: string]: unknown;
}

/** `POST /embeddings` parameters. */
export interface EmbeddingCreateParams {
  model: string;
  input: string | string[] | number[] | number[][];
  encoding_format?: "float" | "base64";
  dimensions?: number;
  user?: string;
  [extra: string]: unknown;
}

/** One embedding: numbers, or base64 text when asked for. */
export interface Embedding {
  object: "embedding";
  index: number;
  embedding: number[] | string;
}

/** An embeddings response. */
export interface CreateEmbeddingResponse {
  object: "list";
  data: Embedding[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

/** A model the gateway or a provider serves. */
export interface Model {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
  [extra: string]: unknown;
}

/** `GET /models`. */
export interface ModelList {
  object: "list";
  data: Model[];
}

/**
 * The rates of a request whose prompt has more than `above_prompt_tokens` tokens, as exact
 * decimal strings; an absent cache price falls back to the tier's `input` (`cache_write_1h`
 * to its `cache_write`).
 */
export interface ModelPriceTier {
  above_prompt_tokens: number;
  input: string;
  cached_input?: string | null;
  cache_write?: string | null;
  cache_write_1h?: string | null;
  output: string;
}

/**
 * Prices per million tokens, as exact decimal strings. `cached_input` and `cache_write`
 * default to `input`, `cache_write_1h` to `cache_write`; `per_request` is a fixed amount per
 * request (not per million). A request whose prompt is longer than a tier's
 * `above_prompt_tokens` is charged at the last such tier for all its tokens.
 */
export interface ModelPrice {
  currency: "USD" | "CNY";
  input: string;
  cached_input?: string | null;
  cache_write?: string | null;
  cache_write_1h?: string | null;
  output: string;
  per_request?: string | null;
  tiers: ModelPriceTier[];
  as_of: string;
  source: string;
}

/** A model of the built-in catalog. */
export interface ModelInfo {
  /** `provider/model`. */
  id: string;
  /** The provider's own name for it. */
  upstream: string;
  aliases: string[];
  mode: "chat" | "embedding";
  context_window: number;
  max_output: number;
  capabilities: { tools: boolean; vision: boolean; json: boolean; reasoning: boolean };
  price?: ModelPrice | null;
}

/** An exact cost: a decimal string (never a float) and its currency. */
export interface Cost {
  amount: string;
  currency: "USD" | "CNY";
}

/**
 * Token counts for {@link estimateCost}; `promptTokens` includes cached and cache-write tokens,
 * and `cacheWriteTokens` the 1-hour writes `cacheWrite1hTokens`.
 */
export interface TokenCounts {
  promptTokens: number;
  completionTokens?: number;
  cachedTokens?: number;
  cacheWriteTokens?: number;
  cacheWrite1hTokens?: number;
}

/** The tokenizer a model is counted with, and whether its counts are exact or an estimate. */
export interface TokenEncoding {
  encoding: string;
  exact: boolean;
}
