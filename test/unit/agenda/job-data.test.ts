/**
 * The payload procstate stores in an Agenda job is read back from a collection anyone with
 * access can edit: every job type round-trips, and anything else is an InvalidArgumentError.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../machines/errors.js';
import { parseJobData, toJobData } from '../../../src/agenda/job-data.js';
import type { ProcJob } from '../../../src/scheduler.js';

describe('procstate job data in Agenda', () => {
  it.each<ProcJob>([
    { type: 'run', kind: 'entry', id: 'e1', callId: 'c1' },
    { type: 'run', kind: 'entry', id: 'e1', callId: 'c1', seq: 4 },
    { type: 'runs', kind: 'entry', runs: [{ id: 'e1', callId: 'c1' }, { id: 'e2', callId: 'c2', seq: 2 }] },
    { type: 'runs', kind: 'entry', runs: [{ id: 'e1', callId: 'c1' }], parent: { kind: 'upload', id: 'u1' } },
    { type: 'join', kind: 'upload', id: 'u1' },
    { type: 'timeout', kind: 'upload', id: 'u1', runId: 'r1', limit: 'soft' },
    { type: 'timeout', kind: 'upload', id: 'u1', runId: 'r1', limit: 'hard' },
  ])('round-trips %j', (job) => {
    expect(parseJobData(JSON.parse(JSON.stringify(toJobData(job))))).toEqual(job);
  });

  it.each([
    ['no data', null],
    ['a string', 'run'],
    ['an unknown type', { type: 'sweep', kind: 'entry' }],
    ['a bad kind', { type: 'join', kind: '$where', id: 'u1' }],
    ['a run without its call', { type: 'run', kind: 'entry', id: 'e1' }],
    ['a run with an operator for an id', { type: 'run', kind: 'entry', id: { $ne: null }, callId: 'c1' }],
    ['a run with a fractional seq', { type: 'run', kind: 'entry', id: 'e1', callId: 'c1', seq: 1.5 }],
    ['a batch without runs', { type: 'runs', kind: 'entry', runs: [] }],
    ['a batch with runs not in an array', { type: 'runs', kind: 'entry', runs: { 0: { id: 'e1', callId: 'c1' } } }],
    ['a batch of too many runs', { type: 'runs', kind: 'entry', runs: Array.from({ length: 1_001 }, (_, index) => ({ id: `e${index}`, callId: 'c' })) }],
    ['a batch with a run that is not an object', { type: 'runs', kind: 'entry', runs: ['e1'] }],
    ['a batch with a bad parent', { type: 'runs', kind: 'entry', runs: [{ id: 'e1', callId: 'c1' }], parent: { kind: 'upload' } }],
    ['a join without an id', { type: 'join', kind: 'upload' }],
    ['a timeout without a run', { type: 'timeout', kind: 'upload', id: 'u1', limit: 'soft' }],
    ['a timeout of another limit', { type: 'timeout', kind: 'upload', id: 'u1', runId: 'r1', limit: 'firm' }],
  ])('refuses %s', (_what, data) => {
    expect(() => parseJobData(data)).toThrow(InvalidArgumentError);
  });
});
