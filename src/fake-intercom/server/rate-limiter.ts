/**
 * Intercom's request budget: per app (token) and per workspace, each spread evenly over 10-second
 * windows. Windows are aligned to 10 s boundaries of the (injectable) clock so tests can step over
 * them deterministically.
 */

const WINDOW_MS = 10_000;

export interface RateLimitDecision {
  allowed: boolean;
  /** Per-window limit of the budget reported in the headers (the tighter one). */
  limit: number;
  remaining: number;
  /** Unix seconds of the next window boundary. */
  resetAtS: number;
}

export class RateLimiter {
  private window = Number.NaN;
  private readonly appCounts = new Map<string, number>();
  private workspaceCount = 0;

  constructor(
    private readonly limits: { perAppPer10s: number; perWorkspacePer10s: number },
    private readonly now: () => number,
  ) {}

  /** Count one request of `app`; a rejected request does not use budget. */
  take(app: string): RateLimitDecision {
    const nowMs = this.now();
    const window = Math.floor(nowMs / WINDOW_MS);
    if (window !== this.window) {
      this.window = window;
      this.appCounts.clear();
      this.workspaceCount = 0;
    }
    const resetAtS = ((window + 1) * WINDOW_MS) / 1000;
    const appUsed = this.appCounts.get(app) ?? 0;
    const { perAppPer10s, perWorkspacePer10s } = this.limits;
    const allowed = appUsed < perAppPer10s && this.workspaceCount < perWorkspacePer10s;
    if (allowed) {
      this.appCounts.set(app, appUsed + 1);
      this.workspaceCount += 1;
    }
    const appRemaining = perAppPer10s - (this.appCounts.get(app) ?? 0);
    const workspaceRemaining = perWorkspacePer10s - this.workspaceCount;
    // Report whichever budget runs out first, so Remaining always means "requests you may still send".
    return workspaceRemaining < appRemaining
      ? { allowed, limit: perWorkspacePer10s, remaining: Math.max(0, workspaceRemaining), resetAtS }
      : { allowed, limit: perAppPer10s, remaining: Math.max(0, appRemaining), resetAtS };
  }

  /** Headers for a response when a request was rejected by injection: same window, nothing left. */
  exhausted(): RateLimitDecision {
    const window = Math.floor(this.now() / WINDOW_MS);
    return { allowed: false, limit: this.limits.perAppPer10s, remaining: 0, resetAtS: ((window + 1) * WINDOW_MS) / 1000 };
  }
}

export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  return {
    'X-RateLimit-Limit': String(decision.limit),
    'X-RateLimit-Remaining': String(decision.remaining),
    'X-RateLimit-Reset': String(decision.resetAtS),
  };
}

export function rateLimitMessage(limit: number): string {
  return `Exceeded rate limit of ${limit} in 10_seconds`;
}
