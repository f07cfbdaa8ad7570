/**
 * Baseline: a BullMQ flow, one parent job waiting on N child jobs, on the local Redis. It is the
 * same-run reference for the fan-out figures: a parent that completes once all its children
 * have, which is what procstate's fan-out and join do on a document store.
 */
import { randomBytes } from 'node:crypto';
import { FlowProducer, Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';

/** Upper bound on one flow, so a lost job fails the benchmark instead of hanging it. */
const FLOW_TIMEOUT_MS = 30 * 60_000;

/** What {@link bullmqFlow} measured. */
export interface BullmqFlowResult {
  /** Wall time from `FlowProducer.add` to the parent job's 'completed' event. */
  readonly seconds: number;
}

/**
 * Adds one parent job with `children` no-op child jobs through BullMQ's {@link FlowProducer}
 * and measures the time until the parent has completed, with one {@link Worker} on the child
 * queue and one on the parent queue, each with `options.concurrency`.
 *
 * Queue names are unique per call (a random prefix), and everything is torn down at the end:
 * workers closed, both queues obliterated, every connection closed, so nothing keeps the
 * process alive.
 *
 * @param redisUrl - The Redis server, e.g. `redis://127.0.0.1:6379`.
 * @param children - How many child jobs the parent waits for.
 * @param options - The concurrency of each worker.
 * @returns The measurement; the caller builds the report rows.
 * @throws When a job fails, the parent does not complete in {@link FLOW_TIMEOUT_MS}, or the
 *   queues cannot be obliterated afterwards.
 */
export async function bullmqFlow(redisUrl: string, children: number, options: { concurrency: number }): Promise<BullmqFlowResult> {
  const { concurrency } = options;
  if (!Number.isInteger(children) || children < 1) throw new Error(`bullmqFlow: children must be a positive integer, got ${children}`);
  const tag = randomBytes(4).toString('hex');
  const childQueueName = `bench-${tag}-children`;
  const parentQueueName = `bench-${tag}-parent`;
  // Known before the add, so the completion listener is in place before the parent can finish.
  const parentId = `bench-${tag}-parent-job`;

  // One connection of our own for the non-blocking side (producer, queues); BullMQ duplicates it
  // for each Worker and QueueEvents, which block on Redis, and owns and closes those duplicates.
  // maxRetriesPerRequest: null is what BullMQ requires of connections its workers use (it
  // throws otherwise), since a blocking command must not be cut short by ioredis's retry limit.
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const errors: Error[] = [];
  const noteError = (error: Error) => {
    errors.push(error);
  };
  connection.on('error', noteError);

  const flow = new FlowProducer({ connection });
  const childQueue = new Queue(childQueueName, { connection });
  const parentQueue = new Queue(parentQueueName, { connection });
  const parentEvents = new QueueEvents(parentQueueName, { connection });
  const childWorker = new Worker(childQueueName, async () => undefined, { connection, concurrency });
  const parentWorker = new Worker(parentQueueName, async () => undefined, { connection, concurrency });
  // Each class types its events differently, hence one call per part.
  flow.on('error', noteError);
  childQueue.on('error', noteError);
  parentQueue.on('error', noteError);
  parentEvents.on('error', noteError);
  childWorker.on('error', noteError);
  parentWorker.on('error', noteError);

  let measured = false;
  try {
    // Connections, Lua scripts and the event stream's reader are ready before the clock starts.
    await Promise.all([flow, childQueue, parentQueue, parentEvents, childWorker, parentWorker].map((part) => part.waitUntilReady()));

    const tree = {
      name: 'parent',
      queueName: parentQueueName,
      opts: { jobId: parentId },
      children: Array.from({ length: children }, (_, index) => ({ name: 'child', queueName: childQueueName, data: { index } })),
    };
    let timer: NodeJS.Timeout | undefined;
    const parentDone = new Promise<void>((resolve, reject) => {
      parentEvents.on('completed', ({ jobId }) => {
        if (jobId === parentId) resolve();
      });
      parentEvents.on('failed', ({ jobId, failedReason }) => {
        if (jobId === parentId) reject(new Error(`bullmqFlow: the parent failed: ${failedReason}`));
      });
      childWorker.on('failed', (job, error) => reject(new Error(`bullmqFlow: child ${job?.id ?? '?'} failed: ${error.message}`)));
      timer = setTimeout(() => reject(new Error(`bullmqFlow: the parent did not complete in ${FLOW_TIMEOUT_MS / 1000} s`)), FLOW_TIMEOUT_MS);
    });
    // It may reject while flow.add is still being awaited; it is awaited (and rethrows) below.
    parentDone.catch(() => undefined);

    const started = performance.now();
    try {
      await flow.add(tree);
      await parentDone;
    } finally {
      clearTimeout(timer);
    }
    const seconds = (performance.now() - started) / 1000;
    if (errors.length > 0) throw errors[0];
    measured = true;
    return { seconds };
  } finally {
    // Workers first, so nothing is processing while the queues are wiped.
    await Promise.allSettled([childWorker.close(), parentWorker.close(), parentEvents.close()]);
    const wiped = await Promise.allSettled([childQueue.obliterate({ force: true }), parentQueue.obliterate({ force: true })]);
    await Promise.allSettled([flow.close(), childQueue.close(), parentQueue.close()]);
    // Ours, not BullMQ's: the classes above leave a connection they were given open.
    await connection.quit().catch(() => connection.disconnect());
    // Only after a good pass: a failed pass's own error is the one to see.
    const left = wiped.find((outcome) => outcome.status === 'rejected');
    if (measured && left !== undefined) throw new Error(`bullmqFlow: the queues bench-${tag}-* were not removed: ${String(left.reason)}`);
  }
}
