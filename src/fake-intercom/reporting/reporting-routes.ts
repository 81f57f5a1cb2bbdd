/** Routes of the Reporting Data Export API [2.14 L1514-1810]; literal segments win over `:job_identifier`. */
import { showsQualifiedIds } from '../server/api-version.js';
import { sendError, sendJson } from '../server/responses.js';
import type { FakeRequest, Route } from '../server/router.js';
import type { DatasetDef } from './catalogue.js';
import { serveDownload } from './download-route.js';
import { validateEnqueueBody } from './enqueue-validation.js';
import { findJob, type ReportingContext } from './reporting-context.js';

export function reportingRoutes(ctx: ReportingContext): Route[] {
  return [
    { method: 'GET', pattern: '/export/reporting_data/get_datasets', produces: 'json', handle: (req) => getDatasets(ctx, req) },
    { method: 'POST', pattern: '/export/reporting_data/enqueue', produces: 'json', handle: (req) => enqueue(ctx, req) },
    { method: 'GET', pattern: '/export/reporting_data/:job_identifier', produces: 'json', handle: (req) => jobStatus(ctx, req) },
    {
      method: 'GET',
      pattern: '/download/reporting_data/:job_identifier',
      produces: 'octet-stream',
      handle: (req) => serveDownload(ctx, req),
    },
  ];
}

export function datasetsResponse(catalogue: readonly DatasetDef[], apiVersion: string): Record<string, unknown> {
  const qualified = showsQualifiedIds(apiVersion);
  return {
    type: 'list',
    data: catalogue.map((dataset) => ({
      id: dataset.id,
      name: dataset.name,
      description: dataset.description,
      default_time_attribute_id: dataset.defaultTimeAttributeId,
      attributes: dataset.attributes.map((a) =>
        qualified ? { id: a.id, name: a.name, qualified_id: a.qualifiedId } : { id: a.id, name: a.name },
      ),
    })),
  };
}

function getDatasets(ctx: ReportingContext, req: FakeRequest): void {
  sendJson(req.res, 200, datasetsResponse(ctx.catalogue, req.apiVersion));
}

function enqueue(ctx: ReportingContext, req: FakeRequest): void {
  const result = validateEnqueueBody(req.body, {
    catalogue: ctx.catalogue,
    nowMs: ctx.now(),
    retentionDays: ctx.settings.retentionDays,
  });
  if (!result.ok) {
    sendError(req.res, 400, result.code, result.message);
    return;
  }
  // Checked after validation: a malformed request is a 400 whatever the number of running jobs.
  if (!ctx.jobs.hasFreeSlot()) {
    ctx.jobs.counters.rejectedByJobLimit++;
    sendError(
      req.res,
      429,
      'rate_limit_exceeded',
      `Exceeded rate limit of ${ctx.settings.maxUnfinishedJobs} pending reporting dataset export jobs`,
    );
    return;
  }
  const { dataset, attributes, startTime, endTime } = result.request;
  const job = ctx.jobs.create(ctx.data.selection(dataset, attributes, { startTime, endTime }, req.apiVersion));
  sendJson(req.res, 200, { job_identifier: job.id, status: 'pending', download_url: '', download_expires_at: '' });
}

function jobStatus(ctx: ReportingContext, req: FakeRequest): void {
  ctx.counters.statusCalls++;
  const job = findJob(ctx, req);
  if (job === undefined) return;
  const status = ctx.jobs.status(job);
  const complete = status === 'complete';
  sendJson(req.res, 200, {
    job_identifier: job.id,
    status,
    download_url: complete ? `${ctx.baseUrl()}/download/reporting_data/${job.id}` : '',
    // String of Unix seconds, as for content exports (brief §3.7); "" until the file exists.
    download_expires_at: complete ? String(Math.floor(ctx.jobs.downloadExpiresAtMs(job) / 1000)) : '',
  });
}
