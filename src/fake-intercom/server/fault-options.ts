import type { FailureRule } from './failure-injector.js';

/**
 * The failure-injection options of the `fake-intercom` command, as rules for the FailureInjector:
 * a user rehearses by hand what the tests do (a flaky API, a status 404 loop, a proxy that echoes
 * the token).
 */
export interface FaultOptions {
  /** Fraction (0–1] of the requests under `failPath` that answer `failStatus`. */
  failRate?: number;
  failStatus?: number;
  /** Path prefix `failRate` applies to; default every path. */
  failPath?: string;
  /** The next n export status calls answer 404 (Intercom lost the job). */
  status404?: number;
  /** The next n downloads answer 404 (an expired or unknown download). */
  download404?: number;
  /** Every injected failure echoes the Authorization header in its reason phrase and body. */
  echoToken?: boolean;
  /** Rules from a JSON file (see `parseFaultRules`). */
  rules?: FailureRule[];
}

/** `GET /export/reporting_data/{job_identifier}`, not get_datasets nor enqueue. */
export const EXPORT_STATUS_PATH = /^\/export\/reporting_data\/(?!get_datasets$|enqueue$)[^/]+$/;
export const DOWNLOAD_PATH = /^\/download\/reporting_data\/[^/]+$/;

export function faultRules(o: FaultOptions): FailureRule[] {
  const echo = o.echoToken ? { echoToken: true } : {};
  const rules: FailureRule[] = [];
  if (o.status404) rules.push({ method: 'GET', path: EXPORT_STATUS_PATH, status: 404, count: o.status404, ...echo });
  if (o.download404) rules.push({ method: 'GET', path: DOWNLOAD_PATH, status: 404, count: o.download404, ...echo });
  for (const r of o.rules ?? []) rules.push({ ...echo, ...r });
  if (o.failRate) rules.push({ path: o.failPath ?? '/', status: o.failStatus ?? 500, rate: o.failRate, ...echo });
  return rules;
}

/**
 * A faults file: a JSON array of `{ "method"?, "path", "status", "count"?, "rate"?, "echoToken"? }`.
 * `path` is a prefix of the request path, or a regular expression when written as `"/…/"`.
 * Throws naming the rule and the field that is wrong.
 */
export function parseFaultRules(json: unknown): FailureRule[] {
  if (!Array.isArray(json)) throw new Error('a faults file must hold a JSON array of rules');
  return json.map((raw: unknown, i) => {
    const at = `rule ${i + 1}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${at} is not an object`);
    const r = raw as Record<string, unknown>;
    const known = ['method', 'path', 'status', 'count', 'rate', 'echoToken'];
    const unknown = Object.keys(r).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new Error(`${at} has unknown field(s) ${unknown.join(', ')}; known: ${known.join(', ')}`);
    if (typeof r.path !== 'string' || !r.path.startsWith('/')) throw new Error(`${at}: "path" must be a string starting with /`);
    if (typeof r.status !== 'number') throw new Error(`${at}: "status" must be a number (400-599)`);
    if (r.method !== undefined && typeof r.method !== 'string') throw new Error(`${at}: "method" must be a string`);
    if (r.count !== undefined && typeof r.count !== 'number') throw new Error(`${at}: "count" must be a number`);
    if (r.rate !== undefined && typeof r.rate !== 'number') throw new Error(`${at}: "rate" must be a number`);
    if (r.echoToken !== undefined && typeof r.echoToken !== 'boolean') throw new Error(`${at}: "echoToken" must be true or false`);
    const regex = /^\/(.*)\/([a-z]*)$/.exec(r.path);
    let path: string | RegExp = r.path;
    if (regex && r.path.length > 2) {
      try {
        path = new RegExp(regex[1]!, regex[2]);
      } catch (err) {
        throw new Error(`${at}: "path" is not a valid regular expression: ${(err as Error).message}`);
      }
    }
    return {
      path,
      status: r.status,
      ...(r.method !== undefined ? { method: r.method as string } : {}),
      ...(r.count !== undefined ? { count: r.count as number } : {}),
      ...(r.rate !== undefined ? { rate: r.rate as number } : {}),
      ...(r.echoToken !== undefined ? { echoToken: r.echoToken as boolean } : {}),
    };
  });
}

/** One line per rule, for the command's start-up message. */
export function describeFaultRule(r: FailureRule): string {
  const count = r.count ?? (r.rate === undefined ? 1 : Infinity);
  return `${r.method ?? 'any'} ${String(r.path)} → ${r.status}${r.rate !== undefined ? ` for ${r.rate * 100}% of requests` : ''}${Number.isFinite(count) ? `, ${count} time(s)` : ''}${r.echoToken ? ', echoing the token' : ''}`;
}
