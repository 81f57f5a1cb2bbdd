import { DAY_MS, type DayState, type PartitionMap, type StreamRun } from './partition-map.js';

export interface PageData {
  map: PartitionMap;
  runs: { latest: StreamRun[]; lastCompleted: StreamRun[] };
  /** Next nightly run (ms) and its cron pattern; null when no schedule is registered. */
  nextRun: { at: number | null; pattern: string; tz: string } | null;
  generatedAt: number;
  /** Path prefix of the page's links (the dashboard), e.g. '' or '/etl'. */
  basePath?: string;
}

const COLOURS: Record<DayState, string> = {
  loaded: '#2e9d5b',
  exporting: '#3a7bd5',
  queued: '#a7c4ec',
  failed: '#d64541',
  missing: '#e3e3e3',
};

/** One timestamp format on the whole page: ISO 8601 in UTC, to the second. */
export const isoSeconds = (t: number | Date): string => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
const isoDay = (t: number): string => new Date(t).toISOString().slice(0, 10);

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * The partition map: one row per dataset, one cell per UTC day, coloured by state, the failed
 * window's error in the cell's title (shown on hover). Plain server-rendered HTML, no script.
 */
export function renderPartitionPage(data: PageData): string {
  const { map } = data;
  const base = data.basePath ?? '';
  const days: number[] = [];
  for (let d = map.from; d < map.to; d += DAY_MS) days.push(d);

  const monthHeader = days
    .map((d) => {
      const date = new Date(d);
      return date.getUTCDate() === 1 || d === map.from ? `<th class="m" title="${isoDay(d)}">${isoDay(d).slice(0, 7)}</th>` : '<th></th>';
    })
    .join('');

  const rows = map.datasets
    .map(({ datasetId, days: cells }) => {
      const counts: Record<DayState, number> = { loaded: 0, exporting: 0, queued: 0, failed: 0, missing: 0 };
      const tds = days
        .map((d) => {
          const cell = cells.get(d);
          const state: DayState = cell?.state ?? 'missing';
          counts[state] += 1;
          const title = `${isoDay(d)} ${state}${cell?.error ? `: ${cell.error}` : ''}`;
          return `<td class="${state}" title="${escapeHtml(title)}"></td>`;
        })
        .join('');
      const summary = (['failed', 'missing', 'exporting', 'queued'] as const)
        .filter((s) => counts[s] > 0)
        .map((s) => `${counts[s]} ${s}`)
        .join(', ');
      return `<tr data-dataset="${escapeHtml(datasetId)}"><th class="ds">${escapeHtml(datasetId)}<small>${counts.loaded} loaded${summary ? `, ${summary}` : ''}</small></th>${tds}</tr>`;
    })
    .join('\n');

  const failedRows = map.datasets
    .flatMap(({ datasetId, days: cells }) =>
      [...cells.entries()].filter(([, c]) => c.state === 'failed').map(([day, c]) => ({ datasetId, day, error: c.error ?? '' })),
    )
    .sort((a, b) => b.day - a.day || a.datasetId.localeCompare(b.datasetId));
  const failedList = failedRows
    .slice(0, 50)
    .map((f) => `<tr><td>${escapeHtml(f.datasetId)}</td><td>${isoDay(f.day)}</td><td>${escapeHtml(f.error)}</td></tr>`)
    .join('\n');

  const runRows = (['companies', 'tickets'] as const)
    .map((stream) => {
      const latest = data.runs.latest.find((r) => r.stream === stream);
      const done = data.runs.lastCompleted.find((r) => r.stream === stream);
      const latestText = latest
        ? `${latest.status}, started ${isoSeconds(latest.startedAt)}${latest.finishedAt ? `, finished ${isoSeconds(latest.finishedAt)}` : ''}, ${latest.rows} rows${latest.error ? ` — ${latest.error}` : ''}`
        : 'never run';
      const doneText = done?.finishedAt ? `${isoSeconds(done.finishedAt)} (${done.rows} rows)` : 'never';
      return `<tr data-stream="${stream}" class="run-${escapeHtml(latest?.status ?? 'none')}"><th>${stream}</th><td>${escapeHtml(latestText)}</td><td>${escapeHtml(doneText)}</td></tr>`;
    })
    .join('\n');

  const next = data.nextRun
    ? `${data.nextRun.at ? isoSeconds(data.nextRun.at) : 'not yet computed'} (cron <code>${escapeHtml(data.nextRun.pattern)}</code> ${escapeHtml(data.nextRun.tz)})`
    : 'none registered: no worker has started yet, or ETL_SCHEDULE_ENABLED=false';

  const legend = (Object.keys(COLOURS) as DayState[]).map((s) => `<span><i class="${s}"></i>${s}</span>`).join(' ');
  const css = (Object.entries(COLOURS) as Array<[DayState, string]>).map(([s, c]) => `.${s}{background:${c}}`).join('');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>intercom-etl: partitions</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}
nav a{margin-right:1em}
.wrap{overflow-x:auto;border:1px solid #ddd;padding:4px}
table.map{border-collapse:separate;border-spacing:1px}
table.map td{width:9px;min-width:9px;height:16px;padding:0}
table.map th.ds{position:sticky;left:0;background:#fff;text-align:left;padding-right:8px;white-space:nowrap;font-weight:600}
table.map th.ds small{display:block;font-weight:normal;color:#666}
table.map th.m{font-weight:normal;font-size:11px;text-align:left;white-space:nowrap;overflow:visible;max-width:9px}
.legend span{margin-right:1em}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
table.runs{border-collapse:collapse}table.runs td,table.runs th{border:1px solid #ddd;padding:4px 8px;text-align:left}
.run-failed td,.run-refused td,.run-interrupted td{color:#b00}
${css}
</style></head>
<body>
<h1>intercom-etl</h1>
<nav><a href="${base}/queues">Queues (bull-board)</a><a href="${base}/metrics">Metrics</a><a href="${base}/readyz">Readiness</a></nav>
<p>Generated ${isoSeconds(data.generatedAt)}. Days are UTC; a day is loaded when loaded windows cover all of it. Hover a cell for its date and, when failed, the error.</p>
<h2>Reporting datasets</h2>
<p class="legend">${legend}</p>
<div class="wrap"><table class="map">
<tr><th class="ds">dataset</th>${monthHeader}</tr>
${rows || '<tr><th class="ds">no datasets yet: run a backfill or wait for the nightly run</th></tr>'}
</table></div>
<h2>Failed days</h2>
${
  failedRows.length === 0
    ? '<p id="failed-days">None.</p>'
    : `<table class="runs" id="failed-days"><tr><th>dataset</th><th>day</th><th>error of the latest failed window</th></tr>
${failedList}
</table>${failedRows.length > 50 ? `<p>…and ${failedRows.length - 50} more.</p>` : ''}`
}
<h2>Companies and tickets</h2>
<table class="runs"><tr><th>stream</th><th>latest run</th><th>last completed</th></tr>
${runRows}
</table>
<h2>Next scheduled run</h2>
<p id="next-run">${next}</p>
</body></html>
`;
}
