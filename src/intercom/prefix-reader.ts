import { Readable } from 'node:stream';

/**
 * Reads the first bytes of a byte stream (to sniff magic numbers and parse a zip header) and then
 * hands over the rest, those bytes included, as a normal stream. Only the requested prefix is ever
 * held in memory; the rest flows with backpressure.
 */
export class PrefixReader {
  readonly #source: Readable;
  readonly #it: AsyncIterator<unknown>;
  #buffered: Buffer = Buffer.alloc(0);
  #ended = false;

  constructor(source: Readable) {
    this.#source = source;
    this.#it = source[Symbol.asyncIterator]();
  }

  /**
   * Buffers until at least `n` bytes are available or the source ended, and returns everything
   * buffered (possibly more than `n`, fewer only at the end of the stream). Handles any chunking,
   * down to one byte per chunk.
   */
  async peek(n: number): Promise<Buffer> {
    while (this.#buffered.length < n && !this.#ended) {
      const r = await this.#it.next();
      if (r.done) {
        this.#ended = true;
        break;
      }
      const chunk = toBuffer(r.value);
      if (chunk.length > 0) this.#buffered = Buffer.concat([this.#buffered, chunk]);
    }
    return this.#buffered;
  }

  /** Drops `n` buffered bytes (call `peek(n)` first). */
  skip(n: number): void {
    this.#buffered = this.#buffered.subarray(Math.min(n, this.#buffered.length));
  }

  /** The bytes not skipped, then the rest of the source. Call once, after the last `peek`. */
  rest(): Readable {
    const it = this.#it;
    const first = this.#buffered;
    const ended = this.#ended;
    this.#buffered = Buffer.alloc(0);
    async function* remaining(): AsyncGenerator<Buffer> {
      try {
        if (first.length > 0) yield first;
        if (ended) return;
        for (;;) {
          const r = await it.next();
          if (r.done) return;
          yield toBuffer(r.value);
        }
      } finally {
        // Stops the source when the consumer gives up early.
        await it.return?.();
      }
    }
    return Readable.from(remaining(), { objectMode: false });
  }

  /** Gives up without reading the rest: destroys the source. */
  cancel(): void {
    this.#source.destroy();
  }
}

function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw new TypeError(`Expected bytes in the download stream, got ${typeof value}`);
}
