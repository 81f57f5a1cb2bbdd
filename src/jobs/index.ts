import type { JobDefinition } from './job-definition.js';
import { exportWindowJob } from './export-window.js';
import { syncReportsJob } from './sync-reports.js';

/** Every job type, by name. Adding a job type means adding its file and a line here. */
export const JOB_DEFINITIONS: ReadonlyArray<JobDefinition<any>> = [exportWindowJob, syncReportsJob];

export type { JobDefinition };
