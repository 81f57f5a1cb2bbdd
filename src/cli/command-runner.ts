import { setFlagsFromString } from 'node:v8';
import { loadConfig, type Config } from '../config.js';
import { createContext, type AppContext } from '../context.js';
import { ConfigError, describeError, EtlError } from '../errors.js';
import { createLogger } from '../log.js';
import { connectServices, type Service } from './connections.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Longest wait for closing connections at the end of a command (Redis may be gone). */
const CLOSE_WAIT_MS = 2_000;
/** After the drain timeout, this long to force-close workers and connections before the process exits regardless. */
export const EXIT_GRACE_MS = 5_000;

/**
 * V8 grows the heap's limit by up to 4× the live size after each full GC — more when the machine is
 * busy and GC looks slow — so a long backfill's RSS kept climbing (live heap ~30 MB, heap 140 MB,
 * RSS 237 MB after 5,103 windows) with nothing leaking. 1.5× keeps it flat (RSS ~160 MB at any
 * length, measured by bench:backfill) at no measurable CPU cost; it is a growth factor, not a limit,
 * so a command that needs more memory still gets it. Read by V8 at each GC, so setting it now works.
 */
const HEAP_GROWING_PERCENT = 50;

export interface CommandEnv {
  /** Overrides applied on top of process.env (demo, tests). */
  overrides?: Record<string, string>;
  /** Log level when LOG_LEVEL is not set. Interactive commands keep the terminal for progress. */
  defaultLogLevel?: string;
  /**
   * Services reached (bounded, with a clear error) before the body runs. Default: both. `check`
   * passes none: it probes each itself and reports a verdict.
   */
  needs?: readonly Service[];
}

/**
 * Runs a command body with a context built from the environment, closes everything afterwards,
 * and turns errors into one readable line and an exit code. Logs go to stderr, results to stdout.
 * The process always ends: SIGINT/SIGTERM lets a command that drains (worker, backfill, sync) stop
 * within ETL_SHUTDOWN_TIMEOUT_MS, then exits anyway; other commands, and a second signal, exit at once.
 */
export async function runCommand(body: (ctx: AppContext) => Promise<number>, env: CommandEnv = {}): Promise<never> {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  let config: Config;
  try {
    config = loadConfig(process.env, env.overrides);
  } catch (err) {
    process.stderr.write(`${describeError(err)}\n`);
    process.exit(EXIT_USAGE);
  }
  exitAfterShutdownSignal(config.worker.shutdownTimeoutMs);
  const log = createLogger({ level: config.logLevel ?? env.defaultLogLevel ?? 'warn', destination: process.stderr });
  const ctx = createContext(config, { log });
  let code = EXIT_FAILED;
  try {
    await connectServices(ctx, env.needs ?? ['postgres', 'redis']);
    code = await body(ctx);
  } catch (err) {
    process.stderr.write(`error: ${describeError(err)}\n`);
    if (!(err instanceof EtlError)) log.debug({ err }, 'unexpected error');
    code = err instanceof ConfigError ? EXIT_USAGE : EXIT_FAILED;
  } finally {
    // Closing waits for Redis; when Redis is gone it would wait for ever.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ctx.close().catch(() => {}), new Promise((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
  }
  process.exit(code);
}

/** Resolves when the process gets SIGINT or SIGTERM; the AbortSignal fires at the same time. */
export function onShutdownSignal(): { signal: AbortSignal; stopped: Promise<string> } {
  const controller = new AbortController();
  const stopped = new Promise<string>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        controller.abort();
        resolve(sig);
      });
    }
  });
  return { signal: controller.signal, stopped };
}

/**
 * The process-level guarantee behind every shutdown: on the first SIGINT/SIGTERM, a command that
 * listens for it (onShutdownSignal) gets `timeoutMs` to drain plus EXIT_GRACE_MS to close its
 * connections, then the process exits whatever it is waiting for (a job that does not stop, a Redis
 * that is down). A command that does not listen, and a second signal, exit at once.
 */
function exitAfterShutdownSignal(timeoutMs: number): void {
  let received: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (received !== null) {
      process.stderr.write(`${sig} again: exiting now.\n`);
      process.exit(EXIT_FAILED);
    }
    received = sig;
    // This handler is registered first; another one means the command drains on its own.
    if (process.listenerCount(sig) <= 1) process.exit(EXIT_FAILED);
    setTimeout(() => {
      process.stderr.write(
        `Still running ${timeoutMs + EXIT_GRACE_MS} ms after ${sig} (ETL_SHUTDOWN_TIMEOUT_MS=${timeoutMs}); exiting anyway. Unfinished jobs are retried by another worker.\n`,
      );
      process.exit(EXIT_FAILED);
    }, timeoutMs + EXIT_GRACE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
