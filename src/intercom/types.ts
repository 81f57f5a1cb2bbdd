/** Shapes the rest of the product sees from Intercom, in our naming (camelCase, parsed). */

export type IntercomRegion = 'us' | 'eu' | 'au';

export const REGION_BASE_URLS: Record<IntercomRegion, string> = {
  us: 'https://api.intercom.io',
  eu: 'https://api.eu.intercom.io',
  au: 'https://api.au.intercom.io',
};

/** `GET /me`: the token's admin and its workspace. */
export interface Me {
  adminId: string;
  adminName: string;
  /** Workspace code (`app.id_code`); the `app_id` query parameter of the reporting endpoints. */
  workspaceId: string;
  workspaceName: string;
  /** As Intercom reports it, e.g. `US`. */
  region: string;
  /** IANA zone of the workspace, e.g. `America/Los_Angeles`. */
  timezone: string;
}

export interface DatasetAttribute {
  /** Plain id, e.g. `conversation_id`; may be ambiguous inside a dataset. Also the CSV header. */
  id: string;
  name: string;
  /** Namespaced id such as `standard.conversation_id` (API 2.16+/Preview); absent on older versions. */
  qualifiedId?: string;
}

export interface Dataset {
  id: string;
  name: string;
  description: string;
  /** The attribute Intercom selects rows by for `start_time`/`end_time`. */
  defaultTimeAttributeId: string;
  attributes: DatasetAttribute[];
}

export interface EnqueueExportRequest {
  datasetId: string;
  /** Qualified ids where known, else plain ids. */
  attributeIds: string[];
  /** Unix seconds, inclusive. */
  startTime: number;
  /** Unix seconds, inclusive (Intercom's semantics): send `windowEnd - 1` for a half-open window. */
  endTime: number;
}

/** Status of a reporting export job, as returned by enqueue and status. */
export interface ExportJob {
  jobIdentifier: string;
  /** Raw status string from Intercom (`pending`, `in_progress`, `complete`, `failed`, …). */
  status: string;
  /** `''` until the job is complete. */
  downloadUrl: string;
  /** Unix ms when the download expires, or null when unknown/not yet set. */
  downloadExpiresAt: number | null;
}

/** What the pipeline should do with a job in this status. */
export type ExportJobPhase = 'running' | 'complete' | 'no_data' | 'failed';

export interface RateLimitState {
  limit: number;
  remaining: number;
  /** Unix ms at which the current window resets. */
  resetAt: number;
}
