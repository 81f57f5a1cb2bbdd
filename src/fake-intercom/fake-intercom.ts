import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Companies } from './companies/companies.js';
import type { ScrollFailureRule, ScrollStats } from './companies/scroll-sessions.js';
import { meRoutes } from './me/me-route.js';
import { resolveOptions, resolveTimestampZone, type DownloadEncoding, type FakeIntercomOptions, type ResolvedOptions } from './options.js';
import type { DownloadOverride } from './reporting/download-body.js';
import type { ExpectedRowsOptions, NewAttribute } from './reporting/reporting-export.js';
import { ReportingExport } from './reporting/reporting-export.js';
import { entityRefs } from './reporting/entity-refs.js';
import { FakeClock } from './server/clock.js';
import { FailureInjector, type FailureRule } from './server/failure-injector.js';
import { RateLimiter } from './server/rate-limiter.js';
import { createRequestHandler, type RequestRecord } from './server/request-handler.js';
import { Router } from './server/router.js';
import { Tickets } from './tickets/tickets.js';

export interface FakeIntercomStats {
  enqueued: number;
  statusCalls: number;
  downloads: number;
  unfinishedNow: number;
  maxUnfinishedSeen: number;
  rejectedByJobLimit: number;
  requests: RequestRecord[];
  /** Every export job's enqueue and finish, on the fake's clock (see exportTimeline). */
  exportJobs: Array<{ id: string; datasetId: string; enqueuedAtMs: number; finishedAtMs: number }>;
}

/**
 * A local, faithful stand-in for Intercom's REST API over real HTTP (brief §9). Endpoint families are
 * sibling modules that contribute routes (`me/`, `reporting/`, `companies/`, `tickets/`); this class
 * owns the server, the clock, the cross-cutting checks and the test control API.
 */
export class FakeIntercom {
  readonly workspaceId: string;
  private baseUrl = '';
  private readonly options: ResolvedOptions;
  private readonly injector = new FailureInjector();
  private readonly reporting: ReportingExport;
  private readonly companyApi: Companies;
  private readonly ticketApi: Tickets;
  /** The one clock every time-based behaviour reads (options.now + advanceClock offset). */
  private readonly clock: FakeClock;
  private readonly requestLog: RequestRecord[] = [];
  private readonly server: Server;

  private constructor(options: ResolvedOptions) {
    this.options = options;
    this.workspaceId = options.workspace.idCode;
    this.clock = new FakeClock(options.now);
    const now = this.clock.now;
    const family = { seed: options.seed, workspaceId: options.workspace.idCode, now };
    this.companyApi = new Companies({ ...family, settings: options.companies });
    this.ticketApi = new Tickets({ ...family, settings: options.tickets });
    this.reporting = new ReportingExport({
      seed: options.seed,
      workspaceId: options.workspace.idCode,
      defaultVersion: options.defaultVersion,
      settings: options.exportSettings,
      now,
      baseUrl: () => options.publicUrl ?? this.baseUrl,
      logger: options.logger,
      // Report rows refer to the companies and tickets the fake starts with (issue 9 §2).
      entities: entityRefs(this.companyApi.peek(), this.ticketApi.peek(), now()),
    });
    const router = new Router();
    router.add(
      ...meRoutes(options.workspace, options.seed),
      ...this.reporting.routes(),
      ...this.companyApi.routes(),
      ...this.ticketApi.routes(),
    );
    const handler = createRequestHandler({
      tokens: new Set(options.tokens),
      defaultVersion: options.defaultVersion,
      limiter: new RateLimiter(options.rateLimit, now),
      injector: this.injector,
      router,
      logger: options.logger,
      record: (entry) => this.requestLog.push({ ...entry, at: now() }),
    });
    this.server = createServer((req, res) => void handler(req, res));
  }

  static async start(options?: FakeIntercomOptions): Promise<FakeIntercom> {
    const fake = new FakeIntercom(resolveOptions(options));
    await fake.listen();
    return fake;
  }

  /** Base URL without trailing slash, e.g. `http://127.0.0.1:43121`. */
  get url(): string {
    return this.baseUrl;
  }

  private async listen(): Promise<void> {
    const { host, port } = this.options;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.baseUrl = `http://${hostPart}:${address.port}`;
    this.options.logger.debug({ url: this.baseUrl }, 'fake intercom listening');
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve, reject) => this.server.close((err) => (err ? reject(err) : resolve())));
    // Keep-alive sockets would hold close() open until they time out.
    this.server.closeAllConnections();
    await closed;
  }

  // ---- control API for tests (in-process) ----

  injectFailure(rule: FailureRule): void {
    this.injector.add(rule);
  }

  /** Drop every injected failure rule not used up yet. */
  clearInjectedFailures(): void {
    this.injector.clear();
  }

  failNextExports(count: number): void {
    this.reporting.jobs.failNext(count);
  }

  expireDownloads(): void {
    this.reporting.jobs.expireFinished();
  }

  /** Applies to jobs enqueued from now on. */
  setExportLatency(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`export latency must be >= 0 ms, got ${ms}`);
    this.options.exportSettings.latencyMs = ms;
  }

  /**
   * Downloads started from now on send their first chunk, then stall until the returned function
   * is called (or the client goes away): a download that is in flight for as long as a test needs.
   */
  holdDownloads(): () => void {
    return this.reporting.holdDownloads();
  }

  setEncoding(encoding: DownloadEncoding): void {
    this.options.exportSettings.encoding = encoding;
  }

  setBom(on: boolean): void {
    this.options.exportSettings.bom = on;
  }

  /** Zone of the CSV timestamps of jobs enqueued from now on: `UTC`, `workspace` or an IANA zone. */
  setTimestampZone(zone: string): void {
    this.options.exportSettings.timestampZone = resolveTimestampZone(zone, this.options.workspace.timezone);
  }

  /** Toggle noDataMode: zero-row jobs report `no_data` instead of `complete`. */
  setNoDataMode(on: boolean): void {
    this.options.exportSettings.noDataMode = on;
  }

  setRows(datasetId: string, rows: Array<Record<string, string | number | null>>): void {
    this.reporting.data.setRows(this.reporting.dataset(datasetId), rows);
  }

  /** Undo setRows: generated rows again for one dataset, or for all when omitted. */
  clearRows(datasetId?: string): void {
    if (datasetId !== undefined) this.reporting.dataset(datasetId); // validates the id
    this.reporting.data.clearRows(datasetId);
  }

  setDataRevision(revision: number): void {
    this.reporting.data.setRevision(revision);
  }

  /**
   * The next download of this dataset serves this body instead of the job's rows (queue several for
   * several downloads). A string is CSV text sent in the fake's encoding; an object can send raw
   * bytes exactly as given (`encoding: 'as-is'`: a truncated or corrupt gzip, invalid UTF-8) and
   * reset the connection part way (`resetAfterBytes`).
   */
  overrideNextDownload(datasetId: string, body: string | DownloadOverride): void {
    this.reporting.dataset(datasetId);
    const override = typeof body === 'string' ? { body } : body;
    if (override.resetAfterBytes !== undefined && !(Number.isInteger(override.resetAfterBytes) && override.resetAfterBytes >= 0)) {
      throw new Error(`resetAfterBytes must be a non-negative integer, got ${override.resetAfterBytes}`);
    }
    this.reporting.data.queueDownloadOverride(datasetId, override);
  }

  addAttribute(datasetId: string, attr: NewAttribute): void {
    this.reporting.addAttribute(datasetId, attr);
  }

  stats(): FakeIntercomStats {
    const { counters } = this.reporting.jobs;
    return {
      enqueued: counters.enqueued,
      statusCalls: this.reporting.counters.statusCalls,
      downloads: this.reporting.counters.downloads,
      unfinishedNow: this.reporting.jobs.unfinishedCount(),
      maxUnfinishedSeen: counters.maxUnfinishedSeen,
      rejectedByJobLimit: counters.rejectedByJobLimit,
      requests: this.requestLog.map((r) => ({ ...r })),
      exportJobs: this.reporting.jobs.timeline(),
    };
  }

  /** Move the fake's clock forward: job latency, scroll idle expiry, rate-limit windows, ticket times. */
  advanceClock(ms: number): void {
    this.clock.advance(ms);
  }

  // ---- companies (brief §5) ----

  /** The current companies as the API returns them (copies). */
  companies(): Array<Record<string, unknown>> {
    return this.companyApi.list();
  }

  /** Regenerate n companies (company k is the same whatever n); drops removals and updates. */
  setCompanyCount(n: number): void {
    this.companyApi.setCount(n);
  }

  removeCompany(id: string): void {
    this.companyApi.remove(id);
  }

  /** Shallow patch of the company's fields; `updated_at` becomes the fake clock's now (unless patched). */
  updateCompany(id: string, patch: Record<string, unknown>): void {
    this.companyApi.update(id, patch);
  }

  /** Another client of the workspace opens a scroll: ours gets `scroll_exists` until it idles out. */
  openScrollAsOtherClient(): void {
    this.companyApi.openScrollAsOtherClient();
  }

  /** One-shot: on the current (or next) scroll, the request for page `afterPages + 1` fails. */
  injectScrollFailure(rule: ScrollFailureRule): void {
    this.companyApi.injectScrollFailure(rule);
  }

  /** The request for page `afterPages + 1` of a scroll waits until the returned release() is called. */
  holdScroll(afterPages: number): () => void {
    return this.companyApi.holdScroll(afterPages);
  }

  scrollStats(): ScrollStats {
    return this.companyApi.scrollStats();
  }

  // ---- tickets (brief §6) ----

  /** The current tickets in the 2.14 shape (copies). */
  tickets(): Array<Record<string, unknown>> {
    return this.ticketApi.list();
  }

  /** Patch a ticket (fields, `ticket_attributes`, or attribute names) and set `updated_at` to now. */
  updateTicket(id: string, patch?: Record<string, unknown>): void {
    this.ticketApi.update(id, patch);
  }

  /** A new ticket created and updated now; returns its id. */
  addTicket(patch?: Record<string, unknown>): string {
    return this.ticketApi.add(patch);
  }

  setTicketUpdatedAt(id: string, unixSeconds: number): void {
    this.ticketApi.setUpdatedAt(id, unixSeconds);
  }

  expectedRows(datasetId: string, startTime: number, endTime: number, options?: ExpectedRowsOptions): Array<Record<string, string | null>> {
    return this.reporting.expectedRows(datasetId, startTime, endTime, options);
  }
}

export function startFakeIntercom(options?: FakeIntercomOptions): Promise<FakeIntercom> {
  return FakeIntercom.start(options);
}
