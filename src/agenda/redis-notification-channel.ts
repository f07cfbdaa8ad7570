/**
 * Agenda job notifications over Redis pub/sub, so a job saved by one process starts at once on
 * a worker in another, instead of at that worker's next poll. Losing a message costs latency
 * only: polling still finds the job.
 */
import { BaseNotificationChannel, type JobNotification } from 'agenda';

/**
 * The part of a Redis client the channel uses, as ioredis's `Redis` provides it. Declared here
 * so that procstate's types do not need ioredis installed where Redis is not used.
 */
export interface RedisPubSubClient {
  /** Sends a message to every subscriber of the channel. */
  publish(channel: string, message: string): Promise<unknown>;
  /** A new connection with the same options (a subscribed connection can do nothing else). */
  duplicate(): RedisPubSubClient;
  /** Subscribes this connection to the channel. */
  subscribe(channel: string): Promise<unknown>;
  /** Ends the subscription. */
  unsubscribe(channel: string): Promise<unknown>;
  /** Connection errors. */
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** Messages of the channels this connection subscribed to. */
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  /** Closes the connection. */
  disconnect(): void;
}

/** Options of {@link RedisNotificationChannel}. */
export interface RedisNotificationChannelOptions {
  /** A Redis client (ioredis's `Redis`); the channel duplicates it for its subscription. */
  readonly client: RedisPubSubClient;
  /** The pub/sub channel. @defaultValue `procstate:agenda` */
  readonly channel?: string | undefined;
}

interface WireNotification {
  readonly jobId: string;
  readonly jobName: string;
  readonly nextRunAt: string | null;
  readonly priority: number;
  readonly timestamp: string;
  readonly source?: string | undefined;
}

/**
 * A notification channel for Agenda on Redis pub/sub.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { AgendaScheduler, RedisNotificationChannel } from 'procstate/agenda';
 *
 * const channel = new RedisNotificationChannel({ client: new Redis('redis://127.0.0.1:6379') });
 * const scheduler = new AgendaScheduler({ db, notificationChannel: channel });
 * ```
 */
export class RedisNotificationChannel extends BaseNotificationChannel {
  readonly #client: RedisPubSubClient;
  readonly #channel: string;
  #subscriber: RedisPubSubClient | undefined;

  constructor(options: RedisNotificationChannelOptions) {
    super({ channelName: options.channel ?? 'procstate:agenda' });
    this.#client = options.client;
    this.#channel = options.channel ?? 'procstate:agenda';
  }

  /** Subscribes to the channel on a duplicate of the client; Agenda calls it when it starts. */
  async connect(): Promise<void> {
    this.setState('connecting');
    const subscriber = this.#client.duplicate();
    subscriber.on('error', (error: Error) => this.emit('error', error));
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.#channel) return;
      const notification = this.#decode(message);
      if (notification !== undefined) void this.notifyHandlers(notification);
    });
    await subscriber.subscribe(this.#channel);
    this.#subscriber = subscriber;
    this.setState('connected');
  }

  /** Unsubscribes and closes the duplicate; the client given to the constructor stays open. */
  async disconnect(): Promise<void> {
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    if (subscriber !== undefined) {
      await subscriber.unsubscribe(this.#channel).catch(() => undefined);
      subscriber.disconnect();
    }
    this.setState('disconnected');
  }

  /** Tells every subscribed process that a job was saved. */
  async publish(notification: JobNotification): Promise<void> {
    const wire: WireNotification = {
      jobId: String(notification.jobId),
      jobName: notification.jobName,
      nextRunAt: notification.nextRunAt === null ? null : notification.nextRunAt.toISOString(),
      priority: notification.priority,
      timestamp: notification.timestamp.toISOString(),
      source: notification.source,
    };
    await this.#client.publish(this.#channel, JSON.stringify(wire));
  }

  /** Hands a notification to this process's subscribers only, without going through Redis. */
  async deliverLocally(notification: JobNotification): Promise<void> {
    await this.notifyHandlers(notification);
  }

  #decode(message: string): JobNotification | undefined {
    try {
      const wire = JSON.parse(message) as WireNotification;
      if (typeof wire.jobName !== 'string' || typeof wire.jobId !== 'string') return undefined;
      return {
        jobId: wire.jobId as JobNotification['jobId'],
        jobName: wire.jobName,
        nextRunAt: wire.nextRunAt === null ? null : new Date(wire.nextRunAt),
        priority: Number(wire.priority) || 0,
        timestamp: new Date(wire.timestamp),
        ...(wire.source === undefined ? {} : { source: wire.source }),
      };
    } catch {
      return undefined;
    }
  }
}
