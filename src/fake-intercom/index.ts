/** Public entry point of the fake Intercom server used by tests, the demo and benchmarks. */
export { FakeIntercom, startFakeIntercom, type FakeIntercomStats } from './fake-intercom.js';
export type { DownloadEncoding, FakeIntercomOptions } from './options.js';
export type { FailureRule } from './server/failure-injector.js';
export type { ExpectedRowsOptions, NewAttribute } from './reporting/reporting-export.js';
export type { DownloadOverride } from './reporting/download-body.js';
export type { RequestRecord } from './server/request-handler.js';
export type { ScrollEnd, ScrollFailureRule, ScrollSessionStats, ScrollStats } from './companies/scroll-sessions.js';
export { SUPPORTED_VERSIONS } from './server/api-version.js';
export { datasetLatencyMs } from './reporting/export-jobs.js';
