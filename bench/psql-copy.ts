import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

/**
 * The baseline: psql's client-side `\copy … FROM PROGRAM 'gunzip -c …'` into a table of the same
 * shape, inside one transaction with the same session settings the product's loader sets. Timed
 * from spawn to exit, so it includes psql's start-up and connection, like a real operator would pay.
 */

export interface PsqlCopyOptions {
  databaseUrl: string;
  /** Schema-qualified, already quoted table name. */
  table: string;
  /** Quoted column names, in CSV order. */
  columns: string[];
  /** Quoted names of the typed (non-text) columns, for FORCE_NULL. */
  forceNull: string[];
  gzPath: string;
  windowStartIso: string;
  windowEndIso: string;
  jobId: string;
  /** Where to write the psql script. */
  scriptPath: string;
}

export interface PsqlCopyResult {
  ms: number;
  rows: number;
}

const sqlLiteral = (s: string): string => `'${s.replace(/'/g, "''")}'`;

export function psqlCopyScript(o: PsqlCopyOptions): string {
  const forceNull = o.forceNull.length > 0 ? `, FORCE_NULL (${o.forceNull.join(', ')})` : '';
  // \copy is a psql meta-command: it must stay on one line.
  return [
    'BEGIN;',
    `SET LOCAL TimeZone = 'UTC';`,
    `SELECT set_config('intercom_etl.window_start', ${sqlLiteral(o.windowStartIso)}, true),` +
      ` set_config('intercom_etl.window_end', ${sqlLiteral(o.windowEndIso)}, true),` +
      ` set_config('intercom_etl.intercom_job_id', ${sqlLiteral(o.jobId)}, true);`,
    `\\copy ${o.table} (${o.columns.join(', ')}) FROM PROGRAM ${sqlLiteral(`gunzip -c '${o.gzPath.replace(/'/g, `'\\''`)}'`)}` +
      ` WITH (FORMAT csv, HEADER true${forceNull})`,
    'COMMIT;',
    '',
  ].join('\n');
}

export async function runPsqlCopy(o: PsqlCopyOptions): Promise<PsqlCopyResult> {
  await writeFile(o.scriptPath, psqlCopyScript(o), 'utf8');
  const t0 = performance.now();
  const child = spawn('psql', [o.databaseUrl, '-X', '-v', 'ON_ERROR_STOP=1', '-f', o.scriptPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c));
  });
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`psql exited with ${code}: ${err.trim() || out.trim()}`);
  const m = /^COPY (\d+)$/m.exec(out);
  if (!m) throw new Error(`psql did not report a COPY row count. Output:\n${out}\n${err}`);
  return { ms, rows: Number(m[1]) };
}
