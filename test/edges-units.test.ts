import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { ConfigError, describeError, RetriableError } from '../src/errors.js';
import { closeMatches } from '../src/pipeline/close-matches.js';
import { parseDay } from '../src/pipeline/time-windows.js';
import { redactError, redactSecrets, registerSecret, withoutPassword } from '../src/redact.js';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    return (err as ConfigError).problems;
  }
};

describe('dates', () => {
  it('rejects impossible days instead of rolling them over', () => {
    expect(parseDay('2024-02-29', 'x')).toBe(Date.UTC(2024, 1, 29));
    for (const day of ['2026-02-29', '2026-02-30', '2026-04-31', '2026-13-01', '2026-00-10']) {
      expect(() => parseDay(day, '--from'), day).toThrow(/--from/);
    }
    expect(problemsOf({ ETL_START_DATE: '2026-02-30' })).toEqual(['ETL_START_DATE "2026-02-30" is not a day of the calendar.']);
  });
});

describe('ETL_SCHEDULE_CRON', () => {
  it('is parsed as BullMQ will parse it', () => {
    expect(loadConfig({ ETL_SCHEDULE_CRON: '0 30 2 * * 1-5' }).schedule.cron).toBe('0 30 2 * * 1-5');
    for (const bad of ['99 2 * * *', '0 0 31 2 *', '* * * *', 'every night']) {
      expect(problemsOf({ ETL_SCHEDULE_CRON: bad }).join('\n'), bad).toMatch(/^ETL_SCHEDULE_CRON=/);
    }
  });
});

describe('new options', () => {
  it('have documented defaults and bounds', () => {
    const c = loadConfig({});
    expect(c.redisConnectTimeoutMs).toBe(10_000);
    expect(c.worker.shutdownTimeoutMs).toBe(30_000);
    expect(loadConfig({ ETL_SHUTDOWN_TIMEOUT_MS: '0' }).worker.shutdownTimeoutMs).toBe(0);
    expect(problemsOf({ REDIS_CONNECT_TIMEOUT_MS: '10', ETL_SHUTDOWN_TIMEOUT_MS: '-1' }).join('\n')).toMatch(
      /REDIS_CONNECT_TIMEOUT_MS[\s\S]*ETL_SHUTDOWN_TIMEOUT_MS/,
    );
  });
});

describe('close matches', () => {
  it('suggests the dataset meant by a typo, and nothing for an unrelated name', () => {
    const ids = ['conversation', 'consolidated_conversation_part', 'admin_status_change', 'tickets'];
    expect(closeMatches('conversations', ids)[0]).toBe('conversation');
    expect(closeMatches('admin_status_chnage', ids)).toEqual(['admin_status_change']);
    expect(closeMatches('ticket', ids)).toEqual(['tickets']);
    expect(closeMatches('zzz', ids)).toEqual([]);
  });
});

describe('redaction', () => {
  it('cuts a registered secret out of messages, stacks and JSON, in every form it may take', () => {
    const secret = 'tok_unit"\\Secret/+=';
    registerSecret(secret);
    expect(redactSecrets(`Bearer ${secret} and ${JSON.stringify(secret)} and ${encodeURIComponent(secret)}`)).not.toMatch(/unit/);
    expect(describeError(new RetriableError(`500 Internal Server Error for Bearer ${secret}`))).toBe(
      '500 Internal Server Error for Bearer [redacted]',
    );
    const err = redactError(new Error(`echo ${secret}`));
    expect(err.message).toBe('echo [redacted]');
    expect(err.stack).not.toContain(secret);
    registerSecret('abc'); // too short to be a token: would censor ordinary words
    expect(redactSecrets('abc')).toBe('abc');
  });

  it('masks the password of a connection URL', () => {
    expect(withoutPassword('redis://:hunter2@redis:6379/0')).toBe('redis://:***@redis:6379/0');
    expect(withoutPassword('postgres://etl:pw@db:5432/warehouse')).toBe('postgres://etl:***@db:5432/warehouse');
  });
});
