import { setFlagsFromString } from 'node:v8';
import { loadConfig, type Config } from '../config.js';
import { createContext, type AppContext } from '../context.js';
import { ConfigError, describeError, EtlError } from '../errors.js';
import { createLogger, newRunId, withRun, type Logger } from '../log.js';
import { redactError } from '../redact.js';
import { connectServices, type Service } from './connections.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Longest wait for closing connections at the end of a command (Redis may be gone). */
const CLOSE_WAIT_MS = 2_000;
/** After the drain timeout, this long to force-close workers and connections before the process exits regardless. */
export const EXIT_GRACE_MS = 5_000;

/** What a command body returns: its exit code, and the numbers of its `run finished` log line. */
export interface CommandResult {
  code: number;
  summary?: Record<string, unknown>;
}

/**
 * V8 grows the heap's limit by up to 4× the live size after each full GC — more when the machine is
 * busy and GC looks slow — so a long backfill's RSS kept climbing (live heap ~30 MB, heap 140 MB,
 * RSS 237 MB after 5,103 windows) with nothing leaking. 1.5× keeps it flat (RSS ~160 MB at any
 * length, measured by bench:backfill) at no measurable CPU cost; it is a growth factor, not a limit,
 * so a command that needs more memory still gets it. Read by V8 at each GC, so setting it now works.
 */
const HEAP_GROWING_PERCENT = 50;

export interface CommandEnv {
  /** The command's name, for its `run started` / `run finished` log lines. */
  command: string;
  /** Its arguments and options (never a secret: the demo's and fake's tokens are not passed here). */
  args?: Record<string, unknown>;
  /** Overrides applied on top of process.env (demo, tests). */
  overrides?: Record<string, string>;
  /** Log level when LOG_LEVEL is not set; default `info`, or `warn` when stderr is a terminal (it keeps the terminal for the operator's output). */
  defaultLogLevel?: string;
  /**
   * Services reached (bounded, with a clear error) before the body runs. Default: both. `check`
   * passes none: it probes each itself and reports a verdict.
   */
  needs?: readonly Service[];
}

/**
 * Runs a command body as one run: a run id (`runId`, carried by every log line of the process from
 * here on, in-process workers included), a `run started` line, the body with a context built from
 * the environment, and a `run finished` line with the outcome, exit code, duration and the body's
 * summary; then closes everything and exits. Logs are JSON lines on stderr; what the operator reads
 * (progress, results, the `error:` line of a failure) goes to stdout. A configuration error is a
 * usage error: one readable line on stderr, exit 2, before any run starts.
 * The process always ends: SIGINT/SIGTERM lets a command that drains (worker, backfill, sync) stop
 * within ETL_SHUTDOWN_TIMEOUT_MS, then exits anyway; other commands, and a second signal, exit at once.
 */
export async function runCommand(body: (ctx: AppContext) => Promise<number | CommandResult>, env: CommandEnv): Promise<never> {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  let config: Config;
  try {
    config = loadConfig(process.env, env.overrides);
  } catch (err) {
    process.stderr.write(`${describeError(err)}\n`);
    process.exit(EXIT_USAGE);
  }
  const level = config.logLevel ?? env.defaultLogLevel ?? (process.stderr.isTTY ? 'warn' : 'info');
  const log = createLogger({ level, destination: process.stderr });
  const code = await withRun(newRunId(), () => runBody(config, log, body, env));
  process.exit(code);
}

async function runBody(
  config: Config,
  log: Logger,
  body: (ctx: AppContext) => Promise<number | CommandResult>,
  env: CommandEnv,
): Promise<number> {
  const started = Date.now();
  exitAfterShutdownSignal(config.worker.shutdownTimeoutMs, log);
  log.info({ command: env.command, args: env.args ?? {} }, 'run started');
  const ctx = createContext(config, { log });
  let result: CommandResult = { code: EXIT_FAILED };
  let failure: Record<string, unknown> = {};
  try {
    await connectServices(ctx, env.needs ?? ['postgres', 'redis']);
    const r = await body(ctx);
    result = typeof r === 'number' ? { code: r } : r;
  } catch (err) {
    process.stdout.write(`error: ${describeError(err)}\n`);
    failure = errorLogFields(err);
    result = { code: err instanceof ConfigError ? EXIT_USAGE : EXIT_FAILED };
  } finally {
    // Closing waits for Redis; when Redis is gone it would wait for ever.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ctx.close().catch(() => {}), new Promise((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
  }
  const outcome = result.code === EXIT_OK ? 'succeeded' : shutdownSignal !== null ? 'interrupted' : 'failed';
  const fields = { command: env.command, outcome, exitCode: result.code, durationMs: Date.now() - started, ...result.summary, ...failure };
  // An error the body threw is an error; a non-zero exit it chose (failed windows, `status --check` problems) a warning.
  const level = result.code === EXIT_OK ? 'info' : failure.error !== undefined ? 'error' : 'warn';
  log[level](fields, 'run finished');
  return result.code;
}

/**
 * An error as log fields: its description (`error`), and for an unexpected one (not of the
 * taxonomy: a bug) its stack, secrets cut out — inside the JSON line, never printed raw.
 */
export function errorLogFields(err: unknown): { error: string; stack?: string } {
  const error = describeError(err);
  if (err instanceof EtlError || !(err instanceof Error)) return { error };
  const stack = redactError(err).stack;
  return stack ? { error, stack } : { error };
}

/**
 * The last resort of the process (main.ts): an uncaught exception or an unhandled rejection is one
 * JSON line on stderr (`uncaught error`, with its stack as a field) and exit 1, not Node's raw stack trace.
 */
export function exitOnUncaughtErrors(): void {
  const fail = (kind: string) => (err: unknown) => {
    createLogger({ destination: process.stderr }).fatal({ kind, ...errorLogFields(err) }, 'uncaught error');
    process.exit(EXIT_FAILED);
  };
  process.on('uncaughtException', fail('uncaughtException'));
  process.on('unhandledRejection', fail('unhandledRejection'));
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
/** The first SIGINT/SIGTERM the process received, if any (a run that then fails was `interrupted`). */
let shutdownSignal: NodeJS.Signals | null = null;

function exitAfterShutdownSignal(timeoutMs: number, log: Logger): void {
  const onSignal = (sig: NodeJS.Signals): void => {
    if (shutdownSignal !== null) {
      log.warn({ signal: sig }, `${sig} again: exiting now`);
      process.exit(EXIT_FAILED);
    }
    shutdownSignal = sig;
    // This handler is registered first; another one means the command drains on its own.
    if (process.listenerCount(sig) <= 1) process.exit(EXIT_FAILED);
    setTimeout(() => {
      log.error(
        { signal: sig, waitedMs: timeoutMs + EXIT_GRACE_MS },
        `still running ${timeoutMs + EXIT_GRACE_MS} ms after ${sig} (ETL_SHUTDOWN_TIMEOUT_MS=${timeoutMs}); exiting anyway. Unfinished jobs are retried by another worker`,
      );
      process.exit(EXIT_FAILED);
    }, timeoutMs + EXIT_GRACE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
