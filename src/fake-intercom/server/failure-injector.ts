/** Test-only failure injection: the next N matching requests answer a chosen status. */

export interface FailureRule {
  method?: string;
  /** A string is a prefix of the request path (no query); a RegExp is tested against the path. */
  path: string | RegExp;
  status: number;
  count?: number;
  /** For a 429: send `Retry-After` with this many seconds (default: the rate-limit window's reset only). */
  retryAfterSeconds?: number;
}

/** What an injected failure answers. */
export interface InjectedFailure {
  status: number;
  retryAfterSeconds?: number;
}

interface ActiveRule {
  method: string | undefined;
  path: string | RegExp;
  status: number;
  retryAfterSeconds: number | undefined;
  remaining: number;
}

export class FailureInjector {
  private readonly rules: ActiveRule[] = [];

  add(rule: FailureRule): void {
    const count = rule.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new Error(`injectFailure count must be a positive integer, got ${count}`);
    if (!Number.isInteger(rule.status) || rule.status < 400 || rule.status > 599) {
      throw new Error(`injectFailure status must be an HTTP error status (400-599), got ${rule.status}`);
    }
    this.rules.push({
      method: rule.method?.toUpperCase(),
      path: rule.path,
      status: rule.status,
      retryAfterSeconds: rule.retryAfterSeconds,
      remaining: count,
    });
  }

  /** What to answer instead of handling the request, consuming one use of the first matching rule. */
  take(method: string, pathname: string): InjectedFailure | undefined {
    const index = this.rules.findIndex((rule) => matches(rule, method, pathname));
    if (index < 0) return undefined;
    const rule = this.rules[index]!;
    rule.remaining -= 1;
    if (rule.remaining === 0) this.rules.splice(index, 1);
    return rule.retryAfterSeconds === undefined
      ? { status: rule.status }
      : { status: rule.status, retryAfterSeconds: rule.retryAfterSeconds };
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
