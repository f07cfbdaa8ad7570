import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The examples in docs/ import the package by its name, as a user does; here it is the source.
const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const packageNames = Object.entries({
  procstate: './src/index.ts',
  'procstate/machines': './machines/index.ts',
  'procstate/persistence': './persistence/index.ts',
  'procstate/persistence/mongodb': './persistence/mongodb/index.ts',
  'procstate/agenda': './src/agenda/index.ts',
  'procstate/dashboard': './src/dashboard/index.ts',
  'procstate/testing': './src/testing/index.ts',
}).map(([name, path]) => ({ find: new RegExp(`^${name}$`), replacement: source(path) }));

// Four projects: `unit` and `property` need nothing; `integration` and `chaos` need a MongoDB-protocol
// server (MONGODB_URI; `npm test` starts FerretDB when it is unset) and run their files one at a
// time, after the others, so that two cores are not shared by racing database tests. The chaos
// suite runs reduced in `npm test` and full with `npm run test:chaos` (CHAOS_SCALE=full).
export default defineConfig({
  test: {
    // `PROCSTATE_COVERAGE=1 npm test` turns it on per leg (scripts/test.sh): the code whose branches
    // depend on the server's capabilities.
    coverage: {
      provider: 'v8',
      include: ['persistence/mongodb/**', 'persistence/server-capabilities.ts', 'persistence/chunks.ts', 'src/agenda/**'],
      reporter: ['json'],
      // A leg with a failing test still shows what it executed.
      reportOnFailure: true,
    },
    projects: [
      {
        resolve: { alias: packageNames },
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'docs/examples/*.test.ts'],
          exclude: ['docs/examples/*-mongodb.test.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        resolve: { alias: packageNames },
        test: {
          name: 'property',
          include: ['test/property/**/*.test.ts'],
          setupFiles: ['test/helpers/fast-check-seed.ts'],
          sequence: { groupOrder: 0 },
          testTimeout: 120_000,
        },
      },
      {
        resolve: { alias: packageNames },
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'docs/examples/*-mongodb.test.ts'],
          globalSetup: ['test/helpers/global-setup.ts'],
          sequence: { groupOrder: 1 },
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { alias: packageNames },
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
