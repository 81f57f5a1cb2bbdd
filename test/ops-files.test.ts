import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildApp } from '../src/server/http-server.js';
import { useTestEnv } from './helpers/test-env.js';

const ROOT = join(import.meta.dirname, '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: { severity?: string };
  annotations?: { summary?: string };
}
interface Panel {
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: Array<{ expr: string; datasource?: { uid: string } }>;
}

const alerts = parse(read('ops/prometheus/alerts.yml')) as { groups: Array<{ name: string; rules: Rule[] }> };
const rules = alerts.groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(read('ops/grafana/intercom-etl.json')) as { uid: string; panels: Panel[] };
const graphPanels = dashboard.panels.filter((p) => p.type !== 'row');

/** Every intercom_etl_* name in a PromQL expression. */
const metricNames = (expr: string): string[] => [...expr.matchAll(/\bintercom_etl_[a-z0-9_]+/g)].map((m) => m[0]);

/** Names /metrics exports: each family, and a histogram's _bucket, _count and _sum series. */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram' || type === 'summary') for (const s of ['_bucket', '_count', '_sum']) names.add(`${name}${s}`);
  }
  return names;
}

describe('alerts and dashboard shipped in ops/', () => {
  const getEnv = useTestEnv();

  it('reference only metrics that /metrics exports', async () => {
    const app = buildApp(getEnv().ctx, { workersRunning: () => true });
    const exported = exportedNames(await (await app.request('http://localhost/metrics')).text());
    expect(exported.size).toBeGreaterThan(20);

    const referenced = [
      ...rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
      ...graphPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
    ];
    const missing = referenced.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((n) => !exported.has(n))
        .map((n) => `${where}: ${n}`),
    );
    expect(missing).toEqual([]);
    // Each expression measures something of ours (or Prometheus' own `up` of our scrape job).
    for (const { where, expr } of referenced)
      expect(metricNames(expr).length > 0 || /\bup\{job="intercom-etl"\}/.test(expr), where).toBe(true);
  });

  it('cover what the on-call needs, each alert with a severity and a summary', () => {
    const names = rules.map((r) => r.alert);
    for (const wanted of ['NightFailed', 'WindowsFailed', 'ReportsStale', 'NoLiveWorker', 'Intercom429Sustained']) {
      expect(
        names.some((n) => n.endsWith(wanted)),
        wanted,
      ).toBe(true);
    }
    for (const r of rules) {
      expect(r.labels?.severity, r.alert).toMatch(/^(critical|warning)$/);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.for, r.alert).toMatch(/^\d+[smh]$/);
      expect(balanced(r.expr), r.alert).toBe(true);
    }
    expect(new Set(names).size).toBe(names.length);
  });

  it('wire the dashboard to the provisioned Prometheus data source, and Prometheus to the alerts', () => {
    const datasources = parse(read('ops/grafana/provisioning/datasources/prometheus.yml')) as { datasources: Array<{ uid: string }> };
    const uid = datasources.datasources[0]!.uid;
    expect(graphPanels.length).toBeGreaterThan(10);
    for (const p of graphPanels) {
      expect(p.datasource?.uid, p.title).toBe(uid);
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(balanced(t.expr), p.title).toBe(true);
    }
    const ids = dashboard.panels.map((p) => (p as unknown as { id: number }).id);
    expect(new Set(ids).size).toBe(ids.length);
    const prometheus = parse(read('ops/prometheus/prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: Array<{ job_name: string }>;
    };
    expect(prometheus.rule_files).toContain('/etc/prometheus/alerts.yml');
    expect(prometheus.scrape_configs.map((s) => s.job_name)).toContain('intercom-etl');
  });
});

/** Brackets, braces and parentheses close in order, outside quoted strings. */
function balanced(expr: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  let quote: string | null = null;
  for (const c of expr) {
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if ('([{'.includes(c)) stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0 && quote === null;
}
