import type { Logger } from '../../log.js';
import type { ExportSettings } from '../options.js';
import type { Route } from '../server/router.js';
import { attribute, buildCatalogue, resolveAttribute, type DatasetDef } from './catalogue.js';
import { DatasetData } from './dataset-data.js';
import type { EntityRefs } from './entity-refs.js';
import { ExportJobStore } from './export-jobs.js';
import type { ReportingContext } from './reporting-context.js';
import { reportingRoutes } from './reporting-routes.js';
import { selectRows } from './row-source.js';

export interface ReportingExportDeps {
  seed: number;
  workspaceId: string;
  defaultVersion: string;
  settings: ExportSettings;
  now: () => number;
  baseUrl: () => string;
  logger: Logger;
  /** The companies and tickets report rows refer to. */
  entities: EntityRefs;
}

export interface NewAttribute {
  id: string;
  name: string;
  /** Defaults to `conversation.<id>`: new attributes are usually workspace custom attributes. */
  qualifiedId?: string;
}

export interface ExpectedRowsOptions {
  /** API version the export would be enqueued with (conversation rows differ before 2.16); default: the fake's default. */
  apiVersion?: string;
  /** Attribute ids (plain or qualified) to include; default: every attribute of the dataset. */
  attributeIds?: string[];
}

/** Values new attributes take (with nulls) so they look like a custom attribute's. */
const NEW_ATTRIBUTE_VALUES = ['Yes', 'No', 'Maybe, later', 'N/A "unknown"', 'Plan 🚀 Pro'];

/** The reporting-export part of the fake: its catalogue, jobs and data, routes and control API. */
export class ReportingExport {
  readonly catalogue: DatasetDef[] = buildCatalogue();
  readonly jobs: ExportJobStore;
  readonly data: DatasetData;
  private readonly context: ReportingContext;

  constructor(private readonly deps: ReportingExportDeps) {
    this.jobs = new ExportJobStore(deps.now, deps.settings);
    this.data = new DatasetData(deps.seed, deps.workspaceId, deps.settings, deps.entities);
    this.context = {
      catalogue: this.catalogue,
      jobs: this.jobs,
      data: this.data,
      settings: deps.settings,
      workspaceId: deps.workspaceId,
      baseUrl: deps.baseUrl,
      now: deps.now,
      logger: deps.logger,
      counters: { statusCalls: 0, downloads: 0 },
      downloadGate: null,
    };
  }

  /** Downloads from now on stall after their first chunk until the returned function is called. */
  holdDownloads(): () => void {
    let release!: () => void;
    this.context.downloadGate = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.context.downloadGate = null;
      release();
    };
  }

  routes(): Route[] {
    return reportingRoutes(this.context);
  }

  get counters(): { statusCalls: number; downloads: number } {
    return { ...this.context.counters };
  }

  dataset(datasetId: string): DatasetDef {
    const dataset = this.catalogue.find((d) => d.id === datasetId);
    if (dataset === undefined) {
      throw new Error(`unknown dataset '${datasetId}'; known: ${this.catalogue.map((d) => d.id).join(', ')}`);
    }
    return dataset;
  }

  addAttribute(datasetId: string, attr: NewAttribute): void {
    const dataset = this.dataset(datasetId);
    const qualifiedId = attr.qualifiedId ?? `conversation.${attr.id}`;
    if (dataset.attributes.some((a) => a.qualifiedId === qualifiedId)) {
      throw new Error(`dataset '${datasetId}' already has attribute '${qualifiedId}'`);
    }
    const added = attribute(qualifiedId, attr.name, { kind: 'label', values: NEW_ATTRIBUTE_VALUES, nullRate: 0.3 });
    if (added.id !== attr.id) throw new Error(`qualifiedId '${qualifiedId}' does not end in '.${attr.id}'`);
    dataset.attributes.push(added);
  }

  expectedRows(
    datasetId: string,
    startTime: number,
    endTime: number,
    options: ExpectedRowsOptions = {},
  ): Array<Record<string, string | null>> {
    const dataset = this.dataset(datasetId);
    const attributes =
      options.attributeIds === undefined
        ? dataset.attributes
        : options.attributeIds.map((id) => {
            const found = resolveAttribute(dataset, id);
            if (found === undefined) throw new Error(`dataset '${datasetId}' has no attribute '${id}'`);
            return found;
          });
    const selection = this.data.selection(dataset, attributes, { startTime, endTime }, options.apiVersion ?? this.deps.defaultVersion);
    const rows: Array<Record<string, string | null>> = [];
    for (const values of selectRows(selection)) {
      const row: Record<string, string | null> = {};
      // Keyed by plain id like the CSV header; for an ambiguous id (`Brand`) the first column wins.
      attributes.forEach((attr, i) => {
        if (!Object.hasOwn(row, attr.id)) row[attr.id] = values[i] ?? null;
      });
      rows.push(row);
    }
    return rows;
  }
}
