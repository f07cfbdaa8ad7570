import { describe, expect, it } from 'vitest';
import { planUnit, restoreLegacy, type LegacyConversion, type LegacyDocument } from '../../../persistence/migrations/index.js';
import { decodeProcDocument } from '../../../persistence/index.js';
import { legacyCorpus } from '../../fixtures/legacy-corpus.js';

/** What the database does with a conversion: unset the legacy fields, set the new ones. */
function applied(doc: LegacyDocument, conversion: LegacyConversion): LegacyDocument {
  const result: Record<string, unknown> = { ...doc };
  for (const name of conversion.unset) delete result[name];
  return { ...result, ...conversion.fields } as unknown as LegacyDocument;
}

describe('the datafix rules, per row of the reference table', () => {
  for (const corpusCase of legacyCorpus()) {
    for (const lenient of [false, true]) {
      const expected = lenient ? (corpusCase.expectedLenient ?? corpusCase.expected) : corpusCase.expected;
      it(`${corpusCase.name}${lenient ? ' (lenient)' : ''} → ${expected}`, () => {
        const plan = planUnit(corpusCase.upload, corpusCase.entries, { lenient, parentKind: 'upload' });
        expect(plan.outcome).toBe(expected);
        if (plan.outcome !== 'migrate') {
          expect(plan.reasons.length).toBeGreaterThan(0);
          return;
        }
        const all = [...corpusCase.entries, corpusCase.upload];
        expect(plan.conversions.map((conversion) => conversion.id)).toEqual(all.map((doc) => doc._id));
        const uploadConversion = plan.conversions.at(-1) as LegacyConversion;
        expect(uploadConversion.fields.process_status).toBe(corpusCase.status);
        expect(uploadConversion.fields.last_status_message).toBe(corpusCase.message);
        // Exactly the documents that could not be explained are marked lenient in their ledger record.
        expect(plan.conversions.filter((conversion) => conversion.event.lenient).map((conversion) => conversion.id)).toEqual(plan.lenient);
        expect(plan.lenient.length > 0).toBe(lenient && corpusCase.expectedLenient !== undefined);
        for (const [index, conversion] of plan.conversions.entries()) {
          const original = all[index] as LegacyDocument;
          const after = applied(original, conversion);
          // The result is a document procstate loads, with the parent linked.
          const decoded = decodeProcDocument(after);
          expect(decoded.kind).toBe('proc');
          expect(after['sync_counter']).toBe(1);
          expect(after['current_process_step']).toBe(original['current_task'] ?? null);
          for (const legacy of ['tasks', 'current_task', 'tasks_status']) expect(after).not.toHaveProperty(legacy);
          expect(conversion.fields.procstate.parent).toEqual(original === corpusCase.upload ? null : { kind: 'upload', id: corpusCase.upload._id });
          // Nothing is lost: the ledger's record restores the original exactly.
          expect(restoreLegacy(after, conversion.legacy)).toEqual(original);
          // Fields that are not procstate's are untouched.
          for (const [key, value] of Object.entries(original)) {
            if (!['tasks', 'current_task', 'tasks_status', 'process_status', 'last_status_message', 'errors', 'warnings', 'complete_time', 'worker_hostname', 'current_process'].includes(key)) {
              expect(after[key]).toEqual(value);
            }
          }
        }
      });
    }
  }
});
