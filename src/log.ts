import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
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
  /** Destination stream; defaults to stderr (stdout is the commands' human output). Tests pass their own to capture lines. */
  destination?: NodeJS.WritableStream;
}

/** Fields every line logged inside a run carries (`runId`, and `parentRunId` for a run inside another). */
export type RunFields = Readonly<Record<string, string>>;

const runContext = new AsyncLocalStorage<RunFields>();

/**
 * Runs `fn` as the run `runId`: every line logged by anything it calls — awaited or not, workers it
 * starts included — carries `runId` (and the enclosing run's id as `parentRunId`). The fields come
 * from the logger's mixin, not from a child logger's bindings, so a run inside another (a nightly
 * run in a worker) replaces the id instead of writing a second `runId` key into the line.
 */
export function withRun<T>(runId: string, fn: () => T): T {
  const parent = runContext.getStore()?.runId;
  return runContext.run({ runId, ...(parent && parent !== runId ? { parentRunId: parent } : {}) }, fn);
}

/** The id of the run the caller is part of, if any. */
export function currentRunId(): string | undefined {
  return runContext.getStore()?.runId;
}

/**
 * A new run id: `run-<UTC time to the second>-<6 hex>` (`run-20261130T183245Z-a3f09c`), sortable by
 * start, unique across processes, and free of `:` so it may be part of a BullMQ job id.
 */
export function newRunId(now: Date = new Date()): string {
  const time = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `run-${time}-${randomBytes(3).toString('hex')}`;
}

/**
 * The one root logger. One JSON line per event; pipe through `pino-pretty` to read them in a
 * terminal. Every line goes through the secret redactor (src/redact.ts) on its way out, whatever
 * field holds it, and carries the fields of the run it belongs to (`withRun`).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const opts: pino.LoggerOptions = {
    level: options.level ?? 'info',
    base: { app: 'intercom-etl' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // A fresh object each line: pino merges the line's own fields into it (they win, no key twice).
    mixin: () => ({ ...runContext.getStore() }),
  };
  return pino(opts, redactingDestination(options.destination ?? process.stderr) as pino.DestinationStream);
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
