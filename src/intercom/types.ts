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

/** Raw JSON objects exactly as Intercom returns them; the sinks normalise them. */
export type IntercomObject = Record<string, unknown>;

/** One page of `GET /companies/scroll`. */
export interface CompanyScrollPage {
  /** Up to 100 companies; empty at the end of the scroll. */
  companies: IntercomObject[];
  /**
   * The value to send back for the next page, or null when Intercom sent none. Intercom repeats the
   * same value on every page of one scroll, so a repeat does not mean the end (brief §8.3).
   */
  scrollParam: string | null;
}

/** Paging of `POST /tickets/search`: the cursor travels in the JSON body (brief §6.1). */
export interface TicketSearchPagination {
  /** 1–150 (Intercom's maximum). */
  perPage: number;
  /** `nextCursor` of the previous page; null/absent for the first page. */
  startingAfter?: string | null;
}

/** One page of `POST /tickets/search`. */
export interface TicketSearchPage {
  tickets: IntercomObject[];
  /** Matches of the whole query (not of this page), when Intercom reports it. */
  totalCount: number | null;
  /** `pages.next.starting_after`, or null on the last page. */
  nextCursor: string | null;
}

/** One page of `POST /companies/list` (page-based; Intercom stops at 10,000 companies). */
export interface CompanyListPage {
  companies: IntercomObject[];
  totalPages: number | null;
  /** The page number to ask for next, or null on the last page. */
  nextPage: number | null;
}
