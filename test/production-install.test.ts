import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from './helpers/test-env.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');

/** ENTRYPOINT + CMD of the Dockerfile's last stage, as the container would run them. */
function imageCommand(): string[] {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').split('\n');
  const last = (instr: string) =>
    JSON.parse(
      lines
        .filter((l) => l.startsWith(`${instr} `))
        .at(-1)!
        .slice(instr.length + 1),
    ) as string[];
  return [...last('ENTRYPOINT'), ...last('CMD')];
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * What the Dockerfile's runtime stage holds, without Docker: the compiled package, installed with
 * `npm ci --omit=dev` into a fresh folder, then its entry command run as the container runs it.
 */
describe('production install (the Docker image without Docker)', () => {
  let dir: string;
  let env: TestEnv;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'intercom-etl-prod-'));
    await run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')], { cwd: ROOT });
    for (const f of ['package.json', 'package-lock.json', 'migrations']) cpSync(join(ROOT, f), join(dir, f), { recursive: true });
    await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: dir,
      env: { ...process.env, NODE_ENV: 'production' },
      maxBuffer: 16 * 1024 * 1024,
    });
    // As the Dockerfile does (see there why).
    rmSync(join(dir, 'node_modules/typescript'), { recursive: true, force: true });
    env = await createTestEnv('production install');
  }, 600_000);

  afterAll(async () => {
    await env?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ships no dev tool and no TypeScript loader', () => {
    for (const dev of ['tsx', 'typescript', 'vitest', 'prettier', 'playwright-core', 'esbuild', '@types/node', 'pino-pretty']) {
      expect(existsSync(join(dir, 'node_modules', dev)), dev).toBe(false);
    }
    expect(existsSync(join(dir, 'node_modules', 'bullmq'))).toBe(true);
    expect(imageCommand()).toEqual(['node', 'dist/cli/main.js', 'worker']);
    // The runtime stage installs the way this test does.
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/RUN npm ci --omit=dev .*&& rm -rf node_modules\/typescript/);
  });

  it('runs the image command: the worker serves its pages, then stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const [cmd, ...args] = imageCommand();
    const child = spawn(cmd!, args, {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...env.childEnv, ETL_HTTP_PORT: String(port), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${port}`;
    try {
      await expect
        .poll(async () => (await fetch(`${base}/readyz`).catch(() => null))?.status, { timeout: 60_000, interval: 250 })
        .toBe(200);
      expect(await (await fetch(`${base}/metrics`)).text()).toContain('intercom_etl_windows');
      expect((await fetch(`${base}/`)).status).toBe(200);
      // bull-board's UI comes from the installed package's static files.
      const board = await (await fetch(`${base}/queues`)).text();
      const script = /src="([^"]+\.js)"/.exec(board)?.[1];
      expect(script, board.slice(0, 500)).toBeTruthy();
      expect((await fetch(new URL(script!, `${base}/queues/`))).status).toBe(200);
    } catch (err) {
      process.stderr.write(`worker output:\n${output}\n`);
      throw err;
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, output).toBe(0);
    expect(output).toMatch(/"msg":"worker started"/);
  }, 120_000);
});
