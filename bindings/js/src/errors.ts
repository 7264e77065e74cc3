/**
 * The errors every AI Hub SDK raises: one class per aihub-core error variant, with the same
 * names in Python and JavaScript (`RateLimitError`, `AuthenticationError`, …). All extend
 * {@link APIError}, which extends `Error`.
 */

import { NATIVE_ERROR_PREFIX } from "./native.js";

/** The error as aihub-core describes it (`Error::to_sdk_json`). */
export interface ErrorInfo {
  class: string;
  kind: string;
  message: string;
  status: number | null;
  code: string | null;
  type: string | null;
  param: string | null;
  requestId: string | null;
  provider: string | null;
  retryAfter: number | null;
  /** The AI Hub gateway limit that refused the request; absent when none did. */
  limit?: string | null;
}

/** Any failure of an AI Hub call. */
export class APIError extends Error {
  /** HTTP status of the answer, `undefined` when none came back (no connection, timeout). */
  readonly status: number | undefined;
  /** OpenAI error code (`invalid_api_key`, `rate_limit_exceeded`, …). */
  readonly code: string | undefined;
  /** OpenAI error type (`invalid_request_error`, …). */
  readonly type: string | undefined;
  /** The request field the error is about. */
  readonly param: string | undefined;
  /** The server's request id, for support. */
  readonly requestId: string | undefined;
  /** The provider that answered, in direct mode. */
  readonly provider: string | undefined;
  /** aihub-core's name of the error variant (`rate_limit`, `authentication`, …). */
  readonly kind: string;
  /**
   * The AI Hub gateway limit that refused the request (`key.rpm`, `plan.tpm`,
   * `budget.api_key.monthly`, …); `undefined` for every other error.
   */
  readonly limit: string | undefined;

  /** Builds the error from aihub-core's description of it. */
  constructor(info: ErrorInfo) {
    super(info.message);
    this.name = new.target.name;
    this.status = info.status ?? undefined;
    this.code = info.code ?? undefined;
    this.type = info.type ?? undefined;
    this.param = info.param ?? undefined;
    this.requestId = info.requestId ?? undefined;
    this.provider = info.provider ?? undefined;
    this.kind = info.kind;
    this.limit = info.limit ?? undefined;
  }
}

/** 400: the request is invalid. */
export class BadRequestError extends APIError {}
/** 400: the provider's content filter rejected the prompt or the answer. */
export class ContentFilterError extends BadRequestError {}
/** 413: the request body is too large. */
export class RequestTooLargeError extends APIError {}
/** 401: the key is missing, invalid or revoked. */
export class AuthenticationError extends APIError {}
/** 403: the key may not use this model or endpoint. */
export class PermissionDeniedError extends APIError {}
/** 404: unknown model or route. */
export class NotFoundError extends APIError {}
/** 429: too many requests or tokens for now; retrying after {@link retryAfter} may work. */
export class RateLimitError extends APIError {
  /** Seconds the server asked to wait, when it said. */
  readonly retryAfter: number | undefined;

  /** Builds the error from aihub-core's description of it. */
  constructor(info: ErrorInfo) {
    super(info);
    this.retryAfter = info.retryAfter ?? undefined;
  }
}
/** 429: a quota or budget is spent; retrying will not help (deliberately not a RateLimitError). */
export class InsufficientQuotaError extends APIError {}
/** 5xx from the gateway or provider. */
export class InternalServerError extends APIError {}
/** The call took longer than its timeout. */
export class APITimeoutError extends APIError {}
/** No connection could be made, or it broke. */
export class APIConnectionError extends APIError {}
/** The server answered with something that is not a valid response (or a cut stream). */
export class InvalidResponseError extends APIError {}
/** The client's settings are invalid (or a feature is missing from this build). */
export class ConfigurationError extends APIError {}
/** The caller cancelled the call (an `AbortSignal`, `stream.controller.abort()`, `break`). */
export class APIUserAbortError extends APIError {}

const CLASSES: Record<string, new (info: ErrorInfo) => APIError> = {
  APIError,
  BadRequestError,
  ContentFilterError,
  RequestTooLargeError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  RateLimitError,
  InsufficientQuotaError,
  InternalServerError,
  APITimeoutError,
  APIConnectionError,
  InvalidResponseError,
  ConfigurationError,
  APIUserAbortError,
};

/** The error class for aihub-core's description of an error. */
export function errorFromInfo(info: ErrorInfo): APIError {
  const Class = CLASSES[info.class] ?? APIError;
  return new Class(info);
}

/** An error of the SDK's own making, described as aihub-core would. */
export function localError(cls: string, kind: string, message: string, param: string | null = null): APIError {
  return errorFromInfo({
    class: cls,
    kind,
    message,
    status: null,
    code: null,
    type: null,
    param,
    requestId: null,
    provider: null,
    retryAfter: null,
  });
}

/** The user-abort error. */
export function abortError(): APIError {
  return localError("APIUserAbortError", "aborted", "Request was aborted.");
}

/** Turns what a native call threw into the SDK's error class (other throwables pass through). */
export function translateError(thrown: unknown): unknown {
  if (thrown instanceof Error && thrown.message.startsWith(NATIVE_ERROR_PREFIX)) {
    try {
      return errorFromInfo(JSON.parse(thrown.message.slice(NATIVE_ERROR_PREFIX.length)) as ErrorInfo);
    } catch {
      return thrown;
    }
  }
  return thrown;
}

/** Runs a native call, turning its errors into the SDK's classes. */
export function call<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw translateError(e);
  }
}

/** Awaits a native promise, turning its errors into the SDK's classes. */
export async function callAsync<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw translateError(e);
  }
}
