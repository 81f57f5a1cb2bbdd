import { resolveAttribute, type AttributeDef, type DatasetDef } from './catalogue.js';
import { SECONDS_PER_DAY } from './time-format.js';

/**
 * Validation of `POST /export/reporting_data/enqueue` bodies. The first six messages are Intercom's,
 * verbatim from the 2.14 description's examples [2.14 L1565-1613]; the time checks are ASSUMPTIONs
 * written in the same style (brief §3.3, §3.8).
 */

export interface ValidEnqueue {
  dataset: DatasetDef;
  attributes: AttributeDef[];
  startTime: number;
  endTime: number;
}

export type EnqueueValidation =
  { ok: true; request: ValidEnqueue } | { ok: false; code: 'bad_request' | 'parameter_invalid'; message: string };

const bad = (message: string): EnqueueValidation => ({ ok: false, code: 'bad_request', message });

const isMissing = (value: unknown) => value === undefined || value === null || value === '';

export function validateEnqueueBody(
  rawBody: Buffer,
  context: { catalogue: readonly DatasetDef[]; nowMs: number; retentionDays: number },
): EnqueueValidation {
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8') || '{}');
  } catch {
    return { ok: false, code: 'parameter_invalid', message: 'Request body is not valid JSON' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, code: 'parameter_invalid', message: 'Request body must be a JSON object' };
  }
  const params = body as Record<string, unknown>;

  const datasetId = params.dataset_id;
  if (isMissing(datasetId)) return bad("'dataset_id' is a required parameter");
  const dataset = context.catalogue.find((d) => d.id === datasetId);
  if (dataset === undefined) return bad(`${String(datasetId)} is not a valid dataset_id`);

  const attributeIds = params.attribute_ids;
  if (attributeIds === undefined || attributeIds === null) return bad("'attribute_ids' is a required parameter");
  if (!Array.isArray(attributeIds)) return bad("'attribute_ids' not an array must be of type Array");
  if (attributeIds.length === 0) return bad('attribute_ids must contain at least one attribute_id');
  const attributes: AttributeDef[] = [];
  const invalid: string[] = [];
  for (const requested of attributeIds) {
    const found = typeof requested === 'string' ? resolveAttribute(dataset, requested) : undefined;
    if (found === undefined) invalid.push(String(requested));
    else attributes.push(found);
  }
  // ASSUMPTION: several bad ids are listed comma-separated (the documented example has only one).
  if (invalid.length > 0) return bad(`attribute_ids invalid for ${dataset.id} dataset: ${invalid.join(', ')}`);

  const startTime = params.start_time;
  const endTime = params.end_time;
  if (isMissing(startTime)) return bad("'start_time' is a required parameter");
  if (isMissing(endTime)) return bad("'end_time' is a required parameter");
  // ASSUMPTION: only JSON integers (Unix seconds) are accepted; numeric strings are refused.
  if (!Number.isSafeInteger(startTime)) return bad("'start_time' not an integer must be of type Integer");
  if (!Number.isSafeInteger(endTime)) return bad("'end_time' not an integer must be of type Integer");
  const start = startTime as number;
  const end = endTime as number;
  if (start > end) return bad('start_time must be less than or equal to end_time');

  const oldestAllowed = Math.floor(context.nowMs / 1000) - context.retentionDays * SECONDS_PER_DAY;
  if (start < oldestAllowed) {
    return bad(`start_time is outside the reporting data retention period of ${context.retentionDays} days`);
  }
  return { ok: true, request: { dataset, attributes, startTime: start, endTime: end } };
}
