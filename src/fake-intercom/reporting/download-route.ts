import type { FakeRequest } from '../server/router.js';
import { sendError } from '../server/responses.js';
import { csvChunks } from './csv.js';
import { UTF8_BOM, writeDownloadBody, writeDownloadOverride } from './download-body.js';
import { findJob, type ReportingContext } from './reporting-context.js';
import { selectRows } from './row-source.js';

/**
 * `GET /download/reporting_data/{job_identifier}`: the CSV of a complete job. Not complete yet,
 * failed, no_data or expired → 404 with the documented not-found message (ASSUMPTION, brief §3.5).
 */
export async function serveDownload(ctx: ReportingContext, req: FakeRequest): Promise<void> {
  const job = findJob(ctx, req);
  if (job === undefined) return;
  if (!ctx.jobs.isDownloadable(job)) {
    sendError(req.res, 404, 'not_found', `Export job not found for identifier: ${job.id}`);
    return;
  }
  const { selection } = job;
  const baseName = `${selection.dataset.id}_${job.id}`;
  const { encoding, bom } = ctx.settings;
  ctx.counters.downloads++;

  const verbatim = ctx.data.takeDownloadOverride(selection.dataset.id);
  try {
    if (verbatim !== undefined) {
      await writeDownloadOverride(req.res, verbatim, { encoding, baseName });
      return;
    }
    // Header: plain ids in requested order, even when qualified ids were requested (brief §3.9).
    const header = selection.attributes.map((a) => a.id);
    const body = csvChunks(header, selectRows(selection));
    const chunks = bom ? prepend(UTF8_BOM, body) : body;
    const gate = ctx.downloadGate;
    await writeDownloadBody(req.res, gate ? stallAfterFirst(chunks, gate) : chunks, { encoding, baseName });
  } catch (err) {
    // The client went away mid-download (or the stream broke): nothing left to answer.
    ctx.logger.debug({ err, job: job.id }, 'fake intercom download aborted');
    if (!req.res.destroyed) req.res.destroy();
  }
}

function* prepend(first: Buffer, rest: Iterable<Buffer>): Generator<Buffer> {
  yield first;
  yield* rest;
}

/** The first chunk at once, the rest once `gate` resolves: a download that is in flight for as long as a test needs. */
async function* stallAfterFirst(chunks: Iterable<Buffer>, gate: Promise<void>): AsyncGenerator<Buffer> {
  let first = true;
  for (const chunk of chunks) {
    yield chunk;
    if (first) {
      first = false;
      await gate;
    }
  }
}
