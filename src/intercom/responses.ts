import { FatalError } from '../errors.js';
import type { Dataset, DatasetAttribute, ExportJob, Me } from './types.js';

/**
 * Maps Intercom's JSON onto our types. Bodies are checked rather than cast: a field that moved in a
 * new API version should fail loudly here, with the field named, not as `undefined` in a SQL insert.
 * Only what we truly need is required; everything cosmetic gets a default.
 */

type Json = Record<string, unknown>;

/** `GET /me` → the admin and the workspace code the reporting endpoints call `app_id`. */
export function toMe(body: unknown): Me {
  const admin = object(body, 'GET /me', 'body');
  const app = object(admin.app, 'GET /me', 'app');
  return {
    adminId: requiredId(admin.id, 'GET /me', 'id'),
    adminName: text(admin.name),
    workspaceId: requiredId(app.id_code, 'GET /me', 'app.id_code'),
    workspaceName: text(app.name),
    region: text(app.region),
    timezone: text(app.timezone),
  };
}

/** `GET /export/reporting_data/get_datasets` → datasets with their attributes. */
export function toDatasets(body: unknown): Dataset[] {
  const where = 'GET /export/reporting_data/get_datasets';
  const list = object(body, where, 'body');
  if (!Array.isArray(list.data)) throw unexpected(where, 'data (not an array)');
  return list.data.map((raw, i): Dataset => {
    const d = object(raw, where, `data[${i}]`);
    const id = requiredId(d.id, where, `data[${i}].id`);
    const attributes = Array.isArray(d.attributes) ? d.attributes : [];
    return {
      id,
      name: text(d.name),
      description: text(d.description),
      defaultTimeAttributeId: text(d.default_time_attribute_id),
      attributes: attributes.map((a, j) => toAttribute(a, where, `data[${i}].attributes[${j}]`)),
    };
  });
}

function toAttribute(raw: unknown, where: string, path: string): DatasetAttribute {
  const a = object(raw, where, path);
  const attribute: DatasetAttribute = { id: requiredId(a.id, where, `${path}.id`), name: text(a.name) };
  // Only API 2.16+/Preview send it; absent means "use the plain id".
  if (typeof a.qualified_id === 'string' && a.qualified_id !== '') attribute.qualifiedId = a.qualified_id;
  return attribute;
}

/** Enqueue and status responses: `{job_identifier, status, download_url, download_expires_at}`. */
export function toExportJob(body: unknown, where: string, fallbackId?: string): ExportJob {
  const job = object(body, where, 'body');
  const id = job.job_identifier ?? fallbackId;
  if (typeof job.status !== 'string' || job.status === '') throw unexpected(where, 'status');
  return {
    jobIdentifier: requiredId(id, where, 'job_identifier'),
    status: job.status,
    downloadUrl: typeof job.download_url === 'string' ? job.download_url.trim() : '',
    downloadExpiresAt: parseExpiresAt(job.download_expires_at),
  };
}

/**
 * `download_expires_at` → Unix ms, or null. Documented (for the sibling content export) as a string
 * of Unix seconds and `""` until ready; we also accept a number and an ISO date (brief §3.7).
 */
export function parseExpiresAt(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? secondsOrMs(value) : null;
  if (typeof value !== 'string') return null;
  const s = value.trim();
  if (s === '') return null;
  if (/^\d+(\.\d+)?$/.test(s)) return secondsOrMs(Number(s));
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? null : ms;
}

/** Seconds as documented; a value past the year 5000 can only be milliseconds already. */
function secondsOrMs(n: number): number {
  return n >= 1e11 ? Math.round(n) : Math.round(n * 1000);
}

export function object(value: unknown, where: string, path: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw unexpected(where, path);
  return value as Json;
}

/** Ids come as strings, but numeric ids are common across Intercom's API versions. */
function requiredId(value: unknown, where: string, path: string): string {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw unexpected(where, path);
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

export function unexpected(where: string, path: string): FatalError {
  return new FatalError(`Intercom ${where} returned an unexpected body: ${path} is missing or has the wrong type`);
}
