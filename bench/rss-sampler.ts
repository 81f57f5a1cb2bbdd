/**
 * Samples `process.memoryUsage().rss` on an interval while started; keeps the peak across all the
 * periods it ran. (`process.resourceUsage().maxRSS` is the OS's own high-water mark for the whole
 * process, generation included; this one covers only the periods of interest.)
 */
export class RssSampler {
  #timer: NodeJS.Timeout | null = null;
  #peak = 0;
  #samples = 0;

  constructor(private readonly intervalMs = 50) {}

  start(): void {
    if (this.#timer) return;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), this.intervalMs);
    this.#timer.unref(); // never what keeps the process alive
  }

  stop(): void {
    if (!this.#timer) return;
    clearInterval(this.#timer);
    this.#timer = null;
    this.#sample();
  }

  /** Peak RSS seen, in bytes. */
  get peakBytes(): number {
    return this.#peak;
  }

  get samples(): number {
    return this.#samples;
  }

  #sample(): void {
    this.#samples++;
    const rss = process.memoryUsage().rss;
    if (rss > this.#peak) this.#peak = rss;
  }
}
