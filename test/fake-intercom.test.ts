import { afterEach, describe, expect, it } from 'vitest';
import {
  CONVERSATION_ENQUEUE as CONVERSATION,
  DAY_WINDOW as DAY,
  TEST_NOW as NOW,
  TOKEN,
  download,
  enqueue,
  expectErrorList,
  exportJob,
  fakeStarter,
  rawRequest,
} from './fixtures/fake-intercom-http.js';

const fakes = fakeStarter(NOW);
const start = fakes.start;
afterEach(fakes.closeAll);

describe('fake Intercom: authentication, versions, Accept, routing', () => {
  it('answers 401 error.list without rate-limit headers for a missing or unknown token', async () => {
    const { fake } = await start();
    for (const token of [null, 'not-a-token']) {
      const res = await rawRequest(fake, '/me', { token });
      expect(res.status).toBe(401);
      expectErrorList(res, 'unauthorized', 'Access Token Invalid');
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
      expect(res.headers['x-ratelimit-remaining']).toBeUndefined();
    }
    const ok = await rawRequest(fake, '/me');
    expect(ok.status).toBe(200);
    expect(ok.json.app.id_code).toBe('fakews01');
    expect(ok.headers['x-ratelimit-limit']).toBe('1667');
  });

  it('accepts configured tokens and workspace settings in /me', async () => {
    const { fake } = await start({ tokens: ['a', 'b'], workspace: { idCode: 'ws123456', region: 'EU', timezone: 'Europe/Dublin' } });
    expect(fake.workspaceId).toBe('ws123456');
    expect((await rawRequest(fake, '/me', { token: TOKEN })).status).toBe(401);
    const me = await rawRequest(fake, '/me', { token: 'b' });
    expect(me.json).toMatchObject({ type: 'admin', app: { type: 'app', id_code: 'ws123456', region: 'EU', timezone: 'Europe/Dublin' } });
  });

  it('rejects an unknown Intercom-Version with 400 naming the header, accepts the enum, Preview and Unstable', async () => {
    const { fake } = await start();
    const bad = await rawRequest(fake, '/me', { version: '2.99' });
    expect(bad.status).toBe(400);
    expectErrorList(bad, 'bad_request');
    expect(bad.json.errors[0].message).toContain('Intercom-Version');
    for (const version of ['1.0', '2.14', '2.15', '2.16', '2.17', 'Preview', 'Unstable']) {
      expect((await rawRequest(fake, '/me', { version })).status).toBe(200);
    }
  });

  it('shows qualified_id in get_datasets only from 2.16 (and Preview/Unstable)', async () => {
    const { fake } = await start();
    const attrsOf = async (version?: string) => {
      const res = await rawRequest(fake, '/export/reporting_data/get_datasets', version === undefined ? {} : { version });
      return res.json.data.find((d: any) => d.id === 'conversation').attributes as any[];
    };
    expect((await attrsOf()).every((a) => !('qualified_id' in a))).toBe(true); // default 2.14
    expect((await attrsOf('2.15')).some((a) => 'qualified_id' in a)).toBe(false);
    for (const version of ['2.16', 'Preview', 'Unstable']) {
      const attrs = await attrsOf(version);
      expect(attrs.find((a) => a.id === 'conversation_id').qualified_id).toBe('standard.conversation_id');
      expect(attrs.filter((a) => a.id === 'Brand').map((a) => a.qualified_id)).toEqual(['conversation.Brand', 'people.Brand']);
    }
    const { fake: fake216 } = await start({ defaultVersion: '2.16' });
    const res = await rawRequest(fake216, '/export/reporting_data/get_datasets');
    expect(res.json.data[0].attributes[0].qualified_id).toBeDefined();
  });

  it('lists the realistic catalogue with default time attributes', async () => {
    const { fake } = await start();
    const res = await rawRequest(fake, '/export/reporting_data/get_datasets');
    expect(res.json.type).toBe('list');
    const byId = Object.fromEntries(res.json.data.map((d: any) => [d.id, d]));
    expect(Object.fromEntries(Object.entries(byId).map(([id, d]: [string, any]) => [id, d.default_time_attribute_id]))).toEqual({
      conversation: 'conversation_started_at',
      consolidated_conversation_part: 'action_time',
      conversation_rating_sent: 'conversation_rating_updated_at',
      conversation_state: 'conversation_state_started_at',
      admin_status_change: 'teammate_status_period_started_at',
      tickets: 'ticket_created_at',
      call_team_stats: 'call_initiated_at',
    });
    const conversationIds = byId.conversation.attributes.map((a: any) => a.id);
    for (const id of [
      'conversation_id',
      'channel',
      'currently_assigned_team_id',
      'currently_assigned_team_raw_id',
      'first_response_time_excluding_bot_inbox',
      'conversation_tag_ids',
      'teammate_replies_count',
      'last_teammate_rating_remark',
      'language',
      'Csat Overall Experience',
    ]) {
      expect(conversationIds).toContain(id);
    }
    for (const d of res.json.data) expect(d.attributes.length).toBeGreaterThanOrEqual(8);
    for (const d of res.json.data) expect(d.attributes.length).toBeLessThanOrEqual(25);
  });

  it('answers 406 for a JSON endpoint with an unsupported Accept, and accepts */*, lists and no header', async () => {
    const { fake } = await start();
    const refused = await rawRequest(fake, '/me', { accept: 'text/csv' });
    expect(refused.status).toBe(406);
    expectErrorList(refused, 'unsupported');
    expect(refused.headers['x-ratelimit-limit']).toBeDefined();
    for (const accept of [null, '*/*', 'application/json; charset=utf-8', 'application/json, text/plain, */*']) {
      expect((await rawRequest(fake, '/me', { accept })).status).toBe(200);
    }
  });

  it('requires Accept: application/octet-stream on the download (not */*)', async () => {
    const { fake, clock } = await start();
    const jobId = await exportJob(fake, clock, CONVERSATION);
    for (const accept of ['*/*', 'application/json', null]) {
      const res = await download(fake, jobId, { accept });
      expect(res.status).toBe(406);
      expectErrorList(res, 'unsupported');
    }
    expect((await download(fake, jobId)).status).toBe(200);
  });

  it('answers 404 not_found for unknown paths and unsupported methods; literal routes beat {job_identifier}', async () => {
    const { fake } = await start();
    const unknown = await rawRequest(fake, '/nope');
    expect(unknown.status).toBe(404);
    expectErrorList(unknown, 'not_found');
    expect((await rawRequest(fake, '/export/reporting_data/get_datasets', { method: 'POST', body: {} })).status).toBe(404);
    expect((await rawRequest(fake, '/me', { method: 'DELETE' })).status).toBe(404);
    const getEnqueue = await rawRequest(fake, '/export/reporting_data/enqueue');
    expect(getEnqueue.status).toBe(404);
    expect(getEnqueue.json.errors[0].message).not.toContain('Export job');
    expect((await rawRequest(fake, '/export/reporting_data/get_datasets')).status).toBe(200);
  });
});

describe('fake Intercom: rate limiting and injected failures', () => {
  it('sends X-RateLimit-* headers and answers 429 over the per-app budget until the next 10 s boundary', async () => {
    const { fake, clock } = await start({ rateLimit: { perAppPer10s: 3 } });
    const resetS = String(Math.floor(NOW / 10_000) * 10 + 10);
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await rawRequest(fake, '/me');
      expect(res.status).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBe('3');
      expect(res.headers['x-ratelimit-reset']).toBe(resetS);
      remaining.push(res.headers['x-ratelimit-remaining'] as string);
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const limited = await rawRequest(fake, '/me');
    expect(limited.status).toBe(429);
    expectErrorList(limited, 'rate_limit_exceeded', 'Exceeded rate limit of 3 in 10_seconds');
    expect(limited.headers['x-ratelimit-remaining']).toBe('0');
    expect(limited.headers['x-ratelimit-reset']).toBe(resetS);
    clock.set(Number(resetS) * 1000); // exactly the boundary: a new window
    const again = await rawRequest(fake, '/me');
    expect(again.status).toBe(200);
    expect(again.headers['x-ratelimit-remaining']).toBe('2');
  });

  it('shares the per-workspace budget between apps', async () => {
    const { fake } = await start({ tokens: ['app-a', 'app-b'], rateLimit: { perAppPer10s: 3, perWorkspacePer10s: 4 } });
    expect((await rawRequest(fake, '/me', { token: 'app-a' })).status).toBe(200);
    expect((await rawRequest(fake, '/me', { token: 'app-a' })).status).toBe(200);
    expect((await rawRequest(fake, '/me', { token: 'app-b' })).status).toBe(200);
    const last = await rawRequest(fake, '/me', { token: 'app-b' });
    expect(last.status).toBe(200);
    expect(last.headers['x-ratelimit-limit']).toBe('4');
    expect(last.headers['x-ratelimit-remaining']).toBe('0');
    const limited = await rawRequest(fake, '/me', { token: 'app-b' });
    expect(limited.status).toBe(429);
    expect(limited.json.errors[0].message).toBe('Exceeded rate limit of 4 in 10_seconds');
  });

  it('injects 5xx and 429 failures for matching requests only, the given number of times', async () => {
    const { fake } = await start();
    fake.injectFailure({ method: 'GET', path: '/export/reporting_data/get_datasets', status: 503, count: 2 });
    fake.injectFailure({ path: /^\/me$/, status: 500 });
    fake.injectFailure({ method: 'POST', path: '/export/reporting_data/enqueue', status: 429 });

    const first = await rawRequest(fake, '/export/reporting_data/get_datasets');
    expect(first.status).toBe(503);
    expectErrorList(first, 'service_unavailable');
    expect((await rawRequest(fake, '/export/reporting_data/get_datasets')).status).toBe(503);
    expect((await rawRequest(fake, '/export/reporting_data/get_datasets')).status).toBe(200);

    const me = await rawRequest(fake, '/me');
    expect(me.status).toBe(500);
    expectErrorList(me, 'server_error');
    expect((await rawRequest(fake, '/me')).status).toBe(200);

    const limited = await enqueue(fake, CONVERSATION);
    expect(limited.status).toBe(429);
    expectErrorList(limited, 'rate_limit_exceeded', 'Exceeded rate limit of 1667 in 10_seconds');
    expect(limited.headers['x-ratelimit-remaining']).toBe('0');
    expect(limited.headers['x-ratelimit-reset']).toMatch(/^\d+$/);
    expect((await enqueue(fake, CONVERSATION)).status).toBe(200);

    const statuses = fake.stats().requests.map((r) => r.status);
    expect(statuses).toEqual([503, 503, 200, 500, 200, 429, 200]);
  });
});

describe('fake Intercom: enqueue validation', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['no dataset_id', { attribute_ids: ['conversation_id'], ...DAY }, "'dataset_id' is a required parameter"],
    ['unknown dataset_id', { dataset_id: 'imaginary', attribute_ids: ['x'], ...DAY }, 'imaginary is not a valid dataset_id'],
    ['no attribute_ids', { dataset_id: 'conversation', ...DAY }, "'attribute_ids' is a required parameter"],
    [
      'empty attribute_ids',
      { dataset_id: 'conversation', attribute_ids: [], ...DAY },
      'attribute_ids must contain at least one attribute_id',
    ],
    [
      'non-array attribute_ids',
      { dataset_id: 'conversation', attribute_ids: 'conversation_id', ...DAY },
      "'attribute_ids' not an array must be of type Array",
    ],
    [
      'unknown attribute id',
      { dataset_id: 'conversation', attribute_ids: ['conversation_id', 'non_existent'], ...DAY },
      'attribute_ids invalid for conversation dataset: non_existent',
    ],
    [
      'several unknown attribute ids',
      { dataset_id: 'tickets', attribute_ids: ['nope', 'ticket_id', 'standard.nada'], ...DAY },
      'attribute_ids invalid for tickets dataset: nope, standard.nada',
    ],
    [
      'no start_time',
      { dataset_id: 'conversation', attribute_ids: ['conversation_id'], end_time: DAY.end_time },
      "'start_time' is a required parameter",
    ],
    [
      'no end_time',
      { dataset_id: 'conversation', attribute_ids: ['conversation_id'], start_time: DAY.start_time },
      "'end_time' is a required parameter",
    ],
  ];
  it.each(cases)('400 for %s with the documented message', async (_name, body, message) => {
    const { fake } = await start();
    const res = await enqueue(fake, body);
    expect(res.status).toBe(400);
    expectErrorList(res, 'bad_request', message);
  });

  it('400 for non-integer times, start after end and start before retention; parameter_invalid for bad JSON', async () => {
    const { fake } = await start();
    const base = { dataset_id: 'conversation', attribute_ids: ['conversation_id'] };
    const asString = await enqueue(fake, { ...base, start_time: String(DAY.start_time), end_time: DAY.end_time });
    expect(asString.status).toBe(400);
    expect(asString.json.errors[0].message).toContain('start_time');
    const reversed = await enqueue(fake, { ...base, start_time: DAY.end_time, end_time: DAY.start_time });
    expect(reversed.status).toBe(400);
    expectErrorList(reversed, 'bad_request');
    const tooOld = await enqueue(fake, { ...base, start_time: NOW / 1000 - 731 * 86_400, end_time: DAY.end_time });
    expect(tooOld.status).toBe(400);
    expectErrorList(tooOld, 'bad_request');
    expect(tooOld.json.errors[0].message).toContain('retention');
    const withinRetention = await enqueue(fake, { ...base, start_time: Math.floor(NOW / 1000) - 729 * 86_400, end_time: DAY.end_time });
    expect(withinRetention.status).toBe(200);
    const broken = await rawRequest(fake, '/export/reporting_data/enqueue', { method: 'POST', rawBody: '{"dataset_id":' });
    expect(broken.status).toBe(400);
    expectErrorList(broken, 'parameter_invalid');
  });

  it('accepts plain, qualified and ambiguous plain ids; returns a pending job without URLs', async () => {
    const { fake } = await start();
    const res = await enqueue(fake, {
      dataset_id: 'conversation',
      attribute_ids: ['standard.conversation_id', 'timestamp.conversation_started_at', 'Brand', 'people.Brand', 'Csat Overall Experience'],
      ...DAY,
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ job_identifier: expect.any(String), status: 'pending', download_url: '', download_expires_at: '' });
    expect(res.json.job_identifier).toMatch(/^[a-z0-9]+$/);
    const other = await enqueue(fake, CONVERSATION);
    expect(other.json.job_identifier).not.toBe(res.json.job_identifier);
  });
});
