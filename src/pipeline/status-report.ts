import type pg from 'pg';
import { quoteIdent } from '../db/pool.js';

export interface DatasetStatus {
  datasetId: string;
  tableName: string;
  windowsLoaded: number;
  windowsPending: number;
  windowsFailed: number;
  lastLoadedAt: Date | null;
  /** Latest end of a loaded window: data is complete up to here (if no gaps). */
  loadedThrough: Date | null;
  rows: number;
  lastError: string | null;
}

/** Per dataset: windows loaded / pending / failed, last load, rows in its table. */
export async function reportStatus(pool: pg.Pool): Promise<DatasetStatus[]> {
  const { rows } = await pool.query<{
    dataset_id: string;
    table_name: string;
    loaded: string;
    pending: string;
    failed: string;
    last_loaded_at: Date | null;
    loaded_through: Date | null;
    last_error: string | null;
  }>(
    `SELECT d.dataset_id, d.table_name,
            count(*) FILTER (WHERE w.status = 'loaded') AS loaded,
            count(*) FILTER (WHERE w.status IN ('queued', 'exporting', 'loading')) AS pending,
            count(*) FILTER (WHERE w.status = 'failed') AS failed,
            max(w.loaded_at) AS last_loaded_at,
            max(w.window_end) FILTER (WHERE w.status = 'loaded') AS loaded_through,
            (array_agg(w.error ORDER BY w.updated_at DESC) FILTER (WHERE w.status = 'failed'))[1] AS last_error
       FROM etl_datasets d LEFT JOIN etl_export_windows w USING (dataset_id)
      GROUP BY d.dataset_id, d.table_name ORDER BY d.dataset_id`,
  );
  const out: DatasetStatus[] = [];
  for (const r of rows) {
    const count = await pool
      .query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteIdent(r.table_name)}`)
      .catch(() => ({ rows: [{ n: '0' }] }));
    out.push({
      datasetId: r.dataset_id,
      tableName: r.table_name,
      windowsLoaded: Number(r.loaded),
      windowsPending: Number(r.pending),
      windowsFailed: Number(r.failed),
      lastLoadedAt: r.last_loaded_at,
      loadedThrough: r.loaded_through,
      rows: Number(count.rows[0]?.n ?? 0),
      lastError: r.last_error,
    });
  }
  return out;
}
