/**
 * `procstate/agenda`: run procstate's jobs on Agenda 6 with its MongoDB backend. Needs the
 * `agenda`, `@agendajs/mongo-backend` and `mongodb` peers (`ioredis` for Redis notifications).
 * @module procstate/agenda
 */
export { AgendaScheduler, AGENDA_JOB_NAME, DEFAULT_AGENDA_COLLECTION, CLAIMS_SUFFIX } from './agenda-scheduler.js';
export type { AgendaSchedulerOptions } from './agenda-scheduler.js';
export { RedisNotificationChannel } from './redis-notification-channel.js';
export type { RedisNotificationChannelOptions, RedisPubSubClient } from './redis-notification-channel.js';
export { toJobData, parseJobData } from './job-data.js';
export type { ProcJobData } from './job-data.js';
