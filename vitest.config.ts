import { defineConfig } from 'vitest/config';

// Three projects: `unit` and `property` need nothing; `integration` needs a MongoDB-protocol
// server (MONGODB_URI; `npm test` starts FerretDB when it is unset) and runs its files one at a
// time, after the others, so that two cores are not shared by racing database tests.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/contract/memory-*.test.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'property',
          include: ['test/property/**/*.test.ts'],
          sequence: { groupOrder: 0 },
          testTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup.ts'],
          sequence: { groupOrder: 1 },
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
