import { spawn } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectIntercom, createContext } from '../src/context.js';
import { startWorkers } from '../src/jobs/workers.js';
import { createLogger } from '../src/log.js';
import { runCli, waitFor } from './helpers/cli-process.js';
import { duplicateKeys, parseLogLines, type LogLine } from './helpers/json-lines.js';
import { createTestEnv, type TestEnv } from './helpers/test-env.js';

const DAY = 86_400_000;
const day = (offset: number) => new Date(Math.floor(Date.now() / DAY) * DAY + offset * DAY).toISOString().slice(0, 10);

/** Issue 8 §3: one JSON line per event on stderr, runs with ids and start/finish lines, window lines with their window. */
let env: TestEnv;
let failed = false;
beforeAll(async () => {
  env = await createTestEnv('logs');
});
afterAll(async () => env.cleanup(failed));

/** The log of a run: every non-empty stderr line is JSON, with no key twice and no raw stack trace. */
function logOf(stderr: string): LogLine[] {
  const dup = stderr
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => duplicateKeys(l).map((k) => `${k} in ${l}`));
  expect(dup).toEqual([]);
  return parseLogLines(stderr);
}

describe('duplicateKeys', () => {
  it('finds a key written twice, at any depth, and nothing in clean lines', () => {
    expect(duplicateKeys('{"a":1,"b":{"c":"a","c":2},"a":"x,\\"a\\":"}')).toEqual(['b.c', 'a']);
    expect(duplicateKeys('{"a":[{"a":1},{"a":2}],"s":"{\\"a\\":1,\\"a\\":2}"}')).toEqual([]);
  });
});

describe('logs of a CLI run', () => {
  it('backfill: JSON lines on stderr, one start and one finish line of one run id, window lines with their window and Intercom job', async (context) => {
    context.onTestFailed(() => void (failed = true));
    const run = await runCli(['backfill', '--from', day(-3), '--to', day(-2), '--dataset', 'conversation'], {
      ...env.childEnv,
      LOG_LEVEL: 'info',
    });
    expect(run.code, run.output).toBe(0);
    // The operator's output stays on stdout, and only there.
    expect(run.stdout).toMatch(/2 window\(s\) loaded, 0 failed/);
    expect(run.stdout).not.toMatch(/^\{/m);
    const lines = logOf(run.stderr);
    const starts = lines.filter((l) => l.msg === 'run started');
    const finishes = lines.filter((l) => l.msg === 'run finished');
    expect(starts).toHaveLength(1);
    expect(finishes).toHaveLength(1);
    const runId = starts[0]!.runId!;
    expect(runId).toMatch(/^run-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(starts[0]).toMatchObject({ command: 'backfill', args: { from: day(-3), to: day(-2), dataset: ['conversation'] } });
    expect(finishes[0]).toMatchObject({
      runId,
      command: 'backfill',
      outcome: 'succeeded',
      exitCode: 0,
      windowsLoaded: 2,
      windowsFailed: 0,
    });
    expect(finishes[0]!.rows).toBeGreaterThan(0);
    expect(finishes[0]!.durationMs).toBeGreaterThan(0);
    // Every line of the process belongs to the run, the in-process workers' included.
    expect(lines.filter((l) => l.runId !== runId)).toEqual([]);
    const windowLines = lines.filter((l) => l.datasetId !== undefined);
    expect(windowLines.filter((l) => l.msg === 'window loaded')).toHaveLength(2);
    for (const l of windowLines) {
      expect(l).toMatchObject({ datasetId: 'conversation', windowStart: expect.any(String), windowEnd: expect.any(String) });
      expect(Date.parse(l.windowEnd as string) - Date.parse(l.windowStart as string)).toBe(DAY);
    }
    // Once a window's export is enqueued, its lines name the Intercom job.
    for (const l of windowLines.filter((w) => w.msg === 'export enqueued' || w.msg === 'window loaded')) {
      expect(l.intercomJobId).toEqual(expect.any(String));
    }
  });

  it("a window's failed attempt names the window and its Intercom job", async (context) => {
    context.onTestFailed(() => void (failed = true));
    env.fake.injectFailure({ path: '/download/reporting_data/', status: 502, count: 1 });
    const run = await runCli(['backfill', '--from', day(-4), '--to', day(-4), '--dataset', 'conversation'], {
      ...env.childEnv,
      LOG_LEVEL: 'info',
    });
    expect(run.code, run.output).toBe(0);
    const lines = logOf(run.stderr);
    const enqueued = lines.find((l) => l.msg === 'export enqueued')!;
    expect(lines.filter((l) => l.msg === 'job attempt failed')).toMatchObject([
      {
        level: 40,
        queue: 'reports',
        datasetId: 'conversation',
        windowStart: `${day(-4)}T00:00:00.000Z`,
        windowEnd: `${day(-3)}T00:00:00.000Z`,
        intercomJobId: enqueued.intercomJobId,
        err: expect.stringContaining('502'),
      },
    ]);
  });

  it('sync: the finish line counts the companies and tickets fetched', async (context) => {
    context.onTestFailed(() => void (failed = true));
    const run = await runCli(['sync', 'companies', 'tickets'], { ...env.childEnv, LOG_LEVEL: 'info' });
    expect(run.code, run.output).toBe(0);
    const lines = logOf(run.stderr);
    const finish = lines.filter((l) => l.msg === 'run finished');
    expect(finish).toMatchObject([
      {
        command: 'sync',
        outcome: 'succeeded',
        companies: env.fake.companies().length,
        tickets: env.fake.tickets().length,
      },
    ]);
    expect(lines.filter((l) => l.runId !== finish[0]!.runId)).toEqual([]);
    // The entity runs' own lines: their stream once, the sync run's id as syncRunId (runId is the command's).
    expect(lines.filter((l) => l.msg === 'companies scroll merged')).toMatchObject([
      { stream: 'companies', syncRunId: expect.any(String) },
    ]);
  });

  it('a failing command (bad token, unreachable Postgres) logs JSON lines with the error, no raw stack trace', async (context) => {
    context.onTestFailed(() => void (failed = true));
    const cases: Array<Record<string, string>> = [
      { INTERCOM_ACCESS_TOKEN: 'not-the-token' },
      { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test' },
    ];
    for (const overrides of cases) {
      const run = await runCli(['backfill', '--from', day(-3), '--to', day(-3)], { ...env.childEnv, ...overrides });
      expect(run.code, run.output).toBe(1);
      expect(run.stderr).not.toMatch(/^\s+at /m);
      const lines = logOf(run.stderr);
      // LOG_LEVEL=warn hides the start line; the failed finish line is an error and always shows.
      const finish = lines.filter((l) => l.msg === 'run finished');
      expect(finish).toMatchObject([{ level: 50, command: 'backfill', outcome: 'failed', exitCode: 1, error: expect.any(String) }]);
      expect(run.stdout).toMatch(/^error: /m);
    }
  });

  it('an uncaught error is one JSON line with its stack as a field, secrets redacted', async () => {
    const script = [
      `import { exitOnUncaughtErrors } from ${JSON.stringify(path.resolve('src/cli/command-runner.ts'))};`,
      `import { registerSecret } from ${JSON.stringify(path.resolve('src/redact.ts'))};`,
      'registerSecret("s3cret-token-value");',
      'exitOnUncaughtErrors();',
      'setTimeout(() => { throw new Error("boom with s3cret-token-value"); }, 1);',
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    const lines = logOf(stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 60, msg: 'uncaught error', kind: 'uncaughtException', error: expect.stringContaining('boom') });
    expect(lines[0]!.stack).toMatch(/\n\s+at /);
    expect(stderr).not.toContain('s3cret-token-value');
  });
});

describe('logs of a nightly run', () => {
  it('has a start and a finish line carrying its run id (the job id), with what it queued', async (context) => {
    context.onTestFailed(() => void (failed = true));
    let text = '';
    const log = createLogger({
      destination: new Writable({
        write(chunk: Buffer, _enc, done) {
          text += chunk.toString();
          done();
        },
      }),
    });
    const ctx = createContext(env.config, { log });
    try {
      await connectIntercom(ctx);
      const job = await ctx.queues.control.add('nightly-sync', {});
      const workers = startWorkers(ctx, ['control']);
      try {
        await waitFor(async () => (await job.getState()) === 'completed', 60_000, 'the nightly job');
      } finally {
        await workers.close();
      }
      const lines = logOf(text).filter((l) => l.runId === job.id);
      expect(lines.filter((l) => l.msg === 'run started')).toMatchObject([{ command: 'nightly-sync', attempt: 1 }]);
      const finish = lines.filter((l) => l.msg === 'run finished');
      expect(finish).toMatchObject([{ command: 'nightly-sync', outcome: 'succeeded', attempt: 1, entityJobs: expect.any(Array) }]);
      expect(finish[0]!.windowsQueued).toBeGreaterThan(0);
      expect(finish[0]!.durationMs).toBeGreaterThanOrEqual(0);
    } finally {
      await ctx.close();
    }
  });
});
