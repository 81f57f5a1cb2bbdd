import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * No Docker engine runs here, so docker-compose.yml is checked by reading it: what a newcomer's
 * `docker compose up` relies on, and that it agrees with the code (ports, drain time, variables).
 */
const ROOT = join(import.meta.dirname, '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  profiles?: string[];
  environment?: Record<string, string>;
  env_file?: Array<{ path: string; required?: boolean }>;
  ports?: string[];
  volumes?: string[];
  stop_grace_period?: string;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string; required?: boolean }> | string[];
  secrets?: string[];
}
const compose = parse(read('docker-compose.yml')) as {
  services: Record<string, Service>;
  secrets: Record<string, { environment: string }>;
};
const { services } = compose;
const worker = services.worker!;

const envFile = (path: string): Record<string, string> =>
  Object.fromEntries(
    read(path)
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

const seconds = (d: string): number => Number(/^(\d+)s$/.exec(d)?.[1] ?? NaN);

describe('docker-compose.yml', () => {
  it('publishes Postgres only on loopback and not on 5432, so a local Postgres keeps its port', () => {
    for (const p of services.postgres!.ports ?? []) {
      expect(p).toMatch(/^127\.0\.0\.1:/);
      expect(p).not.toMatch(/:5432:5432$/);
    }
  });

  it('gives the worker an env_file, basic auth on 0.0.0.0, a healthcheck on /healthz and a grace period longer than its drain', () => {
    expect(worker.env_file).toEqual([{ path: '.env', required: false }]);
    expect(worker.environment!.ETL_HTTP_HOST).toBe('0.0.0.0');
    expect(worker.environment!.ETL_HTTP_AUTH).toMatch(/^etl:\$\{ETL_HTTP_PASSWORD:\?/);
    const port = worker.environment!.ETL_HTTP_PORT!;
    const probe = worker.healthcheck!.test.at(-1)!;
    expect(probe).toContain(`http://127.0.0.1:${port}/healthz`);
    expect(() => new Function(probe)).not.toThrow();
    // The drain is ETL_SHUTDOWN_TIMEOUT_MS (default 30 s), and the process exits at most 5 s after it.
    expect(loadConfig({}, {}).worker.shutdownTimeoutMs).toBe(30_000);
    expect(seconds(worker.stop_grace_period!)).toBeGreaterThan(35);
    expect(worker.ports!.every((p) => p.startsWith('127.0.0.1:') && p.endsWith(`:${port}`))).toBe(true);
  });

  it('starts the worker only once its dependencies are healthy', () => {
    const deps = worker.depends_on as Record<string, { condition: string; required?: boolean }>;
    for (const name of ['postgres', 'redis', 'fake-intercom']) expect(deps[name]?.condition, name).toBe('service_healthy');
    expect(deps['fake-intercom']!.required).toBe(false);
    for (const name of ['postgres', 'redis', 'fake-intercom']) expect(services[name]!.healthcheck?.test.length, name).toBeGreaterThan(0);
    const fakeProbe = services['fake-intercom']!.healthcheck!.test.at(-1)!;
    expect(() => new Function(fakeProbe)).not.toThrow();
  });

  it('has a demo whose .env points the worker (and `compose run worker`) at the fake', () => {
    const fake = services['fake-intercom']!;
    expect(fake.profiles).toEqual(['demo']);
    const demo = envFile('.env.demo');
    expect(demo.COMPOSE_PROFILES?.split(',')).toContain('demo');
    const port = fake.command![fake.command!.indexOf('--port') + 1];
    expect(demo.INTERCOM_BASE_URL).toBe(`http://fake-intercom:${port}`);
    expect(demo.INTERCOM_ACCESS_TOKEN).toBe(fake.command![fake.command!.indexOf('--token') + 1]);
    expect(demo.ETL_HTTP_PASSWORD).toBeTruthy();
  });

  it('adds Prometheus and Grafana in the observability profile, provisioned from files that exist', () => {
    for (const name of ['prometheus', 'grafana']) {
      const s = services[name]!;
      expect(s.profiles).toEqual(['observability']);
      for (const v of s.volumes ?? []) expect(existsSync(join(ROOT, v.split(':')[0]!)), v).toBe(true);
    }
    expect(services.prometheus!.secrets).toContain('etl_http_password');
    expect(compose.secrets.etl_http_password!.environment).toBe('ETL_HTTP_PASSWORD');
    expect(read('ops/prometheus/prometheus.yml')).toContain('password_file: /run/secrets/etl_http_password');
  });

  it('lists in .env.example only variables the product or compose reads', () => {
    const config = read('src/config.ts');
    const composeOnly = new Set(['COMPOSE_PROFILES', 'ETL_HTTP_PASSWORD', 'POSTGRES_PUBLISHED_PORT']);
    const commented = [...read('.env.example').matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!);
    const keys = [...new Set([...commented, ...Object.keys(envFile('.env.demo'))])];
    expect(keys.length).toBeGreaterThan(5);
    for (const k of keys) expect(composeOnly.has(k) || config.includes(`'${k}'`) || config.includes(`e.${k}`), k).toBe(true);
  });
});
