import { Readable } from 'node:stream';

/** Why reading the body stopped early; the owner turns it into a taxonomy error. */
export interface BodyFailure {
  /** The network sent nothing for this long while we were waiting for bytes. */
  timedOutAfterMs?: number;
  /** The caller's signal fired. */
  aborted?: boolean;
  cause?: unknown;
}

export interface WebBodyOptions {
  /** Fail when a pending read gets no bytes for this long, in ms. */
  idleTimeoutMs: number;
  /** The caller's signal, to tell "aborted by the caller" from a network failure. */
  callerSignal?: AbortSignal;
  /** Cancels the underlying request (frees the socket). */
  abort: () => void;
  errorFor: (failure: BodyFailure) => Error;
  /** Called once when the body has been read to the end. */
  onEnd?: (bytes: number) => void;
}

/**
 * A Node Readable over a fetch body that counts the bytes received and fails on network stalls.
 *
 * We pull the web reader ourselves instead of using `Readable.fromWeb`: the idle timer must only
 * run while *we* wait for the network. `fromWeb` reads ahead on its own schedule, so a slow consumer
 * (a Postgres COPY applying backpressure) would look like a stalled download. Nothing is buffered
 * beyond one chunk plus the Readable's own high-water mark.
 */
export class WebBodyReadable extends Readable {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | null;
  readonly #opts: WebBodyOptions;
  #bytes = 0;
  #reading = false;
  #done = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(body: ReadableStream<Uint8Array> | null, opts: WebBodyOptions) {
    super();
    this.#reader = body === null ? null : body.getReader();
    this.#opts = opts;
  }

  /** Bytes received from the network so far (after any HTTP `Content-Encoding` was undone by fetch). */
  get bytesReceived(): number {
    return this.#bytes;
  }

  override _read(): void {
    if (this.#reading || this.#done) return;
    const reader = this.#reader;
    if (reader === null) {
      this.#finish();
      return;
    }
    this.#reading = true;
    this.#timer = setTimeout(() => {
      this.destroy(this.#opts.errorFor({ timedOutAfterMs: this.#opts.idleTimeoutMs }));
    }, this.#opts.idleTimeoutMs);
    reader.read().then(
      ({ done, value }) => {
        clearTimeout(this.#timer);
        this.#reading = false;
        if (this.destroyed) return;
        if (done) {
          this.#finish();
          return;
        }
        this.#bytes += value.byteLength;
        this.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      },
      (err: unknown) => {
        clearTimeout(this.#timer);
        this.#reading = false;
        if (this.destroyed) return;
        const aborted = this.#opts.callerSignal?.aborted === true;
        this.destroy(this.#opts.errorFor(aborted ? { aborted: true } : { cause: err }));
      },
    );
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#timer);
    if (!this.#done) {
      // Stop the transfer: an abandoned body would otherwise keep the socket busy until it drains.
      this.#done = true;
      this.#reader?.cancel().catch(() => undefined);
      this.#opts.abort();
    }
    callback(err);
  }

  #finish(): void {
    this.#done = true;
    this.#opts.onEnd?.(this.#bytes);
    this.push(null);
  }
}
