import type { Readable } from 'node:stream';
import { FatalError } from '../errors.js';
import type { Logger } from '../log.js';
import {
  checkPaging,
  normaliseScrollError,
  searchBody,
  toCompanyListPage,
  toCompanyScrollPage,
  toObjectList,
  toTicket,
  toTicketSearchPage,
} from './companies-tickets.js';
import { decodeDownload, type DownloadEncoding } from './download-decoder.js';
import { IntercomHttp, type IntercomHttpOptions } from './http-client.js';
import { toDatasets, toExportJob, toMe } from './responses.js';
import type {
  CompanyListPage,
  CompanyScrollPage,
  Dataset,
  EnqueueExportRequest,
  ExportJob,
  ExportJobPhase,
  IntercomObject,
  Me,
  RateLimitState,
  TicketSearchPage,
  TicketSearchPagination,
} from './types.js';

/** A reporting export download, being streamed. */
export interface ExportDownload {
  /** Decoded CSV bytes: decompressed, BOM stripped. Errors (taxonomy errors) destroy it. */
  stream: Readable;
  /** Bytes received from the network so far (after fetch undid any HTTP `Content-Encoding`). */
  compressedBytes(): number;
  /** What the body turned out to be; `'plain'` until the first bytes were read. */
  readonly encoding: DownloadEncoding;
  /** Resolves with `encoding` once the first bytes were read. */
  readonly encodingDetected: Promise<DownloadEncoding>;
}

/** Identifies the workspace on export calls. */
export interface ExportCallOptions {
  /** Workspace code from `me().workspaceId`; sent as `app_id` when known. */
  appId?: string;
}

/** Statuses that end a job without data to fetch (brief §3.6: seen across both export APIs). */
const FAILED_STATUSES = new Set(['failed', 'error', 'canceled', 'cancelled', 'expired']);

/** Intercom's reporting export API and `/me` in our types; companies and tickets as raw objects. */
export class IntercomClient {
  readonly #http: IntercomHttp;
  readonly #log: Logger | undefined;

  constructor(options: IntercomHttpOptions) {
    this.#http = new IntercomHttp(options);
    this.#log = options.log;
  }

  /** The budget Intercom reported on the last authenticated response, or null before one. */
  get rateLimit(): RateLimitState | null {
    return this.#http.rateLimit;
  }

  /** `GET /me`: the token's admin and its workspace (whose code is the exports' `app_id`). */
  async me(signal?: AbortSignal): Promise<Me> {
    return toMe(await this.#http.requestJson({ method: 'GET', path: '/me', ...opt(signal) }));
  }

  /** `GET /export/reporting_data/get_datasets`. */
  async getDatasets(signal?: AbortSignal): Promise<Dataset[]> {
    const body = await this.#http.requestJson({
      method: 'GET',
      path: '/export/reporting_data/get_datasets',
      ...opt(signal),
    });
    return toDatasets(body);
  }

  /**
   * `POST /export/reporting_data/enqueue`. A 429 "5 pending reporting dataset export jobs" becomes a
   * `RateLimitedError` with scope `export_jobs`.
   */
  async enqueueExport(req: EnqueueExportRequest, signal?: AbortSignal): Promise<ExportJob> {
    const path = '/export/reporting_data/enqueue';
    const body = await this.#http.requestJson({
      method: 'POST',
      path,
      body: {
        dataset_id: req.datasetId,
        attribute_ids: req.attributeIds,
        start_time: req.startTime,
        end_time: req.endTime,
      },
      ...opt(signal),
    });
    return toExportJob(body, `POST ${path}`);
  }

  /** `GET /export/reporting_data/{job_identifier}`; `app_id` when known, `client_id` when configured. */
  async getExportStatus(jobIdentifier: string, opts: ExportCallOptions = {}, signal?: AbortSignal): Promise<ExportJob> {
    const path = `/export/reporting_data/${encodeURIComponent(jobIdentifier)}`;
    const body = await this.#http.requestJson({
      method: 'GET',
      path,
      query: { app_id: opts.appId, client_id: this.#http.clientId },
      ...opt(signal),
    });
    return toExportJob(body, `GET ${path}`, jobIdentifier);
  }

  /**
   * Starts downloading a finished export. Error statuses (404 once the download expired, 401, …) are
   * thrown from here, before any stream exists; afterwards failures destroy `stream`.
   */
  async downloadExport(
    job: { jobIdentifier: string; downloadUrl?: string },
    opts: ExportCallOptions = {},
    signal?: AbortSignal,
  ): Promise<ExportDownload> {
    const { path, query } = this.#downloadTarget(job, opts);
    const res = await this.#http.openStream({ method: 'GET', path, query, ...opt(signal) });
    const decoded = decodeDownload(res.body);
    let encoding: DownloadEncoding = 'plain';
    decoded.encoding.then(
      (e) => (encoding = e),
      () => undefined, // the stream carries the error
    );
    return {
      stream: decoded.stream,
      compressedBytes: () => res.bytesReceived(),
      get encoding() {
        return encoding;
      },
      encodingDetected: decoded.encoding,
    };
  }

  /**
   * `GET /companies/scroll`, the only way past 10,000 companies: no `scroll_param` for the first page,
   * then the one from the previous page. Never cached (the HTTP layer sends `cache: 'no-store'`),
   * because the same URL returns the next page each time. Scroll failures stay in the taxonomy with
   * Intercom's code, for the caller to act on (brief §8):
   * - 400 `scroll_exists` → FatalError, code `scroll_exists`: another scroll is open; wait ≥ 60 s.
   * - 404 → NotFoundError: the scroll_param expired (60 s idle), or the page after the last one.
   * - 500 → RetriableError, status 500: the scroll is dead; restart it from the first page.
   */
  async scrollCompanies(scrollParam?: string | null, signal?: AbortSignal): Promise<CompanyScrollPage> {
    const param = scrollParam === null || scrollParam === undefined || scrollParam === '' ? undefined : scrollParam;
    try {
      const body = await this.#http.requestJson({
        method: 'GET',
        path: '/companies/scroll',
        query: { scroll_param: param },
        ...opt(signal),
      });
      return toCompanyScrollPage(body);
    } catch (err) {
      throw normaliseScrollError(err);
    }
  }

  /**
   * `POST /companies/list?page=&per_page=`: page-based, sorted by `last_request_at`, without companies
   * that have no users, and capped at 10,000 companies (a 400 FatalError past that; use the scroll).
   */
  async listCompaniesPage(page: number, perPage: number, signal?: AbortSignal): Promise<CompanyListPage> {
    checkPaging(page, perPage);
    const body = await this.#http.requestJson({
      method: 'POST',
      path: '/companies/list',
      query: { page: String(page), per_page: String(perPage) },
      ...opt(signal),
    });
    return toCompanyListPage(body, page);
  }

  /**
   * `POST /tickets/search` (there is no list-all endpoint). The cursor goes into the JSON body as
   * `pagination.starting_after`; `nextCursor` is null once `pages.next` is gone. A cursor Intercom
   * cannot use answers 500 (a RetriableError with status 500).
   */
  async searchTickets(query: IntercomObject, pagination: TicketSearchPagination, signal?: AbortSignal): Promise<TicketSearchPage> {
    const body = searchBody(query, pagination);
    const res = await this.#http.requestJson({ method: 'POST', path: '/tickets/search', body, ...opt(signal) });
    return toTicketSearchPage(res, pagination.startingAfter ?? null);
  }

  /** `GET /ticket_types` → `data`. */
  async listTicketTypes(signal?: AbortSignal): Promise<IntercomObject[]> {
    const body = await this.#http.requestJson({ method: 'GET', path: '/ticket_types', ...opt(signal) });
    return toObjectList(body, 'GET /ticket_types');
  }

  /** `GET /ticket_states` → `data`. Exists from API 2.12; older versions answer 404 (NotFoundError). */
  async listTicketStates(signal?: AbortSignal): Promise<IntercomObject[]> {
    const body = await this.#http.requestJson({ method: 'GET', path: '/ticket_states', ...opt(signal) });
    return toObjectList(body, 'GET /ticket_states');
  }

  /** `GET /tickets/{id}` by the ticket's `id` (not its inbox number `ticket_id`); unknown → NotFoundError. */
  async getTicket(id: string, signal?: AbortSignal): Promise<IntercomObject> {
    if (id === '') throw new FatalError('getTicket needs a ticket id');
    const path = `/tickets/${encodeURIComponent(id)}`;
    const body = await this.#http.requestJson({ method: 'GET', path, ...opt(signal) });
    return toTicket(body, `GET ${path}`);
  }

  /**
   * What a job's status means for the pipeline (brief §3.6, ASSUMPTION): `complete`/`completed` is
   * only done once a download URL exists; unknown statuses count as still running, so a new status
   * value delays a job (bounded by the poll budget) instead of failing it.
   */
  static exportPhase(job: ExportJob): ExportJobPhase {
    const status = job.status.trim().toLowerCase();
    if (status === 'complete' || status === 'completed') return job.downloadUrl !== '' ? 'complete' : 'running';
    if (status === 'no_data') return 'no_data';
    if (FAILED_STATUSES.has(status)) return 'failed';
    return 'running';
  }

  /**
   * Prefers the job's `download_url` (what Intercom told us to fetch) but only on the API's own
   * origin: the bearer token must not travel to another host. Otherwise the documented path.
   */
  #downloadTarget(
    job: { jobIdentifier: string; downloadUrl?: string },
    opts: ExportCallOptions,
  ): { path: string; query: Record<string, string | undefined> } {
    const url = job.downloadUrl?.trim() ?? '';
    if (url !== '' && this.#http.isSameOrigin(url)) {
      const existing = new URL(url).searchParams;
      return {
        path: url,
        query: {
          app_id: existing.has('app_id') ? undefined : opts.appId,
          job_identifier: existing.has('job_identifier') ? undefined : job.jobIdentifier,
        },
      };
    }
    if (url !== '') {
      this.#log?.warn(
        { jobIdentifier: job.jobIdentifier },
        'Intercom download_url is not on the API origin; downloading through /download/reporting_data instead',
      );
    }
    return {
      path: `/download/reporting_data/${encodeURIComponent(job.jobIdentifier)}`,
      query: { app_id: opts.appId, job_identifier: job.jobIdentifier },
    };
  }
}

function opt(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}
