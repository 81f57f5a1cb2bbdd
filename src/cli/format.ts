import type { RunSummary, WindowProgress } from '../pipeline/wait-for-windows.js';

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
