import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli, waitFor } from './helpers/cli-process.js';

/** Several CLI processes in a row: on a loaded machine each start alone can take many seconds. */
const SLOW_TEST_MS = 180_000;

const TOKEN = 'rehearsal-token-42';

/** `fake-intercom` with failure injection from the command line, as a user rehearses failures by hand. */
describe('fake-intercom command: failure injection options', () => {
  it(
    'serves --status-404, --download-404, --fail-rate on --fail-path and the rules of --faults, echoing the token',
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'faults-'));
      const faults = path.join(dir, 'faults.json');
      writeFileSync(faults, JSON.stringify([{ method: 'GET', path: '/^\\/me$/', status: 503, count: 1 }]));
      const fake = startCli(
        [
          'fake-intercom',
          '--port',
          '0',
          '--token',
          TOKEN,
          '--latency',
          '0',
          '--status-404',
          '2',
          '--download-404',
          '1',
          '--fail-rate',
          '1',
          '--fail-path',
          '/companies',
          '--fail-status',
          '502',
          '--echo-token',
          '--faults',
          faults,
        ],
        {},
      );
      try {
        await waitFor(() => /listening on http:\/\/\S+ /.test(fake.output()), 90_000, 'the fake to listen');
        const base = /listening on (http:\/\/\S+) /.exec(fake.output())![1]!;
        expect(fake.output()).toMatch(/Injected failure: GET .* → 404, 2 time\(s\), echoing the token/);
        const call = (p: string, init: RequestInit = {}) =>
          fetch(`${base}${p}`, { ...init, headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' } });

        // --faults: the first /me fails (and echoes the token), the next one is served.
        const me1 = await call('/me');
        expect(me1.status).toBe(503);
        expect(me1.statusText).toContain(TOKEN);
        expect(await me1.text()).toContain(TOKEN);
        expect((await call('/me')).status).toBe(200);

        // --fail-rate 1 on /companies with --fail-status 502.
        expect((await call('/companies/scroll')).status).toBe(502);

        // --status-404 2: an export that exists is "not found" twice, then reported.
        const day = Math.floor(Date.now() / 86_400_000) * 86_400 - 2 * 86_400;
        const enqueue = await call('/export/reporting_data/enqueue', {
          method: 'POST',
          body: JSON.stringify({
            dataset_id: 'admin_status_change',
            attribute_ids: ['teammate_status_id'],
            start_time: day,
            end_time: day + 86_399,
          }),
        });
        expect(enqueue.status, await enqueue.clone().text()).toBe(200);
        const { job_identifier: id } = (await enqueue.json()) as { job_identifier: string };
        expect((await call(`/export/reporting_data/${id}`)).status).toBe(404);
        expect((await call(`/export/reporting_data/${id}`)).status).toBe(404);
        let status: { status: string; download_url?: string } = { status: '' };
        await waitFor(
          async () => {
            status = (await (await call(`/export/reporting_data/${id}`)).json()) as typeof status;
            return status.status === 'complete';
          },
          10_000,
          'the export to complete',
        );

        // --download-404 1: the first download is gone, the second is served.
        const url = new URL(status.download_url!);
        const get = (p: string) =>
          fetch(`${base}${p}`, { headers: { Authorization: `Bearer ${TOKEN}`, Accept: 'application/octet-stream' } });
        expect((await get(url.pathname)).status).toBe(404);
        expect((await get(url.pathname)).status).toBe(200);
      } finally {
        fake.child.kill('SIGTERM');
        await fake.exited;
      }
    },
    SLOW_TEST_MS,
  );

  it(
    'rejects a faults file that is not valid, naming the rule and the field, with exit 2',
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'faults-'));
      const faults = path.join(dir, 'faults.json');
      writeFileSync(
        faults,
        JSON.stringify([
          { path: '/me', status: 503 },
          { path: '/me', statsu: 500 },
        ]),
      );
      const run = await runCli(['fake-intercom', '--port', '0', '--faults', faults], {});
      expect(run.output).toMatch(/--faults .*faults\.json: rule 2 has unknown field\(s\) statsu/);
      expect(run.code).toBe(2);
      const rate = await runCli(['fake-intercom', '--port', '0', '--fail-rate', '2'], {});
      expect(rate.output).toMatch(/"2" is not a fraction/);
      expect(rate.code).toBe(2);
    },
    SLOW_TEST_MS,
  );
});
