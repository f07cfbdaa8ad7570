import { defineConfig } from 'vitest/config';

// Four projects: `unit` and `property` need nothing; `integration` and `chaos` need a MongoDB-protocol
// server (MONGODB_URI; `npm test` starts FerretDB when it is unset) and run their files one at a
// time, after the others, so that two cores are not shared by racing database tests. The chaos
// suite runs reduced in `npm test` and full with `npm run test:chaos` (CHAOS_SCALE=full).
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
          setupFiles: ['test/helpers/fast-check-seed.ts'],
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
      {
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          setupFiles: ['test/helpers/fast-check-seed.ts'],
          globalSetup: ['test/helpers/global-setup.ts'],
          sequence: { groupOrder: 2 },
          fileParallelism: false,
          testTimeout: 900_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
