import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FatalError, NotFoundError, RateLimitedError, RetriableError } from '../src/errors.js';
import { FakeIntercom } from '../src/fake-intercom/index.js';
import { IntercomClient, type ExportJob, type IntercomHttpOptions } from '../src/intercom/index.js';
import { createLogger } from '../src/log.js';
import { readAll } from './helpers/streams.js';

type Fake = Awaited<ReturnType<typeof FakeIntercom.start>>;

const TOKEN = 'fake-token';
const DAY_S = 86_400;

let fake: Fake;

beforeAll(async () => {
  fake = await FakeIntercom.start({ tokens: [TOKEN], export: { latencyMs: 60, encoding: 'plain' } });
});
afterAll(async () => {
  await fake?.close();
});

function client(extra: Partial<IntercomHttpOptions> = {}): IntercomClient {
  return new IntercomClient({ baseUrl: fake.url, token: TOKEN, timeoutMs: 5_000, ...extra });
}

/** A logger writing into an array, to check what reaches log lines. */
function capturingLogger(): { log: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { log: createLogger({ level: 'debug', destination }), lines };
}

/** The last two full days: inside retention, and the fake generates rows for every day. */
function recentWindow(): { startTime: number; endTime: number } {
  const today = Math.floor(Date.now() / 1000 / DAY_S) * DAY_S;
  return { startTime: today - 2 * DAY_S, endTime: today - 1 };
}

async function enqueueAndWait(c: IntercomClient, attributeIds: string[]): Promise<ExportJob> {
  const me = await c.me();
  const job = await c.enqueueExport({ datasetId: 'conversation', attributeIds, ...recentWindow() });
  expect(job.status).toBe('pending');
  expect(IntercomClient.exportPhase(job)).toBe('running');
  for (let i = 0; i < 200; i++) {
    const status = await c.getExportStatus(job.jobIdentifier, { appId: me.workspaceId });
    if (IntercomClient.exportPhase(status) !== 'running') return status;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('export did not finish');
}

describe('IntercomClient against the fake Intercom', () => {
  afterEach(() => {
    fake.setEncoding('plain');
    fake.setBom(false);
  });

  it('me() maps the admin and the workspace code', async () => {
    const me = await client().me();
    expect(me.workspaceId).toBe('fakews01');
    expect(me.workspaceId).toBe(fake.workspaceId);
    expect(me.adminId).not.toBe('');
    expect(me.region).toBe('US');
    expect(typeof me.timezone).toBe('string');
    expect(typeof me.workspaceName).toBe('string');
  });

  it('getDatasets() maps datasets and attributes', async () => {
    const datasets = await client().getDatasets();
    const conversation = datasets.find((d) => d.id === 'conversation');
    expect(conversation).toBeDefined();
    expect(conversation!.defaultTimeAttributeId).toBe('conversation_started_at');
    expect(conversation!.attributes.length).toBeGreaterThan(0);
    for (const a of conversation!.attributes) {
      expect(typeof a.id).toBe('string');
      if (a.qualifiedId !== undefined) expect(a.qualifiedId).toMatch(/\./);
    }
  });

  it.each([
    ['plain', false, 'plain'],
    ['plain', true, 'plain'],
    ['gzip', false, 'gzip'],
    ['gzip', true, 'gzip'],
    // fetch undoes Content-Encoding itself, so the sniffer sees plain text.
    ['gzip-content-encoding', false, 'plain'],
    ['zip', true, 'zip'],
  ] as const)('enqueue → poll → download round trip (%s, BOM %s)', async (encoding, bom, detected) => {
    fake.setEncoding(encoding);
    fake.setBom(bom);
    const c = client();
    const me = await c.me();
    const attributeIds = ['conversation_id', 'conversation_started_at', 'channel'];
    const done = await enqueueAndWait(c, attributeIds);
    expect(IntercomClient.exportPhase(done)).toBe('complete');
    expect(done.downloadUrl).not.toBe('');
    expect(done.downloadExpiresAt).toBeGreaterThan(Date.now());

    const download = await c.downloadExport(done, { appId: me.workspaceId });
    const text = await readAll(download.stream);
    expect(download.encoding).toBe(detected);
    expect(await download.encodingDetected).toBe(detected);
    expect(download.compressedBytes()).toBeGreaterThan(0);
    expect(text.charCodeAt(0)).not.toBe(0xfeff);
    const lines = text.split(/\r?\n/).filter((l) => l !== '');
    expect(lines[0]).toBe(attributeIds.join(','));
    expect(lines.length).toBeGreaterThan(1);
  });

  it('downloads through /download/reporting_data/{id} without a download_url, or when it points elsewhere', async () => {
    const c = client();
    const me = await c.me();
    const done = await enqueueAndWait(c, ['conversation_id']);
    const viaPath = await c.downloadExport({ jobIdentifier: done.jobIdentifier }, { appId: me.workspaceId });
    expect((await readAll(viaPath.stream)).split(/\r?\n/)[0]).toBe('conversation_id');
    // The token must not travel to another host: a foreign download_url is replaced by the API path.
    const foreign = { ...done, downloadUrl: 'https://files.example.invalid/export.csv' };
    const viaFallback = await c.downloadExport(foreign, { appId: me.workspaceId });
    expect((await readAll(viaFallback.stream)).split(/\r?\n/)[0]).toBe('conversation_id');
  });

  it('401: FatalError at once with a clear message and no trace of the token', async () => {
    const secret = 'tok_s3cr3t_do_not_leak_0123456789';
    const { log, lines } = capturingLogger();
    const c = new IntercomClient({ baseUrl: fake.url, token: secret, log });
    const started = Date.now();
    const err = await c.me().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err).toBeInstanceOf(FatalError);
    const e = err as FatalError;
    expect(e.message).toBe(
      'Intercom rejected the access token (401 unauthorized: Access Token Invalid). Check INTERCOM_ACCESS_TOKEN and the region/base URL.',
    );
    expect(e.status).toBe(401);
    expect(e.code).toBe('unauthorized');
    for (const text of [String(err), JSON.stringify(err), e.stack ?? '', inspect(err), inspect(c), lines.join('')]) {
      expect(text).not.toContain(secret);
    }
    expect(lines.length).toBeGreaterThan(0); // the request was logged, without headers
    expect(lines.join('')).not.toMatch(/authorization/i);
  });

  it('never logs the working token either', async () => {
    const { log, lines } = capturingLogger();
    const c = client({ log });
    await c.me();
    await c.getDatasets();
    expect(lines.join('')).not.toContain(TOKEN);
    expect(JSON.parse(lines[0]!)).toMatchObject({ method: 'GET', path: '/me', status: 200 });
  });

  it("400: FatalError carrying Intercom's message", async () => {
    const err = await client()
      .enqueueExport({ datasetId: 'conversation', attributeIds: ['conversation_id', 'foo'], ...recentWindow() })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalError);
    expect(err).not.toBeInstanceOf(NotFoundError);
    const e = err as FatalError;
    expect(e.message).toBe(
      'Intercom rejected POST /export/reporting_data/enqueue (400 bad_request): attribute_ids invalid for conversation dataset: foo',
    );
    expect(e.status).toBe(400);
    expect(e.code).toBe('bad_request');
    expect(e.requestId).toMatch(/\S/);
  });

  it('429 (request budget): RateLimitedError with a positive wait', async () => {
    fake.injectFailure({ path: '/me', status: 429 });
    // No pre-emptive wait after the exhausted headers, so the next tests are not slowed down.
    const c = client({ maxRateLimitWaitMs: 0 });
    const err = await c.me().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    const e = err as RateLimitedError;
    expect(e.scope).toBe('requests');
    expect(e.retryAfterMs).toBeGreaterThan(0);
    expect(e.retryAfterMs).toBeLessThanOrEqual(10_000);
    expect(e.status).toBe(429);
    expect(e.message).toMatch(/^Intercom GET \/me rate limited \(429 rate_limit_exceeded: Exceeded rate limit/);
    expect(c.rateLimit?.remaining).toBe(0);
  });

  it('429 (5 pending export jobs): RateLimitedError with scope export_jobs', async () => {
    const slow = await FakeIntercom.start({ tokens: [TOKEN], export: { latencyMs: 60_000 } });
    try {
      const c = new IntercomClient({ baseUrl: slow.url, token: TOKEN, exportJobLimitBackoffMs: 1_234 });
      for (let i = 0; i < 5; i++) {
        await c.enqueueExport({ datasetId: 'conversation', attributeIds: ['conversation_id'], ...recentWindow() });
      }
      const err = await c
        .enqueueExport({ datasetId: 'conversation', attributeIds: ['conversation_id'], ...recentWindow() })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitedError);
      expect((err as RateLimitedError).scope).toBe('export_jobs');
      expect((err as RateLimitedError).retryAfterMs).toBe(1_234);
      expect((err as Error).message).toContain('Exceeded rate limit of 5 pending reporting dataset export jobs');
    } finally {
      await slow.close();
    }
  });

  it('503: RetriableError naming the call', async () => {
    fake.injectFailure({ method: 'GET', path: '/export/reporting_data/abc', status: 503 });
    const err = await client()
      .getExportStatus('abc', { appId: 'fakews01' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriableError);
    expect((err as Error).message).toBe('Intercom GET /export/reporting_data/abc failed: 503 service_unavailable (Service Unavailable)');
    expect((err as RetriableError).status).toBe(503);
  });

  it('403: FatalError hinting at permissions; 408: RetriableError', async () => {
    fake.injectFailure({ path: '/export/reporting_data/get_datasets', status: 403 });
    const forbidden = await client()
      .getDatasets()
      .catch((e: unknown) => e);
    expect(forbidden).toBeInstanceOf(FatalError);
    expect((forbidden as Error).message).toMatch(/403 forbidden: Forbidden.*export_reporting_data/);

    fake.injectFailure({ path: '/me', status: 408 });
    expect(
      await client()
        .me()
        .catch((e: unknown) => e),
    ).toBeInstanceOf(RetriableError);
  });

  it('unknown job: NotFoundError', async () => {
    const err = await client()
      .getExportStatus('no-such-job', { appId: 'fakews01' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).status).toBe(404);
  });

  it('expired download: NotFoundError from downloadExport itself', async () => {
    const c = client();
    const done = await enqueueAndWait(c, ['conversation_id']);
    fake.expireDownloads();
    const err = await c.downloadExport(done, { appId: fake.workspaceId }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toMatch(/^Intercom GET \/download\/reporting_data\//);
  });

  it('failed export job: phase failed', async () => {
    fake.failNextExports(1);
    const done = await enqueueAndWait(client(), ['conversation_id']);
    expect(done.status).toBe('failed');
    expect(IntercomClient.exportPhase(done)).toBe('failed');
  });

  it('reads the rate-limit state from the headers', async () => {
    const c = client();
    expect(c.rateLimit).toBeNull();
    await c.me();
    const state = c.rateLimit!;
    expect(state.limit).toBeGreaterThan(0);
    expect(state.remaining).toBeLessThan(state.limit);
    expect(state.resetAt % 1000).toBe(0); // Unix seconds → ms
    expect(state.resetAt).toBeGreaterThan(Date.now() - 1_000);
    expect(state.resetAt).toBeLessThanOrEqual(Date.now() + 11_000);
  });

  it('waits (bounded) for the window to reset once the budget is used up', async () => {
    const tight = await FakeIntercom.start({ tokens: [TOKEN], rateLimit: { perAppPer10s: 2 } });
    try {
      const c = new IntercomClient({ baseUrl: tight.url, token: TOKEN, maxRateLimitWaitMs: 300 });
      await c.me();
      await c.me().catch(() => undefined); // may already be in a new window
      if (c.rateLimit?.remaining !== 0) return; // window rolled over between the calls
      const expected = Math.min(300, c.rateLimit.resetAt - Date.now());
      const started = Date.now();
      await c.me().catch((e: unknown) => expect(e).toBeInstanceOf(RateLimitedError));
      expect(Date.now() - started).toBeGreaterThanOrEqual(expected - 30);
    } finally {
      await tight.close();
    }
  });
});
