import type { WindowProgress } from '../pipeline/wait-for-windows.js';

/**
 * The backfill's progress line: windows done of total, rows, throughput, the export slots in use
 * and an ETA. On a terminal it redraws one line in place; elsewhere (a log file, CI, a container)
 * it prints a line every `intervalMs`, and once more at the end.
 */
export interface ProgressPrinter {
  update(progress: WindowProgress & { rows?: number }): void;
  /** Prints the last state (on a terminal: ends the redrawn line). */
  done(): void;
}

export interface ProgressPrinterOptions {
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  /** Export slots of the workspace (ETL_MAX_UNFINISHED_EXPORTS). */
  slots: number;
  /** Interval of the lines printed when not on a terminal, ms. Default 10000. */
  intervalMs?: number;
  now?: () => number;
}

export function progressPrinter(options: ProgressPrinterOptions): ProgressPrinter {
  const now = options.now ?? Date.now;
  const started = now();
  const tty = options.stream.isTTY === true;
  let latest: (WindowProgress & { rows?: number }) | null = null;
  let printed = '';
  const render = (): string => (latest ? formatProgressLine(latest, now() - started, options.slots) : '');
  const print = (): void => {
    const line = render();
    if (line === '' || (!tty && line === printed)) return;
    printed = line;
    options.stream.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
  };
  // A terminal also redraws between changes (the ETA and throughput move on their own).
  const timer = setInterval(print, tty ? 1000 : (options.intervalMs ?? 10_000));
  timer.unref();
  return {
    update(progress) {
      const first = latest === null;
      latest = progress;
      if (tty || first) print();
    },
    done() {
      clearInterval(timer);
      print();
      if (tty && printed !== '') options.stream.write('\n');
    },
  };
}

/** `reports: 120/730 windows (16 %), 1 failed; 2,400,000 rows, 3,100 rows/s; slots 5/5; ETA 1 h 05 min`. */
export function formatProgressLine(p: WindowProgress & { rows?: number }, elapsedMs: number, slots: number): string {
  const done = p.loaded + p.failed;
  const pct = p.total > 0 ? Math.floor((done / p.total) * 100) : 100;
  const parts = [`reports: ${done}/${p.total} windows (${pct} %)${p.failed > 0 ? `, ${p.failed} failed` : ''}`];
  if (p.rows !== undefined) {
    const perSecond = elapsedMs > 0 ? Math.round(p.rows / (elapsedMs / 1000)) : 0;
    parts.push(`${p.rows.toLocaleString('en')} rows, ${perSecond.toLocaleString('en')} rows/s`);
  }
  parts.push(`slots ${Math.min(p.exporting, slots)}/${slots} exporting, ${p.loading} loading, ${p.queued} queued`);
  const remaining = p.total - done;
  if (remaining > 0 && done > 0) parts.push(`ETA ${formatEta((elapsedMs / done) * remaining)}`);
  return parts.join('; ');
}

function formatEta(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return `${Math.max(1, Math.round(ms / 1000))} s`;
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}
