import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RateLimitedError, RetriableError } from '../src/errors.js';
import { IntercomClient, parseExpiresAt, type ExportJob } from '../src/intercom/index.js';
import { readAll } from './helpers/streams.js';

/** A throw-away HTTP server for what the fake cannot show: request headers, silence, stalls. */
async function rawServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; requests: Array<{ url: string; headers: IncomingHttpHeaders }>; close(): Promise<void> }> {
  const requests: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
  const server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('IntercomClient over raw HTTP', () => {
  it('sends the documented headers and query parameters', async () => {
    const server = await rawServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ job_identifier: 'a/b', status: 'complete', download_url: '', download_expires_at: '' }));
    });
    try {
      const c = new IntercomClient({ baseUrl: `${server.url}/`, token: 'tok', clientId: 'client-9' });
      const job = await c.getExportStatus('a/b', { appId: 'ws1' });
      expect(job).toEqual({ jobIdentifier: 'a/b', status: 'complete', downloadUrl: '', downloadExpiresAt: null });
      expect(IntercomClient.exportPhase(job)).toBe('running'); // complete without a URL is not ready
      const { url, headers } = server.requests[0]!;
      expect(url).toBe('/export/reporting_data/a%2Fb?app_id=ws1&client_id=client-9');
      expect(headers.authorization).toBe('Bearer tok');
      expect(headers['intercom-version']).toBe('2.14');
      expect(headers.accept).toBe('application/json');
      expect(headers['user-agent']).toBe('intercom-reporting-etl');
      expect(headers['cache-control']).toBe('no-cache');
    } finally {
      await server.close();
    }
  });

  it('asks for application/octet-stream on downloads', async () => {
    const server = await rawServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end('a,b\n1,2\n');
    });
    try {
      const c = new IntercomClient({ baseUrl: server.url, token: 'tok' });
      const download = await c.downloadExport({ jobIdentifier: 'j1', downloadUrl: '' }, { appId: 'ws1' });
      expect(await readAll(download.stream)).toBe('a,b\n1,2\n');
      expect(download.compressedBytes()).toBe(8);
      expect(server.requests[0]!.url).toBe('/download/reporting_data/j1?app_id=ws1&job_identifier=j1');
      expect(server.requests[0]!.headers.accept).toBe('application/octet-stream');
    } finally {
      await server.close();
    }
  });

  it('times out a silent server with a RetriableError', async () => {
    const server = await rawServer(() => undefined);
    try {
      const c = new IntercomClient({ baseUrl: server.url, token: 'tok', timeoutMs: 200 });
      const err = await c.me().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RetriableError);
      expect((err as Error).message).toBe('Intercom GET /me timed out after 200 ms');
    } finally {
      await server.close();
    }
  });

  it('fails a download that stalls mid-body', async () => {
    const server = await rawServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.write('a,b\n'); // …and nothing more
    });
    try {
      const c = new IntercomClient({ baseUrl: server.url, token: 'tok', timeoutMs: 200 });
      const download = await c.downloadExport({ jobIdentifier: 'j1' }, {});
      await expect(readAll(download.stream)).rejects.toThrow(/timed out after 200 ms/);
    } finally {
      await server.close();
    }
  });

  it('turns a refused connection into a RetriableError', async () => {
    const server = await rawServer(() => undefined);
    const url = server.url;
    await server.close();
    const err = await new IntercomClient({ baseUrl: url, token: 'tok' }).me().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriableError);
    expect((err as Error).message).toMatch(/^Intercom GET \/me failed: network error \(ECONNREFUSED/);
  });

  it('uses Retry-After when present and falls back to plain status text', async () => {
    const server = await rawServer((_req, res) => {
      res.writeHead(429, { 'Retry-After': '7', 'Content-Type': 'text/html' });
      res.end('<html>slow down</html>');
    });
    try {
      const err = await new IntercomClient({ baseUrl: server.url, token: 'tok' }).me().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitedError);
      expect((err as RateLimitedError).retryAfterMs).toBe(7_000);
      expect((err as Error).message).toBe('Intercom GET /me rate limited (429 Too Many Requests); retry in 7000 ms');
    } finally {
      await server.close();
    }
  });

  it('rejects tokens that would end up in error messages, and unknown origins', () => {
    expect(() => new IntercomClient({ baseUrl: 'https://api.intercom.io', token: 'a b' })).toThrow(/access token/);
    expect(() => new IntercomClient({ baseUrl: 'not a url', token: 'tok' })).toThrow(/base URL/);
  });
});

describe('IntercomClient.exportPhase and parsing', () => {
  const job = (status: string, downloadUrl = ''): ExportJob => ({
    jobIdentifier: 'j',
    status,
    downloadUrl,
    downloadExpiresAt: null,
  });

  it.each([
    ['complete', 'https://api.intercom.io/download/reporting_data/j', 'complete'],
    ['completed', 'https://api.intercom.io/download/reporting_data/j', 'complete'],
    ['complete', '', 'running'],
    ['no_data', '', 'no_data'],
    ['failed', '', 'failed'],
    ['error', '', 'failed'],
    ['canceled', '', 'failed'],
    ['cancelled', '', 'failed'],
    ['expired', '', 'failed'],
    ['pending', '', 'running'],
    ['in_progress', '', 'running'],
    ['something_new', '', 'running'],
  ])('%s (url %j) → %s', (status, url, phase) => {
    expect(IntercomClient.exportPhase(job(status, url))).toBe(phase);
  });

  it('parses download_expires_at in every shape seen', () => {
    expect(parseExpiresAt('')).toBeNull();
    expect(parseExpiresAt(null)).toBeNull();
    expect(parseExpiresAt('1674917488')).toBe(1_674_917_488_000);
    expect(parseExpiresAt(1674917488)).toBe(1_674_917_488_000);
    expect(parseExpiresAt('2026-05-29T14:03:11Z')).toBe(Date.parse('2026-05-29T14:03:11Z'));
    expect(parseExpiresAt('soon')).toBeNull();
  });
});
