/**
 * How the MongoDB store reads the driver's errors: which per-document failures of an unordered
 * bulk command it may trust, what counts as the whole command failing, and how anything else
 * becomes a PersistenceError. The shapes are the driver's (MongoBulkWriteError's `writeErrors`,
 * `writeConcernErrors`, `errorResponse`, `insertedCount`/`result`), built here because the test
 * server cannot produce all of them (a write-concern error needs a replica set).
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, PersistenceError } from '../../../machines/errors.js';
import { bulkWriteErrors, insertedCountOf, refusal, toPersistenceError } from '../../../persistence/mongodb/map-mongo-error.js';

describe('bulk write errors', () => {
  it('lists the refused documents of an unordered command, one or many', () => {
    const duplicate = { index: 2, code: 11000, errmsg: 'E11000 duplicate key' };
    expect(bulkWriteErrors({ writeErrors: [duplicate] })).toEqual([{ index: 2, code: 11000, cause: duplicate }]);
    // The driver hands a single write error as the object itself.
    expect(bulkWriteErrors({ writeErrors: duplicate })).toEqual([{ index: 2, code: 11000, cause: duplicate }]);
  });

  it('calls the whole command failed when it says nothing per document, when a write concern failed, or when an item is malformed', () => {
    expect(bulkWriteErrors(undefined)).toBeUndefined();
    expect(bulkWriteErrors('connection reset')).toBeUndefined();
    expect(bulkWriteErrors(new Error('connection reset'))).toBeUndefined();
    expect(bulkWriteErrors({ writeErrors: [], writeConcernErrors: [{ code: 64 }] })).toBeUndefined();
    expect(bulkWriteErrors({ writeErrors: [], errorResponse: { writeConcernError: { code: 64 } } })).toBeUndefined();
    expect(bulkWriteErrors({ writeErrors: [{ index: '2', code: 11000 }] })).toBeUndefined();
    expect(bulkWriteErrors({ writeErrors: [{ index: 2 }] })).toBeUndefined();
    // An empty list of write-concern errors is no write-concern failure.
    expect(bulkWriteErrors({ writeErrors: [], writeConcernErrors: [] })).toEqual([]);
  });

  it('reads how many documents landed from either place the driver puts it, or says it does not know', () => {
    expect(insertedCountOf({ insertedCount: 3 })).toBe(3);
    expect(insertedCountOf({ result: { insertedCount: 5 } })).toBe(5);
    expect(insertedCountOf({ result: {} })).toBeUndefined();
    expect(insertedCountOf(null)).toBeUndefined();
    expect(insertedCountOf('x')).toBeUndefined();
  });
});

describe('errors procstate raises', () => {
  it("names a refused document, its code and the server's message", () => {
    const error = refusal({ index: 0, code: 121, cause: { errmsg: 'Document failed validation' } }, 'creating entry "e1"', { kind: 'entry', id: 'e1' });
    expect(error).toBeInstanceOf(PersistenceError);
    expect(error.message).toBe('creating entry "e1" was refused (code 121): Document failed validation');
    expect(refusal({ index: 0, code: 2, cause: {} }, 'x', { kind: 'entry', id: 'e1' }).message).toBe('x was refused (code 2): no message');
  });

  it("passes procstate's own errors through and wraps anything else, keeping it as the cause", () => {
    const own = new InvalidArgumentError('bad');
    expect(toPersistenceError(own, 'reading')).toBe(own);
    const driver = new Error('connection closed');
    const wrapped = toPersistenceError(driver, 'reading entry e1');
    expect(wrapped).toBeInstanceOf(PersistenceError);
    expect(wrapped.message).toBe('reading entry e1 failed: connection closed');
    expect(wrapped.cause).toBe(driver);
    expect(toPersistenceError('timeout', 'reading').message).toBe('reading failed: timeout');
  });
});
