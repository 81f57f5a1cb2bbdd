import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { runCli } from './helpers/cli-process.js';
import { createTestEnv, type TestEnv } from './helpers/test-env.js';

const DAY = 86_400_000;
const day = (offset: number) => new Date(Math.floor(Date.now() / DAY) * DAY + offset * DAY).toISOString().slice(0, 10);

/** The CLI is a contract: later checks drive it. These run the real binary as a child process. */
let env: TestEnv;
let failed = false;
beforeAll(async () => {
  env = await createTestEnv('cli', { migrate: false });
});
afterAll(async () => env.cleanup(failed));

describe('intercom-etl CLI', () => {
  it('migrate applies the migrations once', async (context) => {
    context.onTestFailed(() => void (failed = true));
    const first = await runCli(['migrate'], env.childEnv);
    expect(first.code).toBe(0);
    // Counted, not hard-coded: every new migration would otherwise have to edit this test.
    const count = readdirSync(path.join(import.meta.dirname, '../migrations')).filter((f) => /^\d{4}_.*\.sql$/.test(f)).length;
    expect(first.output).toMatch(new RegExp(`applied ${count} migration\\(s\\)`));
    const again = await runCli(['migrate'], env.childEnv);
    expect(again.output).toMatch(new RegExp(`applied 0 migration\\(s\\); ${count} already applied`));
  });

  it('backfill loads a range, prints a summary and exits 0; a second run is idempotent', async (context) => {
    context.onTestFailed(() => void (failed = true));
    const args = ['backfill', '--from', day(-6), '--to', day(-5), '--dataset', 'conversation', '--dataset', 'admin_status_change'];
    const run = await runCli(args, env.childEnv);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/Queued 4 window\(s\) of 2 dataset\(s\)/);
    expect(run.output).toMatch(/4 window\(s\) loaded, 0 failed/);
    expect(run.output).toMatch(/conversation\s+2\s+0\s+\d+/);
    const count = async () => Number((await env.query<{ n: string }>('SELECT count(*) AS n FROM report_conversation'))[0]!.n);
    const before = await count();
    expect(before).toBeGreaterThan(0);
    const again = await runCli([...args, '--missing-only'], env.childEnv);
    expect(again.code).toBe(0);
    expect(again.output).toMatch(/Queued 0 window\(s\).*4 already loaded, skipped/s);
    expect(await count()).toBe(before);
  });

  it('status shows windows and rows per dataset', async (context) => {
    context.onTestFailed(() => void (failed = true));
    const run = await runCli(['status'], env.childEnv);
    expect(run.code).toBe(0);
    expect(run.output).toMatch(/conversation\s+report_conversation\s+2\s+0\s+0/);
    expect(run.output).toMatch(/conversation\s+report_conversation.*UTC \(detected\)/);
    const json = await runCli(['status', '--json'], env.childEnv);
    const parsed = JSON.parse(json.output) as {
      reports: Array<{ datasetId: string; windowsLoaded: number }>;
      entities: Array<{ stream: string }>;
    };
    expect(parsed.reports.find((d) => d.datasetId === 'conversation')).toMatchObject({ windowsLoaded: 2 });
    expect(parsed.entities.map((e) => e.stream)).toEqual(['companies', 'tickets']);
  });

  it('exits non-zero when a window fails', async (context) => {
    context.onTestFailed(() => void (failed = true));
    env.fake.overrideNextDownload('conversation', 'wrong_header\n1\n');
    const run = await runCli(['backfill', '--from', day(-4), '--to', day(-4), '--dataset', 'conversation'], env.childEnv);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/Failed windows:[\s\S]*does not match the requested attributes/);
  });

  it('check gives one verdict per dependency and fails on a bad token, fast and clearly', async (context) => {
    context.onTestFailed(() => void (failed = true));
    const ok = await runCli(['check'], env.childEnv);
    expect(ok.code, ok.output).toBe(0);
    expect(ok.output).toMatch(new RegExp(`OK\\s+Intercom\\s+token accepted.*workspace ${env.fake.workspaceId}`));
    expect(ok.output).toMatch(/OK\s+Postgres\s+PostgreSQL \d+/);
    expect(ok.output).toMatch(/OK\s+Redis\s+Redis \d/);
    expect(ok.output).toMatch(
      /OK\s+Timestamps\s+ETL_TIMESTAMP_TIMEZONE=auto: detected per dataset among UTC; detected: .*conversation UTC/,
    );
    const bad = await runCli(['check'], { ...env.childEnv, INTERCOM_ACCESS_TOKEN: 'wrong-token' });
    expect(bad.code).toBe(1);
    expect(bad.output).toMatch(/FAIL\s+Intercom\s+Intercom rejected the access token \(401/);
    expect(bad.output).not.toContain('wrong-token');
    const before = env.fake.stats().requests.length;
    const backfill = await runCli(['backfill', '--from', day(-3), '--to', day(-3)], {
      ...env.childEnv,
      INTERCOM_ACCESS_TOKEN: 'wrong-token',
    });
    expect(backfill.code).toBe(1);
    expect(backfill.output).toMatch(/error: Intercom rejected the access token/);
    // Fails at once: one GET /me answered 401, no retries, nothing else asked of Intercom.
    const asked = env.fake.stats().requests.slice(before);
    expect(asked.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(['GET /me 401']);
  });

  it('reports every configuration problem and exits 2', async (context) => {
    context.onTestFailed(() => void (failed = true));
    const run = await runCli(['status'], { ...env.childEnv, INTERCOM_REGION: 'mars', ETL_WINDOW: 'soon' });
    expect(run.code).toBe(2);
    expect(run.output).toMatch(/Invalid configuration:[\s\S]*INTERCOM_REGION[\s\S]*ETL_WINDOW/);
  });

  it('rejects a bad option with a usage error', async (context) => {
    context.onTestFailed(() => void (failed = true));
    const run = await runCli(['backfill', '--from', '2026-13-45', '--to', day(-1)], env.childEnv);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/--from "2026-13-45" must be a date YYYY-MM-DD/);
  });
});
