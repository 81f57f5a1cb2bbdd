import { mulberry32 } from '../reporting/hashing.js';
/**
 * Failure injection (tests, and `fake-intercom --fail-rate/--status-404/--faults` by hand): matching
 * requests answer a chosen error status instead of being handled.
 */

export interface FailureRule {
  method?: string;
  /** A string is a prefix of the request path (no query); a RegExp is tested against the path. */
  path: string | RegExp;
  status: number;
  /** How many matching requests fail before the rule is used up. Default 1; unlimited when `rate` is set. */
  count?: number;
  /** For a 429: send `Retry-After` with this many seconds (default: the rate-limit window's reset only). */
  retryAfterSeconds?: number;
  /** Fail only this fraction (0 < rate ≤ 1) of the matching requests, chosen by a seeded generator. */
  rate?: number;
  /**
   * Echo the request's `Authorization` header in the reason phrase and the error message, as a
   * misbehaving proxy or server might: rehearses that the client never repeats its token.
   */
  echoToken?: boolean;
}

/** What an injected failure answers. */
export interface InjectedFailure {
  status: number;
  retryAfterSeconds?: number;
  echoToken: boolean;
}

interface ActiveRule {
  method: string | undefined;
  path: string | RegExp;
  status: number;
  retryAfterSeconds: number | undefined;
  remaining: number;
  rate: number;
  echoToken: boolean;
}

export class FailureInjector {
  private readonly rules: ActiveRule[] = [];
  /** Deterministic, so a run with `--fail-rate` can be repeated exactly. */
  private random: () => number;

  constructor(seed = 42) {
    this.random = mulberry32(seed);
  }

  add(rule: FailureRule): void {
    const rate = rule.rate ?? 1;
    if (!(rate > 0 && rate <= 1)) throw new Error(`injectFailure rate must be a fraction in (0, 1], got ${rule.rate}`);
    const count = rule.count ?? (rule.rate === undefined ? 1 : Number.POSITIVE_INFINITY);
    if (!(Number.isInteger(count) || count === Number.POSITIVE_INFINITY) || count < 1) {
      throw new Error(`injectFailure count must be a positive integer, got ${count}`);
    }
    if (!Number.isInteger(rule.status) || rule.status < 400 || rule.status > 599) {
      throw new Error(`injectFailure status must be an HTTP error status (400-599), got ${rule.status}`);
    }
    this.rules.push({
      method: rule.method?.toUpperCase(),
      path: rule.path,
      status: rule.status,
      retryAfterSeconds: rule.retryAfterSeconds,
      remaining: count,
      rate,
      echoToken: rule.echoToken ?? false,
    });
  }

  /**
   * The failure to answer instead of handling the request, consuming one use of the first matching
   * rule that fires (a rule with a `rate` below 1 lets the request through to the next one otherwise).
   */
  take(method: string, pathname: string): InjectedFailure | undefined {
    for (let index = 0; index < this.rules.length; index++) {
      const rule = this.rules[index]!;
      if (!matches(rule, method, pathname)) continue;
      if (rule.rate < 1 && this.random() >= rule.rate) continue;
      rule.remaining -= 1;
      if (rule.remaining === 0) this.rules.splice(index, 1);
      return rule.retryAfterSeconds === undefined
        ? { status: rule.status, echoToken: rule.echoToken }
        : { status: rule.status, echoToken: rule.echoToken, retryAfterSeconds: rule.retryAfterSeconds };
    }
    return undefined;
  }

  clear(): void {
    this.rules.length = 0;
  }
}

function matches(rule: ActiveRule, method: string, pathname: string): boolean {
  if (rule.method !== undefined && rule.method !== method.toUpperCase()) return false;
  if (typeof rule.path === 'string') return pathname.startsWith(rule.path);
  rule.path.lastIndex = 0; // a /g or /y RegExp keeps state between test() calls
  return rule.path.test(pathname);
}
