import { describe, expect, it } from 'vitest';
import { formatProgressLine, progressPrinter } from '../src/cli/progress-printer.js';

const state = (loaded: number, extra: Partial<Parameters<typeof formatProgressLine>[0]> = {}) => ({
  total: 100,
  loaded,
  failed: 0,
  exporting: 5,
  loading: 1,
  queued: 100 - loaded - 6,
  ...extra,
});

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return {
    writes,
    stream: { isTTY, write: (s: string) => (writes.push(s), true) } as unknown as NodeJS.WritableStream & { isTTY: boolean },
  };
}

describe('backfill progress', () => {
  it('shows windows done, rows and throughput, the slots in use and an ETA', () => {
    expect(formatProgressLine(state(25, { failed: 1, rows: 300_000 }), 60_000, 5)).toBe(
      'reports: 26/100 windows (26 %), 1 failed; 300,000 rows, 5,000 rows/s; slots 5/5 exporting, 1 loading, 69 queued; ETA 3 min',
    );
    expect(formatProgressLine(state(0), 1_000, 5)).toBe('reports: 0/100 windows (0 %); slots 5/5 exporting, 1 loading, 94 queued');
    expect(formatProgressLine(state(50), 2 * 3_600_000, 5)).toMatch(/ETA 2 h 00 min$/);
  });

  it('redraws one line on a terminal', () => {
    let t = 0;
    const { writes, stream } = sink(true);
    const p = progressPrinter({ stream, slots: 5, now: () => t });
    t = 1000;
    p.update(state(1));
    t = 2000;
    p.update(state(2));
    p.done();
    expect(writes.slice(0, 2).every((w) => w.startsWith('\r') && w.endsWith('\x1b[K'))).toBe(true);
    expect(writes.at(-1)).toBe('\n');
  });

  it('elsewhere prints whole lines: the first state, then at its interval, and the last one', () => {
    let t = 0;
    const { writes, stream } = sink(false);
    const p = progressPrinter({ stream, slots: 5, now: () => t, intervalMs: 60_000 });
    p.update(state(1));
    t = 1000;
    p.update(state(2)); // not printed: within the interval
    t = 2000;
    p.update(state(3));
    p.done();
    expect(writes).toEqual([`${formatProgressLine(state(1), 0, 5)}\n`, `${formatProgressLine(state(3), 2000, 5)}\n`]);
  });
});
