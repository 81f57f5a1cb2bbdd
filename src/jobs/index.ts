import type { JobDefinition } from './job-definition.js';
import { exportWindowJob } from './export-window.js';
import { nightlySyncJob } from './nightly-sync.js';
import { reconcileWindowsJob } from './reconcile-windows.js';
import { refreshRollupsJob } from './refresh-rollups.js';
import { syncCompaniesJob, syncTicketsJob } from './sync-entity.js';

/** Every job type, by name. Adding a job type means adding its file and a line here. */
export const JOB_DEFINITIONS: ReadonlyArray<JobDefinition<any>> = [
  exportWindowJob,
  syncCompaniesJob,
  syncTicketsJob,
  nightlySyncJob,
  reconcileWindowsJob,
  refreshRollupsJob,
];

export type { JobDefinition };
