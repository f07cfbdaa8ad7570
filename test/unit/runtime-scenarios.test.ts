import { createProcRuntime } from '../../src/index.js';
import { describeRuntimeScenarios } from '../contract/runtime-scenarios.contract.js';

describeRuntimeScenarios({
  name: 'embedded store, in-process scheduler',
  createRuntime: async (kinds) => {
    const runtime = createProcRuntime({ kinds, sweepIntervalMs: 0, logger: { warn: () => undefined, error: () => undefined } });
    await runtime.start();
    return runtime;
  },
  closeRuntime: (runtime) => runtime.close({ drainTimeoutMs: 2_000 }),
});
