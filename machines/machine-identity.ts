/**
 * Identity of the proc machine stored with every persisted snapshot. A leaf module, so the
 * persistence layer can check versions without loading XState.
 */

/** Machine id stored with every persisted snapshot. */
export const PROC_MACHINE_ID = 'procstate.proc';

/**
 * Version of the machine's logic stored with every persisted snapshot; bumped whenever a
 * stored snapshot would be read differently. Loading a newer version is refused.
 */
export const PROC_MACHINE_VERSION = 1;
