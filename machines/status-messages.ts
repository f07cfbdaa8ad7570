/**
 * NOMAD v1's `last_status_message` and error texts (reference §8.3), in one place so that the
 * machine, the runtime and the datafix say exactly the same thing.
 */

/** Texts the framework writes into `last_status_message` and `errors`. */
export const StatusMessages = Object.freeze({
  /** A call became current and waits for a worker. */
  pending: (process: string) => `Pending: ${process}`,
  /** A worker (or a local caller) started the process. */
  started: (process: string) => `Started: ${process}`,
  /** The process succeeded without warnings. */
  completedSuccessfully: (process: string | null) => `Process ${process} completed successfully`,
  /** The process succeeded and recorded warnings. */
  completedWithWarnings: (process: string | null) => `Process ${process} completed with warnings`,
  /** The process failed; `lastError` is the last of its errors. */
  failed: (process: string | null, lastError: string) => (process === null ? `Processing failed: ${lastError}` : `Process ${process} failed: ${lastError}`),
  /** The error recorded when a lease expired or no worker took a call. */
  workerLost: (reason: string) => `process failed due to worker lost: ${reason}`,
  timeout: 'task timeout occurred',
  terminated: 'process terminate via procstate',
  erroredWithoutException: 'completed with errors but no exception, should not happen',
});
