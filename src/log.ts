import { pino, type Logger } from 'pino';
import { redactingDestination } from './redact.js';

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

/**
 * The one root logger. JSON lines; pipe through `pino-pretty` to read them in a terminal. Every
 * line goes through the secret redactor (src/redact.ts) on its way out, whatever field holds it.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const opts = {
    level: options.level ?? 'info',
    base: { app: 'intercom-etl' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return pino(opts, redactingDestination(options.destination ?? process.stdout) as pino.DestinationStream);
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
