import type { RunSummary, WindowProgress } from '../pipeline/wait-for-windows.js';
import type { DatasetWindowPlan } from '../pipeline/window-plan.js';

/** Terminal output of the CLI: progress lines and summaries. */

export function formatProgress(p: WindowProgress): string {
  return `reports: ${p.loaded}/${p.total} loaded, ${p.failed} failed, ${p.exporting} exporting, ${p.loading} loading, ${p.queued} queued`;
}

export function formatSummary(s: RunSummary): string {
  const lines = [`Done in ${(s.ms / 1000).toFixed(1)} s: ${s.progress.loaded} window(s) loaded, ${s.progress.failed} failed.`];
  if (s.datasets.length > 0) {
    lines.push('', pad('dataset', 34) + pad('loaded', 8) + pad('failed', 8) + pad('rows', 12) + 'bytes');
    for (const d of s.datasets) {
      lines.push(
        pad(d.datasetId, 34) +
          pad(String(d.windowsLoaded), 8) +
          pad(String(d.windowsFailed), 8) +
          pad(String(d.rows), 12) +
          String(d.bytes),
      );
    }
  }
  if (s.failures.length > 0) {
    lines.push('', 'Failed windows:');
    for (const f of s.failures.slice(0, 20)) lines.push(`  ${f.datasetId} ${f.window}: ${f.error}`);
    if (s.failures.length > 20) lines.push(`  … and ${s.failures.length - 20} more (see \`intercom-etl status\`).`);
  }
  return lines.join('\n');
}

export function pad(s: string, n: number): string {
  return s.length >= n ? `${s} ` : s + ' '.repeat(n - s.length);
}

/** `conversation: 25 window(s) of 30 d (auto: 4,120 rows/day)`, one line per dataset of a plan. */
export function describeSizing(d: DatasetWindowPlan): string {
  const n = `${d.windows.length} window(s)`;
  switch (d.sizing) {
    case 'failed windows':
      return `${d.datasetId}: ${n}, the failed ones`;
    case 'probe':
      return `${d.datasetId}: ${n}: a 1 d probe of the newest day first (no history to size windows from); the rest is sized from its rows`;
    case 'auto':
      return `${d.datasetId}: ${n} of ${formatDuration(d.windowMs!)} (auto: ${Math.round(d.rowsPerDay ?? 0).toLocaleString('en')} rows/day observed)`;
    default:
      return `${d.datasetId}: ${n} of ${formatDuration(d.windowMs!)} (${d.sizing})`;
  }
}

/** `30 d`, `12 h`. */
export function formatDuration(ms: number): string {
  return ms % 86_400_000 === 0 ? `${ms / 86_400_000} d` : `${ms / 3_600_000} h`;
}
