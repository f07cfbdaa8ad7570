/**
 * fast-check and vitest, the optional peers of `procstate/testing`, loaded when it is imported:
 * without them the import fails with a {@link MissingPeerError} that says what to install,
 * and nothing else in procstate loads them.
 */
import type * as FastCheck from 'fast-check';
import type * as Vitest from 'vitest';
import { importOptionalPeer } from '../peer-import.js';

const fastCheck = await importOptionalPeer<typeof FastCheck & { default?: typeof FastCheck }>('fast-check', 'procstate/testing (property tests of your kinds)');

/** fast-check, as `import fc from 'fast-check'` gives it. */
export const fc: typeof FastCheck = fastCheck.default ?? fastCheck;

/** vitest's test API, for the contract suites. */
export const vitest: typeof Vitest = await importOptionalPeer<typeof Vitest>('vitest', 'procstate/testing (the contract suites)');
