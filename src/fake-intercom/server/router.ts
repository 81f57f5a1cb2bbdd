import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { ResponseKind } from './accept.js';

/** What a route handler gets: the parsed request plus the response to write. */
export interface FakeRequest {
  method: string;
  pathname: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Canonical `Intercom-Version` in effect (header or default). */
  apiVersion: string;
  res: ServerResponse;
}

export interface Route {
  method: string;
  /** Path with `:name` parameter segments, e.g. `/export/reporting_data/:job_identifier`. */
  pattern: string;
  /** Media type the route answers with; decides the Accept check. */
  produces: ResponseKind;
  handle(req: FakeRequest): void | Promise<void>;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

interface CompiledRoute {
  route: Route;
  segments: string[];
  literalCount: number;
}

/**
 * A tiny router. Among patterns that match a path, the one with the most literal segments wins, so
 * `/export/reporting_data/get_datasets` beats `/export/reporting_data/:job_identifier`; a path whose
 * best pattern has no route for the method is a 404, as Intercom answers unsupported methods.
 */
export class Router {
  private readonly routes: CompiledRoute[] = [];

  add(...routes: Route[]): void {
    for (const route of routes) {
      const segments = splitPath(route.pattern);
      this.routes.push({ route, segments, literalCount: segments.filter((s) => !s.startsWith(':')).length });
    }
  }

  match(method: string, pathname: string): RouteMatch | undefined {
    const pathSegments = splitPath(pathname);
    let best: { compiled: CompiledRoute; params: Record<string, string> }[] = [];
    let bestLiterals = -1;
    for (const compiled of this.routes) {
      const params = matchSegments(compiled.segments, pathSegments);
      if (params === undefined) continue;
      if (compiled.literalCount > bestLiterals) {
        best = [{ compiled, params }];
        bestLiterals = compiled.literalCount;
      } else if (compiled.literalCount === bestLiterals) {
        best.push({ compiled, params });
      }
    }
    const hit = best.find((b) => b.compiled.route.method === method.toUpperCase());
    return hit ? { route: hit.compiled.route, params: hit.params } : undefined;
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

function matchSegments(pattern: string[], path: string[]): Record<string, string> | undefined {
  if (pattern.length !== path.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const actual = path[i]!;
    if (p.startsWith(':')) {
      try {
        params[p.slice(1)] = decodeURIComponent(actual);
      } catch {
        return undefined; // malformed %-escape: no route can match
      }
    } else if (p !== actual) {
      return undefined;
    }
  }
  return params;
}
