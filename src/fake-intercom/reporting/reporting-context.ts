import type { Logger } from '../../log.js';
import type { ExportSettings } from '../options.js';
import { sendError } from '../server/responses.js';
import type { FakeRequest } from '../server/router.js';
import type { DatasetDef } from './catalogue.js';
import type { DatasetData } from './dataset-data.js';
import type { ExportJob, ExportJobStore } from './export-jobs.js';

/** Shared state of the reporting endpoints (owned by ReportingExport). */
export interface ReportingContext {
  catalogue: DatasetDef[];
  jobs: ExportJobStore;
  data: DatasetData;
  settings: ExportSettings;
  workspaceId: string;
  /** The fake's base URL, known only once the server listens. */
  baseUrl(): string;
  now(): number;
  logger: Logger;
  counters: { statusCalls: number; downloads: number };
  /** While set, downloads send their first chunk and then wait for it (holdDownloads). */
  downloadGate: Promise<void> | null;
}

/**
 * The job named by the path, or undefined after answering the error. `app_id`/`client_id` are
 * documented as required but real clients omit them; only strictIds mode enforces `app_id`.
 */
export function findJob(ctx: ReportingContext, req: FakeRequest): ExportJob | undefined {
  const id = req.params.job_identifier ?? '';
  const notFound = () => sendError(req.res, 404, 'not_found', `Export job not found for identifier: ${id}`);
  if (ctx.settings.strictIds) {
    const appId = req.query.get('app_id');
    if (appId === null || appId === '') {
      sendError(req.res, 400, 'bad_request', "'app_id' is a required parameter", 'app_id');
      return undefined;
    }
    if (appId !== ctx.workspaceId) {
      notFound();
      return undefined;
    }
  }
  const job = ctx.jobs.get(id);
  if (job === undefined) notFound();
  return job;
}
