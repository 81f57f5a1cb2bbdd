import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino censors wherever they appear. Tokens must never reach a log line; the HTTP client also
 * never logs request headers, this is the second line of defence.
 */
export const REDACT_PATHS = [
  'token',
  'accessToken',
  'intercomAccessToken',
  'authorization',
  'Authorization',
  'headers.authorization',
  'headers.Authorization',
  'req.headers.authorization',
  'request.headers.authorization',
  '*.token',
  '*.accessToken',
  '*.intercomAccessToken',
  '*.authorization',
  '*.Authorization',
  'config.intercom.token',
  'config.http.auth',
];

export interface LoggerOptions {
  level?: string;
  /** Destination stream; defaults to stdout. Tests pass their own to capture lines. */
  destination?: NodeJS.WritableStream;
}

/** The one root logger. JSON lines; pipe through `pino-pretty` to read them in a terminal. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const opts = {
    level: options.level ?? 'info',
    base: { app: 'intercom-etl' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return options.destination ? pino(opts, options.destination as pino.DestinationStream) : pino(opts);
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
