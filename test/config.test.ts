import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createContext } from '../src/context.js';
import { ConfigError } from '../src/errors.js';
import { silentLogger } from '../src/log.js';
import { parseDuration, parseWindowLength, splitIntoWindows, toIntercomBounds } from '../src/pipeline/time-windows.js';
import { guessColumnType, uniqueName } from '../src/sinks/column-naming.js';

describe('configuration', () => {
  it('has documented defaults', () => {
    const c = loadConfig({});
    expect(c.intercom).toMatchObject({ region: 'us', baseUrl: 'https://api.intercom.io', version: '2.14', timeoutMs: 30_000 });
    expect(c.pgSchema).toBe('intercom');
    expect(c.biSchema).toBe('intercom_bi');
    expect(c.rollups).toEqual({ timezone: 'workspace', refreshIntervalMs: 300_000 });
    expect(loadConfig({ PG_SCHEMA: 'acme' }).biSchema).toBe('acme_bi');
    expect(() => loadConfig({ ETL_BI_SCHEMA: 'Bad-Schema', ETL_ROLLUP_TIMEZONE: 'Nowhere/City' })).toThrow(
      /ETL_BI_SCHEMA=.*lower-case[\s\S]*ETL_ROLLUP_TIMEZONE=/,
    );
    expect(c.reports).toMatchObject({
      windowMs: 'auto',
      targetRowsPerExport: 200_000,
      lookbackDays: 3,
      maxUnfinishedExports: 5,
      retentionDays: 730,
      timestampTimezone: 'auto',
    });
    expect(c.schedule).toMatchObject({ cron: '30 2 * * *', timezone: 'UTC', enabled: true });
    expect(Object.isFrozen(c.reports)).toBe(true);
  });

  it('maps regions to hosts, and INTERCOM_BASE_URL wins', () => {
    expect(loadConfig({ INTERCOM_REGION: 'eu' }).intercom.baseUrl).toBe('https://api.eu.intercom.io');
    expect(loadConfig({ INTERCOM_REGION: 'AU' }).intercom.baseUrl).toBe('https://api.au.intercom.io');
    expect(loadConfig({ INTERCOM_REGION: 'eu', INTERCOM_BASE_URL: 'http://127.0.0.1:9/' }).intercom.baseUrl).toBe('http://127.0.0.1:9');
  });

  it('reports every problem at once, naming the variable', () => {
    let err: unknown;
    try {
      loadConfig({
        INTERCOM_REGION: 'mars',
        PG_SCHEMA: 'Bad-Schema',
        ETL_WINDOW: '5h',
        ETL_LOOKBACK_DAYS: 'x',
        ETL_DATASET_ATTRIBUTES: '[1]',
        ETL_SCHEDULE_TIMEZONE: 'Nowhere/City',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    for (const name of [
      'INTERCOM_REGION',
      'PG_SCHEMA',
      'ETL_WINDOW',
      'ETL_LOOKBACK_DAYS',
      'ETL_DATASET_ATTRIBUTES',
      'ETL_SCHEDULE_TIMEZONE',
    ]) {
      expect(problems).toContain(name);
    }
    expect((err as ConfigError).problems.length).toBe(6);
  });

  it('validates the companies mass-delete guard options', () => {
    expect(loadConfig({}).entities).toMatchObject({ companiesMinLiveRatio: 0.5, companiesAllowMassDelete: false });
    expect(loadConfig({ ETL_COMPANIES_MIN_LIVE_RATIO: '0', ETL_COMPANIES_ALLOW_MASS_DELETE: 'yes' }).entities).toMatchObject({
      companiesMinLiveRatio: 0,
      companiesAllowMassDelete: true,
    });
    let err: unknown;
    try {
      loadConfig({ ETL_COMPANIES_MIN_LIVE_RATIO: '50%', ETL_COMPANIES_ALLOW_MASS_DELETE: 'maybe' });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigError).problems).toEqual([
      'ETL_COMPANIES_MIN_LIVE_RATIO="50%" must be a fraction from 0 to 1 (e.g. 0.5 for 50 %).',
      'ETL_COMPANIES_ALLOW_MASS_DELETE="maybe" must be true or false.',
    ]);
  });

  it('honours the db index of REDIS_URL', async () => {
    const ctx = createContext(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379/3' }), { log: silentLogger() });
    try {
      expect(ctx.redis.options.db).toBe(3);
      await ctx.redis.set('intercom-etl-config-test', '1', 'EX', 5);
      expect((await ctx.redis.info('keyspace')).includes('db3:')).toBe(true);
    } finally {
      await ctx.close();
    }
  });
});

describe('windows and names', () => {
  it('splits a range into half-open windows and sends end − 1 s to Intercom', () => {
    const day = 86_400_000;
    const w = splitIntoWindows({ start: 0, end: 2.5 * day }, day);
    expect(w).toEqual([
      { start: 0, end: day },
      { start: day, end: 2 * day },
      { start: 2 * day, end: 2.5 * day },
    ]);
    expect(toIntercomBounds(w[0]!)).toEqual({ startTime: 0, endTime: 86_400 });
    expect(parseWindowLength('6h')).toBe(6 * 3_600_000);
    expect(() => parseWindowLength('7h')).toThrow(/divide a day/);
    expect(() => parseWindowLength('30m')).toThrow(/smallest window/);
    // The one duration parser behind windows, ETL_TICKETS_OVERLAP and status --max-age.
    expect([parseDuration('0'), parseDuration('30s'), parseDuration('36h'), parseDuration('2d')]).toEqual([
      0,
      30_000,
      36 * 3_600_000,
      2 * 86_400_000,
    ]);
    expect(() => parseDuration('soon')).toThrow(/is not a duration/);
  });

  it('sanitizes names and resolves collisions deterministically', () => {
    const taken = new Set(['_loaded_at', 'brand']);
    expect(uniqueName('Csat Overall Experience', taken)).toBe('csat_overall_experience');
    expect(uniqueName('Brand', taken)).toBe('brand_2');
    expect(uniqueName('_loaded_at', taken)).toBe('_loaded_at_2');
    expect(uniqueName('x'.repeat(80), new Set(['x'.repeat(63)]))).toBe(`${'x'.repeat(61)}_2`);
    expect(guessColumnType('conversation_started_at')).toBe('timestamptz');
    expect(guessColumnType('first_response_time')).toBe('numeric');
    expect(guessColumnType('reassignments_count')).toBe('integer');
    expect(guessColumnType('call_answer_time', 'call.call_answer_time')).toBe('numeric');
    expect(guessColumnType('currently_assigned_team_id')).toBe('text');
  });
});
