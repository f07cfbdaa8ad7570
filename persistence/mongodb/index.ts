/**
 * `procstate/persistence/mongodb`: the store on MongoDB (and FerretDB). Needs the `mongodb` peer.
 * @module procstate/persistence/mongodb
 */
export { MongoProcStore, DEFAULT_LEDGER_SUFFIX, DEFAULT_LEASE_COLLECTION } from './mongo-proc-store.js';
export type { MongoProcStoreOptions, MongoKindCollections } from './mongo-proc-store.js';
export { MONGODB_CAPABILITIES, FERRETDB_CAPABILITIES, CAPABILITIES_VARIABLE, detectServerCapabilities } from '../server-capabilities.js';
export type { ServerCapabilities, CommandRunner } from '../server-capabilities.js';
export { ServerClock } from './server-clock.js';
export type { ServerClockOptions, ClockSample } from './server-clock.js';
