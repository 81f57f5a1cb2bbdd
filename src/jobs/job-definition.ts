import type { Job } from 'bullmq';
import type { AppContext, QueueName } from '../context.js';
import type { JobName } from './job-payloads.js';

/**
 * A job type: its name, its queue, how to validate its payload, and a thin processor that hands
 * the work to plain functions taking the context. One file per job type under src/jobs/.
 */
export interface JobDefinition<Payload> {
  /** Its payload's shape is in the registry, src/jobs/job-payloads.ts. */
  name: JobName;
  queue: QueueName;
  /** Validates `job.data`; throws a FatalError on a malformed payload. */
  parse(data: unknown): Payload;
  /** `signal`: BullMQ's cancellation of this job (the worker is shutting down); aborts its requests. */
  process(ctx: AppContext, job: Job, token: string | undefined, payload: Payload, signal?: AbortSignal): Promise<unknown>;
}
