import type { AttributeDef, DatasetDef } from './catalogue.js';
import { includesConversationsWithoutUserReply } from '../server/api-version.js';
import type { ExportSettings } from '../options.js';
import type { EntityRefs } from './entity-refs.js';
import { toFixedRows, type FixedRow, type RowSelection } from './row-source.js';
import type { DownloadOverride } from './download-body.js';

/**
 * What the control API can change about the data behind exports: the data revision, fixed rows per
 * dataset, and verbatim CSV for the next download(s). A job snapshots this at enqueue time (as an
 * export is a snapshot), so changing data later does not alter jobs already enqueued.
 */
export class DatasetData {
  private revision = 0;
  private readonly fixedRows = new Map<string, readonly FixedRow[]>();
  private readonly nextDownloads = new Map<string, DownloadOverride[]>();

  constructor(
    private readonly seed: number,
    private readonly workspaceId: string,
    private readonly settings: ExportSettings,
    private readonly entities: EntityRefs,
  ) {}

  setRevision(revision: number): void {
    if (!Number.isInteger(revision) || revision < 0) throw new Error(`data revision must be a non-negative integer, got ${revision}`);
    this.revision = revision;
  }

  setRows(dataset: DatasetDef, rows: ReadonlyArray<Record<string, string | number | null>>): void {
    this.fixedRows.set(dataset.id, toFixedRows(dataset, rows));
  }

  /** Back to generated rows for one dataset (or all). */
  clearRows(datasetId?: string): void {
    if (datasetId === undefined) this.fixedRows.clear();
    else this.fixedRows.delete(datasetId);
  }

  queueDownloadOverride(datasetId: string, override: DownloadOverride): void {
    const queue = this.nextDownloads.get(datasetId) ?? [];
    queue.push(override);
    this.nextDownloads.set(datasetId, queue);
  }

  /** The verbatim body queued for this dataset's next download, consuming it. */
  takeDownloadOverride(datasetId: string): DownloadOverride | undefined {
    const queue = this.nextDownloads.get(datasetId);
    const next = queue?.shift();
    if (queue !== undefined && queue.length === 0) this.nextDownloads.delete(datasetId);
    return next;
  }

  /** A snapshot of everything that decides the rows of an export of this dataset and window. */
  selection(
    dataset: DatasetDef,
    attributes: readonly AttributeDef[],
    window: { startTime: number; endTime: number },
    apiVersion: string,
  ): RowSelection {
    const fixedRows = this.fixedRows.get(dataset.id);
    return {
      dataset,
      attributes: [...attributes],
      startTime: window.startTime,
      endTime: window.endTime,
      endInclusive: this.settings.endInclusive,
      includeRowsWithoutUserReply: includesConversationsWithoutUserReply(apiVersion),
      generator: { seed: this.seed, rowsPerDay: this.settings.rowsPerDay, revision: this.revision },
      workspaceId: this.workspaceId,
      timestampZone: this.settings.timestampZone,
      entities: this.entities,
      ...(fixedRows === undefined ? {} : { fixedRows }),
    };
  }
}
