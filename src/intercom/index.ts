/** Public surface of the Intercom client: everything else under src/intercom is an implementation detail. */
export { IntercomClient, type ExportCallOptions, type ExportDownload } from './intercom-client.js';
export { IntercomHttp, type HttpRequest, type HttpStream, type IntercomHttpOptions } from './http-client.js';
export { decodeDownload, BomStripper, type DecodedDownload, type DownloadEncoding } from './download-decoder.js';
export { parseErrorBody, type IntercomErrorBody } from './http-errors.js';
export { parseExpiresAt } from './responses.js';
export * from './types.js';
