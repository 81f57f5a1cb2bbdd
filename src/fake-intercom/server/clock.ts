/**
 * The fake's one clock. Every time-based behaviour (rate-limit windows, export job latency, scroll idle
 * expiry, ticket `updated_at`) reads `now()`, so `advance()` moves all of them together: a test can
 * jump over a 60 s scroll expiry without sleeping, even when the base clock is the real `Date.now`.
 */
export class FakeClock {
  private offsetMs = 0;

  constructor(private readonly base: () => number) {}

  /** Milliseconds: the base clock plus everything advanced so far. Bound, so it can be passed around. */
  readonly now = (): number => this.base() + this.offsetMs;

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`advanceClock needs a finite number of ms >= 0, got ${ms}`);
    this.offsetMs += ms;
  }
}
