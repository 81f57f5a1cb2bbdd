import { loadConfig, type Config } from '../config.js';
import { createContext, type AppContext } from '../context.js';
import { ConfigError, describeError, EtlError } from '../errors.js';
import { createLogger } from '../log.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export interface CommandEnv {
  /** Overrides applied on top of process.env (demo, tests). */
  overrides?: Record<string, string>;
  /** Log level when LOG_LEVEL is not set. Interactive commands keep the terminal for progress. */
  defaultLogLevel?: string;
}

/**
 * Runs a command body with a context built from the environment, closes everything afterwards,
 * and turns errors into one readable line and an exit code. Logs go to stderr, results to stdout.
 */
export async function runCommand(body: (ctx: AppContext) => Promise<number>, env: CommandEnv = {}): Promise<never> {
  let config: Config;
  try {
    config = loadConfig(process.env, env.overrides);
  } catch (err) {
    process.stderr.write(`${describeError(err)}\n`);
    process.exit(EXIT_USAGE);
  }
  const log = createLogger({ level: config.logLevel ?? env.defaultLogLevel ?? 'warn', destination: process.stderr });
  const ctx = createContext(config, { log });
  let code = EXIT_FAILED;
  try {
    code = await body(ctx);
  } catch (err) {
    process.stderr.write(`error: ${describeError(err)}\n`);
    if (!(err instanceof EtlError)) log.debug({ err }, 'unexpected error');
    code = err instanceof ConfigError ? EXIT_USAGE : EXIT_FAILED;
  } finally {
    await ctx.close().catch(() => {});
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
