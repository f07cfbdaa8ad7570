/**
 * NOMAD v1's `last_status_message` and error texts (reference §8.3), in one place so that the
 * machine, the runtime and the datafix say exactly the same thing.
 */

/** Texts the framework writes into `last_status_message` and `errors`. */
export const StatusMessages = Object.freeze({
  pending: (process: string) => `Pending: ${process}`,
  started: (process: string) => `Started: ${process}`,
  completedSuccessfully: (process: string | null) => `Process ${process} completed successfully`,
  completedWithWarnings: (process: string | null) => `Process ${process} completed with warnings`,
  failed: (process: string | null, lastError: string) => `Process ${process} failed: ${lastError}`,
  workerLost: (reason: string) => `process failed due to worker lost: ${reason}`,
  timeout: 'task timeout occurred',
  terminated: 'process terminate via procstate',
  erroredWithoutException: 'completed with errors but no exception, should not happen',
});
