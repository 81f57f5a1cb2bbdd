import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { queueEntitySyncs } from '../src/jobs/sync-entity.js';
import { startCli, waitFor } from './helpers/cli-process.js';
import { useTestEnv } from './helpers/test-env.js';

/** Several CLI processes in a row: on a loaded machine each start alone can take many seconds. */
const SLOW_TEST_MS = 180_000;

const ROOT = path.resolve(import.meta.dirname, '..');

/** A TCP relay to the test Redis whose `cut()` makes Redis unreachable for whoever connects through it. */
async function startRedisRelay(target: URL): Promise<{ url: string; cut(): void }> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 6379), target.hostname);
    track(client);
    track(upstream);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}${target.pathname}`,
    cut() {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

/** Processes of this machine whose environment holds `marker` (the test's unique queue prefix). */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'latin1').split('\0').includes(marker)) pids.push(Number(name));
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}

describe('SIGTERM always ends the worker', () => {
  const getEnv = useTestEnv();

  it.each([
    ['while a job sleeps mid-loop', false],
    ['while a job runs and Redis is down', true],
  ])(
    '%s: the process exits after ETL_SHUTDOWN_TIMEOUT_MS',
    async (_what, redisDown) => {
      const env = getEnv();
      const relay = await startRedisRelay(new URL(env.childEnv.REDIS_URL!));
      const worker = startCli(['worker'], {
        ...env.childEnv,
        LOG_LEVEL: 'info',
        REDIS_URL: relay.url,
        ETL_SCHEDULE_ENABLED: 'false',
        ETL_SHUTDOWN_TIMEOUT_MS: '1000',
        // The companies job waits this long for another client's scroll: a job that does not stop by itself.
        ETL_SCROLL_EXISTS_WAIT_MS: '600000',
      });
      try {
        await waitFor(() => worker.output().includes('worker started'), 90_000, 'the worker to start');
        env.fake.openScrollAsOtherClient();
        await queueEntitySyncs(env.ctx, ['companies']);
        await waitFor(() => worker.output().includes('a companies scroll is already open'), 90_000, 'the job to be mid-loop');
        if (redisDown) relay.cut();
        worker.child.kill('SIGTERM');
        // Generous bound for a loaded machine: with Redis down, the old code never exited at all.
        let exited: { code: number | null } | null = null;
        void worker.exited.then((e) => (exited = e));
        await waitFor(() => exited !== null, 90_000, 'the worker to exit');
        // Either the running job was cancelled at once (its run recorded as interrupted), or the drain
        // lasted ETL_SHUTDOWN_TIMEOUT_MS and the process ended anyway; the old code waited 30 s and
        // left the run `running` (and with Redis down never exited at all).
        const forced = /"timeoutMs":1000,[^\n]*workers did not stop in time; forcing|ETL_SHUTDOWN_TIMEOUT_MS=1000\); exiting anyway/.test(
          worker.output(),
        );
        const runs = await env.query<{ status: string }>('SELECT status FROM etl_sync_runs');
        expect(forced || runs.some((r) => r.status === 'interrupted'), worker.output()).toBe(true);
      } finally {
        relay.cut();
        if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
      }
    },
    SLOW_TEST_MS,
  );
});

describe('npm run etl -- worker', () => {
  const getEnv = useTestEnv();

  it(
    'leaves no node process behind when npm gets SIGTERM',
    async () => {
      const env = getEnv();
      const marker = `ETL_QUEUE_PREFIX=${env.queuePrefix}`;
      const npm = spawn('npm', ['run', '--silent', 'etl', '--', 'worker'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          ...env.childEnv,
          ETL_SCHEDULE_ENABLED: 'false',
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
      npm.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const npmExited = new Promise<void>((resolve) => npm.on('exit', () => resolve()));
      try {
        await waitFor(() => out.includes('worker started'), 90_000, 'the worker to start');
        expect(processesWith(marker).length).toBeGreaterThanOrEqual(2); // npm and the worker (and sh, if any)
        npm.kill('SIGTERM');
        await npmExited;
        await waitFor(() => processesWith(marker).length === 0, 45_000, 'every process of the run to end').catch(() => {});
        expect(processesWith(marker), out).toEqual([]);
      } finally {
        for (const pid of processesWith(marker)) process.kill(pid, 'SIGKILL');
      }
    },
    SLOW_TEST_MS,
  );
});
