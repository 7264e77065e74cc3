/**
 * Streams: an `AsyncIterable` of chunks over one native stream. Each step takes every chunk
 * already received in one crossing into Rust, then hands them out one at a time. Leaving a
 * `for await` early (`break`, `return`, an exception), `stream.controller.abort()` or the
 * call's `AbortSignal` closes the native stream, which closes the connection and so cancels
 * the request upstream (a gateway records it as status 499).
 */

import { abortError, callAsync, errorFromInfo, type ErrorInfo } from "./errors.js";
import type { NativeStream } from "./native.js";

/** One native step, as JSON. */
interface Batch<T> {
  chunks: T[];
  error: ErrorInfo | null;
  done: boolean;
}

/** A streamed response: iterate it once with `for await`. */
export class Stream<T> implements AsyncIterable<T> {
  /** Aborting it stops the stream and cancels the request. */
  readonly controller: AbortController;
  #native: NativeStream;
  #iterated = false;
  #closed = false;

  /** Wraps a started native stream; `controller` aborts it. */
  constructor(nativeStream: NativeStream, controller: AbortController = new AbortController()) {
    this.#native = nativeStream;
    this.controller = controller;
    if (controller.signal.aborted) {
      this.#close();
    } else {
      controller.signal.addEventListener("abort", () => this.#close(), { once: true });
    }
  }

  /** Stops the stream and cancels the request (the same as `controller.abort()`). */
  abort(): void {
    this.controller.abort();
  }

  #close(): void {
    if (!this.#closed) {
      this.#closed = true;
      this.#native.close();
    }
  }

  /** The chunks, in order; an error that ended the stream is thrown after the chunks before it. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterated) {
      throw new Error("Cannot iterate over a consumed stream; a stream can be read only once.");
    }
    this.#iterated = true;
    const signal = this.controller.signal;
    try {
      for (;;) {
        if (signal.aborted) {
          throw abortError();
        }
        const text = await callAsync(() => this.#native.nextBatch());
        if (signal.aborted) {
          throw abortError();
        }
        const batch = JSON.parse(text) as Batch<T>;
        for (const chunk of batch.chunks) {
          yield chunk;
        }
        if (batch.error !== null) {
          throw errorFromInfo(batch.error);
        }
        if (batch.done) {
          return;
        }
      }
    } finally {
      this.#close();
    }
  }

  /** Reads the whole stream into an array (for tests and small answers). */
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const item of this) {
      out.push(item);
    }
    return out;
  }
}
