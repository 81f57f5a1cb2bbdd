import { afterEach, describe, expect, it } from 'vitest';
import {
  CONVERSATION_ENQUEUE as CONVERSATION,
  TEST_NOW as NOW,
  download,
  enqueue,
  expectErrorList,
  exportJob,
  fakeStarter,
  jobStatus,
  rawRequest,
} from './fixtures/fake-intercom-http.js';

const fakes = fakeStarter(NOW);
const start = fakes.start;
afterEach(fakes.closeAll);

describe('fake Intercom: export jobs', () => {
  it('allows 5 unfinished jobs per workspace, answers 429 for the 6th, and frees slots on completion', async () => {
    const { fake, clock } = await start({ export: { latencyMs: 5000 } });
    for (let i = 0; i < 5; i++) expect((await enqueue(fake, CONVERSATION)).status).toBe(200);
    const sixth = await enqueue(fake, CONVERSATION);
    expect(sixth.status).toBe(429);
    expectErrorList(sixth, 'rate_limit_exceeded', 'Exceeded rate limit of 5 pending reporting dataset export jobs');
    expect(fake.stats()).toMatchObject({ enqueued: 5, unfinishedNow: 5, maxUnfinishedSeen: 5, rejectedByJobLimit: 1 });
    clock.advance(4999);
    expect((await enqueue(fake, CONVERSATION)).status).toBe(429);
    clock.advance(1);
    expect(fake.stats().unfinishedNow).toBe(0);
    expect((await enqueue(fake, CONVERSATION)).status).toBe(200);
    expect(fake.stats()).toMatchObject({ enqueued: 6, unfinishedNow: 1, maxUnfinishedSeen: 5, rejectedByJobLimit: 2 });
  });

  it('moves pending → in_progress → complete with the clock and only then sets the download fields', async () => {
    const { fake, clock } = await start({ export: { latencyMs: 4000 } });
    const jobId = (await enqueue(fake, CONVERSATION)).json.job_identifier;
    const seen: string[] = [];
    for (const step of [0, 1999, 1, 1999]) {
      clock.advance(step);
      const res = await jobStatus(fake, jobId);
      expect(res.json).toMatchObject({ job_identifier: jobId, download_url: '', download_expires_at: '' });
      seen.push(res.json.status);
    }
    expect(seen).toEqual(['pending', 'pending', 'in_progress', 'in_progress']);
    clock.advance(1);
    const done = await jobStatus(fake, jobId);
    expect(done.json.status).toBe('complete');
    expect(done.json.download_url).toBe(`${fake.url}/download/reporting_data/${jobId}`);
    expect(done.json.download_expires_at).toBe(String(Math.floor((NOW + 4000 + 2 * 86_400_000) / 1000)));
    expect(fake.stats().statusCalls).toBe(5);
  });

  it('advertises publicUrl in download_url when configured', async () => {
    const { fake, clock } = await start({ publicUrl: 'http://fake-intercom:8080/' });
    const jobId = (await enqueue(fake, CONVERSATION)).json.job_identifier;
    clock.advance(1000);
    expect((await jobStatus(fake, jobId)).json.download_url).toBe(`http://fake-intercom:8080/download/reporting_data/${jobId}`);
  });

  it('skips in_progress when disabled and honours setExportLatency for new jobs', async () => {
    const { fake, clock } = await start({ export: { inProgressPhase: false, latencyMs: 1000 } });
    fake.setExportLatency(10_000);
    const jobId = (await enqueue(fake, CONVERSATION)).json.job_identifier;
    clock.advance(9_999);
    expect((await jobStatus(fake, jobId)).json.status).toBe('pending');
    clock.advance(1);
    expect((await jobStatus(fake, jobId)).json.status).toBe('complete');
  });

  it('fails injected jobs (no download) and completes the ones after', async () => {
    const { fake, clock } = await start();
    fake.failNextExports(1);
    const failed = (await enqueue(fake, CONVERSATION)).json.job_identifier;
    const ok = (await enqueue(fake, CONVERSATION)).json.job_identifier;
    clock.advance(1000);
    const failedStatus = await jobStatus(fake, failed);
    expect(failedStatus.json).toEqual({ job_identifier: failed, status: 'failed', download_url: '', download_expires_at: '' });
    expect((await download(fake, failed)).status).toBe(404);
    expect((await jobStatus(fake, ok)).json.status).toBe('complete');
    expect(fake.stats().unfinishedNow).toBe(0);
  });

  it('reports no_data for an empty export in noDataMode, complete with a header-only file otherwise', async () => {
    const { fake, clock } = await start({ export: { noDataMode: true, encoding: 'plain' } });
    fake.setRows('conversation', []);
    const empty = (await enqueue(fake, CONVERSATION)).json.job_identifier;
    fake.clearRows('conversation');
    const full = (await enqueue(fake, CONVERSATION)).json.job_identifier;
    clock.advance(1000);
    expect((await jobStatus(fake, empty)).json).toMatchObject({ status: 'no_data', download_url: '' });
    expect((await jobStatus(fake, full)).json.status).toBe('complete');
    fake.setNoDataMode(false);
    expect((await jobStatus(fake, empty)).json.status).toBe('complete');
    expect((await download(fake, empty)).text).toBe('conversation_id,conversation_started_at\n');
  });

  it('answers 404 with the documented message for an unknown job, and for downloads before completion', async () => {
    const { fake } = await start();
    const status = await jobStatus(fake, 'job1');
    expect(status.status).toBe(404);
    expectErrorList(status, 'not_found', 'Export job not found for identifier: job1');
    const jobId = (await enqueue(fake, CONVERSATION)).json.job_identifier;
    const early = await download(fake, jobId);
    expect(early.status).toBe(404);
    expectErrorList(early, 'not_found', `Export job not found for identifier: ${jobId}`);
  });

  it('requires a matching app_id on status and download in strictIds mode only', async () => {
    const { fake, clock } = await start({ export: { strictIds: true } });
    const enq = await enqueue(fake, CONVERSATION);
    const id = enq.json.job_identifier;
    clock.advance(1000);
    const missing = await jobStatus(fake, id);
    expect(missing.status).toBe(400);
    expectErrorList(missing, 'bad_request', "'app_id' is a required parameter");
    expect((await rawRequest(fake, `/export/reporting_data/${id}?app_id=wrong`)).status).toBe(404);
    expect((await rawRequest(fake, `/export/reporting_data/${id}?app_id=fakews01&client_id=x`)).json.status).toBe('complete');
    const dl = `/download/reporting_data/${id}`;
    expect((await rawRequest(fake, dl, { accept: 'application/octet-stream' })).status).toBe(400);
    expect((await rawRequest(fake, `${dl}?app_id=wrong`, { accept: 'application/octet-stream' })).status).toBe(404);
    expect((await rawRequest(fake, `${dl}?app_id=fakews01&job_identifier=${id}`, { accept: 'application/octet-stream' })).status).toBe(200);
  });

  it('expires downloads after the TTL or on expireDownloads(), keeping status complete', async () => {
    const { fake, clock } = await start({ export: { downloadTtlMs: 60_000 } });
    const first = await exportJob(fake, clock, CONVERSATION);
    expect((await download(fake, first)).status).toBe(200);
    clock.advance(60_000);
    const expired = await download(fake, first);
    expect(expired.status).toBe(404);
    expectErrorList(expired, 'not_found');
    expect((await jobStatus(fake, first)).json.status).toBe('complete');

    const second = await exportJob(fake, clock, CONVERSATION);
    const running = (await enqueue(fake, CONVERSATION)).json.job_identifier;
    fake.expireDownloads();
    expect((await download(fake, second)).status).toBe(404);
    expect((await jobStatus(fake, second)).json.status).toBe('complete');
    clock.advance(1000);
    expect((await download(fake, running)).status).toBe(200); // still running at expireDownloads()
    expect(fake.stats().downloads).toBe(2);
  });
});
