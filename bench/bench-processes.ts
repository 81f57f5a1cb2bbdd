// Helpers the benchmarks share for the processes they start: a free port, a Redis of their own, a
// child's exit. Not part of the product.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/** A TCP port nothing listens on right now (for a redis-server of the bench's own). */
export function sparePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * A redis-server of the bench's own on a spare port (no persistence, files in `dir`) and a client for
 * it, not yet connected (`waitForRedis` connects it); `stop()` disconnects and ends the server.
 */
export async function startBenchRedis(dir: string): Promise<{ port: number; redis: Redis; stop(): Promise<void> }> {
  const port = await sparePort();
  const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const redis = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 3 });
  return {
    port,
    redis,
    async stop() {
      redis.disconnect();
      server.kill('SIGTERM');
      await exited(server).catch(() => {});
    },
  };
}

/** Connects `redis` (created with lazyConnect) once the redis-server just started answers; 10 s at most. */
export async function waitForRedis(redis: Redis): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await redis.connect();
      await redis.ping();
      return;
    } catch {
      redis.disconnect();
      await sleep(100);
    }
  }
  throw new Error('redis-server did not start');
}

/** The child's exit code once it has exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.on('exit', (code) => resolve(code));
    child.on('error', reject);
  });
}
