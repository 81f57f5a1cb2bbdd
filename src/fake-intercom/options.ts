import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';

/** How the download body is encoded; every mode keeps `Content-Type: application/octet-stream`. */
export type DownloadEncoding = 'plain' | 'gzip' | 'gzip-content-encoding' | 'zip';

export interface FakeIntercomOptions {
  host?: string;
  port?: number;
  /** All generated data is a pure function of seed (+ data revision). */
  seed?: number;
  tokens?: string[];
  workspace?: { idCode?: string; name?: string; region?: string; timezone?: string };
  /** Used when the `Intercom-Version` header is absent (Intercom uses the app's pinned version). */
  defaultVersion?: string;
  /** Injectable clock in ms; everything time-based (rate windows, job states, expiry) reads it. */
  now?: () => number;
  rateLimit?: { perAppPer10s?: number; perWorkspacePer10s?: number };
  export?: {
    latencyMs?: number;
    /**
     * [min, max] ms: each dataset's exports take their own latency in this range (fixed per dataset
     * by its id, as a bigger dataset is slower), ±5 % per job; overrides `latencyMs`.
     */
    latencyRangeMs?: [number, number];
    inProgressPhase?: boolean;
    maxUnfinishedJobs?: number;
    retentionDays?: number;
    downloadTtlMs?: number;
    endInclusive?: boolean;
    encoding?: DownloadEncoding;
    bom?: boolean;
    strictIds?: boolean;
    rowsPerDay?: number;
    noDataMode?: boolean;
    /**
     * Zone of the CSV's `YYYY-MM-DD HH:MM:SS` timestamps (brief §10 leaves it open): `UTC` (default),
     * `workspace` (the `/me` timezone) or any IANA zone.
     */
    timestampZone?: string;
  };
  /** Companies (brief §5): fixtures and the scroll's rules. */
  companies?: {
    /** How many companies to generate (default 250). */
    count?: number;
    /** A scroll unused this long expires (default 60,000 ms: Intercom's "1 minute"). */
    scrollIdleMs?: number;
    /** End a scroll with a 404 after the last page instead of an empty `data` page (default false). */
    endWith404?: boolean;
  };
  /** Tickets (brief §6): fixtures and search behaviour. */
  tickets?: {
    /** How many tickets to generate (default 60). */
    count?: number;
    /** Status for a malformed cursor or one from another query (default 500, as observed). */
    badCursorStatus?: 400 | 500;
  };
  /**
   * Base URL advertised in `download_url` (e.g. `http://fake-intercom:8080` when listening on 0.0.0.0
   * inside docker-compose); default: the URL the fake listens on.
   */
  publicUrl?: string;
  /** Where the fake logs requests (debug) and failures; default: silent. */
  logger?: Logger;
}

export interface ExportSettings {
  latencyMs: number;
  latencyRangeMs: [number, number] | null;
  inProgressPhase: boolean;
  maxUnfinishedJobs: number;
  retentionDays: number;
  downloadTtlMs: number;
  endInclusive: boolean;
  encoding: DownloadEncoding;
  bom: boolean;
  strictIds: boolean;
  rowsPerDay: number;
  noDataMode: boolean;
  /** Resolved IANA zone (never `workspace`). */
  timestampZone: string;
}

export interface CompanySettings {
  count: number;
  scrollIdleMs: number;
  endWith404: boolean;
}

export interface TicketSettings {
  count: number;
  badCursorStatus: 400 | 500;
}

export interface WorkspaceSettings {
  idCode: string;
  name: string;
  region: string;
  timezone: string;
}

/** Options with every default filled in. `exportSettings` stays mutable: the control API changes it. */
export interface ResolvedOptions {
  host: string;
  port: number;
  seed: number;
  tokens: string[];
  workspace: WorkspaceSettings;
  defaultVersion: string;
  now: () => number;
  rateLimit: { perAppPer10s: number; perWorkspacePer10s: number };
  exportSettings: ExportSettings;
  companies: CompanySettings;
  tickets: TicketSettings;
  publicUrl: string | undefined;
  logger: Logger;
}

const DAY_MS = 86_400_000;

/**
 * Row ids are `base + day * 1_000_000 + index` (see row-generator.ts), and a data revision adds up
 * to 10 % extra rows per day, so the per-day row count must stay well below one million.
 */
export const MAX_ROWS_PER_DAY = 500_000;

export function resolveOptions(options: FakeIntercomOptions = {}): ResolvedOptions {
  const exp = options.export ?? {};
  const rowsPerDay = exp.rowsPerDay ?? 24;
  if (!Number.isInteger(rowsPerDay) || rowsPerDay < 1 || rowsPerDay > MAX_ROWS_PER_DAY) {
    throw new Error(`export.rowsPerDay must be an integer between 1 and ${MAX_ROWS_PER_DAY}, got ${rowsPerDay}`);
  }
  const workspaceTimezone = options.workspace?.timezone ?? 'UTC';
  const tokens = options.tokens ?? ['fake-token'];
  if (tokens.length === 0) throw new Error('tokens must contain at least one token');
  return {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    seed: options.seed ?? 42,
    tokens,
    workspace: {
      idCode: options.workspace?.idCode ?? 'fakews01',
      name: options.workspace?.name ?? 'Fake Workspace',
      region: options.workspace?.region ?? 'US',
      timezone: workspaceTimezone,
    },
    defaultVersion: options.defaultVersion ?? '2.14',
    now: options.now ?? Date.now,
    rateLimit: {
      // 10,000/min per app and 25,000/min per workspace, spread evenly over 10-second windows.
      perAppPer10s: options.rateLimit?.perAppPer10s ?? 1667,
      perWorkspacePer10s: options.rateLimit?.perWorkspacePer10s ?? 4167,
    },
    exportSettings: {
      latencyMs: exp.latencyMs ?? 1000,
      latencyRangeMs: exp.latencyRangeMs ?? null,
      inProgressPhase: exp.inProgressPhase ?? true,
      maxUnfinishedJobs: exp.maxUnfinishedJobs ?? 5,
      retentionDays: exp.retentionDays ?? 730,
      downloadTtlMs: exp.downloadTtlMs ?? 2 * DAY_MS,
      endInclusive: exp.endInclusive ?? true,
      encoding: exp.encoding ?? 'gzip',
      bom: exp.bom ?? false,
      strictIds: exp.strictIds ?? false,
      rowsPerDay,
      noDataMode: exp.noDataMode ?? false,
      timestampZone: resolveTimestampZone(exp.timestampZone ?? 'UTC', workspaceTimezone),
    },
    companies: resolveCompanies(options.companies),
    tickets: resolveTickets(options.tickets),
    publicUrl: options.publicUrl?.replace(/\/+$/, ''),
    logger: options.logger ?? silentLogger(),
  };
}

/** `workspace` → the workspace's zone; anything else must be an IANA zone. */
export function resolveTimestampZone(zone: string, workspaceTimezone: string): string {
  const resolved = zone === 'workspace' ? workspaceTimezone : zone;
  try {
    new Intl.DateTimeFormat('en', { timeZone: resolved });
  } catch {
    throw new Error(`export.timestampZone must be UTC, workspace or an IANA zone, got ${JSON.stringify(zone)}`);
  }
  return resolved;
}

function resolveCompanies(options: FakeIntercomOptions['companies'] = {}): CompanySettings {
  const count = options.count ?? 250;
  if (!Number.isInteger(count) || count < 0) throw new Error(`companies.count must be an integer >= 0, got ${count}`);
  const scrollIdleMs = options.scrollIdleMs ?? 60_000;
  if (!Number.isFinite(scrollIdleMs) || scrollIdleMs <= 0) throw new Error(`companies.scrollIdleMs must be > 0, got ${scrollIdleMs}`);
  return { count, scrollIdleMs, endWith404: options.endWith404 ?? false };
}

function resolveTickets(options: FakeIntercomOptions['tickets'] = {}): TicketSettings {
  const count = options.count ?? 60;
  if (!Number.isInteger(count) || count < 0) throw new Error(`tickets.count must be an integer >= 0, got ${count}`);
  const badCursorStatus = options.badCursorStatus ?? 500;
  if (badCursorStatus !== 400 && badCursorStatus !== 500) {
    throw new Error(`tickets.badCursorStatus must be 400 or 500, got ${String(badCursorStatus)}`);
  }
  return { count, badCursorStatus };
}
