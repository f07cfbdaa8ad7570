/**
 * ProcLedger.load reads a proc's document and its ledger head side by side. On a server with a
 * connection pool the head read can run before a writer inserted the record the document
 * already reflects; that is a race, not a corrupt document.
 */
import { describe, expect, it } from 'vitest';
import { MemoryProcStore, ProcLedger, type ProcStore } from '../../persistence/index.js';
import { CorruptDocumentError, createProcRuntime, defineKind } from '../../src/index.js';

const upload = defineKind({ name: 'upload', processes: { process_upload: { run: (ctx) => ctx.setStep('Matching') } } });

/** The store, but its first `readHead` answers what the head was before the last transition. */
function headReadEarly(store: ProcStore, early: Awaited<ReturnType<ProcStore['readHead']>>): ProcStore & { readonly headReads: () => number } {
  let reads = 0;
  return new Proxy(store, {
    get(target, property) {
      if (property === 'headReads') return () => reads;
      if (property === 'readHead') {
        return async (...args: Parameters<ProcStore['readHead']>) => {
          reads += 1;
          return reads === 1 ? early : target.readHead(...args);
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  }) as ProcStore & { readonly headReads: () => number };
}

describe('loading a proc', () => {
  it('reads the head again when it was read before the record its document reflects, instead of calling the document corrupt', async () => {
    const store = new MemoryProcStore();
    const runtime = createProcRuntime({ kinds: [upload], store, sweepIntervalMs: 0 });
    await runtime.start();
    await runtime.create('upload', 'u1');
    await runtime.call('upload', 'u1', 'process_upload');
    const done = await runtime.waitForCompletion('upload', 'u1');
    await runtime.close();
    const ref = { kind: 'upload', id: 'u1' };
    const records = await store.readTransitions(ref);
    const racing = headReadEarly(store, records[records.length - 2]);
    const loaded = await new ProcLedger(racing).load(ref);
    expect(loaded?.seq).toBe(done.seq);
    expect(loaded?.state.status).toBe('SUCCESS');
    expect(racing.headReads()).toBe(2);
  });

  it('still refuses a document whose record the ledger does not have', async () => {
    const store = new MemoryProcStore();
    const runtime = createProcRuntime({ kinds: [upload], store, sweepIntervalMs: 0 });
    await runtime.start();
    await runtime.create('upload', 'u2');
    await runtime.call('upload', 'u2', 'process_upload');
    await runtime.waitForCompletion('upload', 'u2');
    await runtime.close();
    const ref = { kind: 'upload', id: 'u2' };
    const records = await store.readTransitions(ref);
    const lacking = new Proxy(store, {
      get(target, property) {
        if (property === 'readHead') return async () => records[records.length - 2];
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    await expect(new ProcLedger(lacking).load(ref)).rejects.toThrow(CorruptDocumentError);
  });
});
