/**
 * `procstate/agenda`: run procstate's jobs on Agenda 6 with its MongoDB backend, and the backend
 * itself for your own Agenda jobs. Needs the `agenda`, `@agendajs/mongo-backend` and `mongodb`
 * peers (`ioredis` for Redis notifications).
 * @module procstate/agenda
 */
export { AgendaScheduler, AGENDA_JOB_NAME, DEFAULT_AGENDA_COLLECTION } from './agenda-scheduler.js';
export type { AgendaSchedulerOptions } from './agenda-scheduler.js';
export { createAgendaBackend, ProcstateAgendaBackend, CLAIMS_SUFFIX } from './agenda-backend.js';
export type { AgendaBackendOptions } from './agenda-backend.js';
export type { ProcstateJobRepository } from './job-repository.js';
export { RedisNotificationChannel } from './redis-notification-channel.js';
export type { RedisPubSubClient, RedisNotificationChannelOptions } from './redis-notification-channel.js';
export { toJobData, parseJobData } from './job-data.js';
export type { ProcJobData } from './job-data.js';
