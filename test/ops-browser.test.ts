import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { syncSchedules } from '../src/schedules/index.js';
import { startHttpServer } from '../src/server/http-server.js';
import { backfillWithGaps, D0, DAY, isoDay } from './helpers/ops-fixtures.js';
import { useTestEnv } from './helpers/test-env.js';

/** Debian's package; `.ci/run` installs it when missing. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots land here (gitignored) for a person to look at after a run. */
const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts');

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  process.stderr.write(
    `\n*** SKIPPED: browser test of the worker's pages: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH) ***\n\n`,
  );
}

async function launch(): Promise<{ browser: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'intercom-etl-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

describe.skipIf(!hasChromium)('worker pages in a real browser', () => {
  const getEnv = useTestEnv({ env: { ETL_START_DATE: isoDay(D0), ETL_HTTP_AUTH: 'ops:pw' } });

  it('shows failed and missing days on the partition map, and the queues in bull-board', async () => {
    const env = getEnv();
    await backfillWithGaps(env);
    await syncSchedules(env.ctx);
    const server = (await startHttpServer(env.ctx, { workersRunning: () => true, listenPort: 0 }))!;
    const { browser, close } = await launch();
    try {
      await browser.setHTTPCredentials({ username: 'ops', password: 'pw' });
      mkdirSync(ARTIFACTS, { recursive: true });
      const page = await browser.newPage();

      const res = await page.goto(`${server.url}/`);
      expect(res?.status()).toBe(200);
      const row = page.locator('tr[data-dataset="conversation"]');
      const cell = (day: number) => row.locator(`td[title^="${isoDay(D0 + day * DAY)} "]`);
      const classes = await Promise.all([0, 1, 2, 3, 4].map((d) => cell(d).getAttribute('class')));
      expect(classes).toEqual(['failed', 'loaded', 'loaded', 'missing', 'loaded']);
      // The failed day carries its error on hover, and is painted red, not grey.
      expect(await cell(0).getAttribute('title')).toMatch(/failed: The CSV header of dataset conversation does not match/);
      const colour = (day: number) => cell(day).evaluate((el) => getComputedStyle(el).backgroundColor);
      expect(await colour(0)).toBe('rgb(214, 69, 65)');
      expect(await colour(3)).toBe('rgb(227, 227, 227)');
      expect(await row.locator('th small').textContent()).toMatch(/3 loaded, 1 failed/);
      await cell(0).hover();
      await page.screenshot({ path: join(ARTIFACTS, 'partition-map.png'), fullPage: true });

      await page.goto(`${server.url}/queues`);
      // bull-board renders client-side: wait for its queue list.
      for (const queue of ['reports', 'entities', 'control']) {
        await expect.poll(() => page.getByText(queue, { exact: true }).count(), { timeout: 20_000 }).toBeGreaterThan(0);
      }
      await page.screenshot({ path: join(ARTIFACTS, 'queues.png'), fullPage: true });
    } finally {
      await close();
      await server.close();
    }
  });
});
