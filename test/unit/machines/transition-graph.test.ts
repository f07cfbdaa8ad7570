import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getAdjacencyMap, getShortestPaths } from 'xstate/graph';
import { procMachine, PROCESS_STATUSES, type ProcEvent } from '../../../machines/index.js';
import { AT, callOf } from '../../helpers/builders.js';

type Snapshot = ReturnType<typeof procMachine.resolveState>;

/** Every event worth trying from a snapshot: ids that match the current call/run, and variants for each guard. */
function candidateEvents(snapshot: Snapshot): ProcEvent[] {
  const { call, run, queue } = snapshot.context;
  const callId = call?.id ?? 'none';
  const runId = run?.id ?? 'none';
  const next = `call-${queue.length + (call === null ? 0 : 1)}`;
  const list: ProcEvent[] = [];
  if (queue.length < 2) {
    for (const blocking of [false, true]) {
      for (const clear of [true, false]) {
        list.push({ type: 'process.called', call: callOf({ id: `${next}-${blocking}-${clear}`, blocking, clear_queue_on_failure: clear }), at: AT });
      }
    }
  }
  list.push(
    { type: 'process.called_locally', call: callOf({ id: 'local', blocking: true }), run_id: 'run-local', lease_ms: 1000, at: AT },
    { type: 'dispatch.failed', call_id: callId, error: 'Error: x', at: AT },
    { type: 'worker.started', call_id: callId, run_id: 'run-worker', worker: 'w', job_id: 'j', lease_ms: 1000, at: AT },
    { type: 'run.progressed', run_id: runId, step: 's', warnings: ['w'], at: AT },
    { type: 'run.soft_timed_out', run_id: runId, at: AT },
    { type: 'run.succeeded', run_id: runId, warnings: [], at: AT },
    { type: 'run.waiting', run_id: runId, warnings: [], at: AT },
    { type: 'run.failed', run_id: runId, errors: ['Error: x'], warnings: [], at: AT },
    { type: 'join.started', run_id: 'run-join', worker: 'w', processing_children: 0, lease_ms: 1000, at: AT },
    { type: 'join.started', run_id: 'run-join', worker: 'w', processing_children: 2, lease_ms: 1000, at: AT },
    { type: 'worker.lost', reason: 'gone', at: AT },
    { type: 'run.timed_out', run_id: runId, at: AT },
    { type: 'run.stopped', reason: 'operator', at: AT },
    { type: 'proc.reset', force: false, at: AT },
    { type: 'proc.reset', force: true, at: AT },
  );
  return list;
}

/** The abstraction of a snapshot that every guard reads; finite because the queue is capped. */
function serialize(snapshot: Snapshot): string {
  const { call, run, queue } = snapshot.context;
  return JSON.stringify({
    value: snapshot.value,
    queue: queue.map((q) => [q.blocking, q.clear_queue_on_failure]),
    call: call && [call.blocking, call.clear_queue_on_failure, call.local],
    run: run && [run.join, run.soft_timeout_at !== null],
  });
}

function machineEdges(): Set<string> {
  const adjacency = getAdjacencyMap(procMachine, {
    events: (snapshot) => candidateEvents(snapshot as Snapshot),
    serializeState: (snapshot) => serialize(snapshot as Snapshot),
    input: { parent: null },
  });
  const edges = new Set<string>();
  for (const { state, transitions } of Object.values(adjacency)) {
    for (const { event, state: next } of Object.values(transitions) as Array<{ event: ProcEvent; state: Snapshot }>) {
      if ((state as Snapshot).can(event as ProcEvent)) edges.add(`${String((state as Snapshot).value)} | ${(event as ProcEvent).type} | ${String((next as Snapshot).value)}`);
    }
  }
  return edges;
}

/** The rows of the transition table in docs/transitions.md, expanded to one edge per from-status. */
function documentedEdges(): Set<string> {
  const text = readFileSync(new URL('../../../docs/transitions.md', import.meta.url), 'utf8');
  const table = text.split('## The transition table')[1]?.split('\n## ')[0] ?? '';
  const edges = new Set<string>();
  for (const line of table.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const [, from, event, to] = cells;
    if (from === undefined || event === undefined || to === undefined || !event.startsWith('`')) continue;
    for (const status of from.split(',').map((part) => part.trim())) edges.add(`${status} | ${event.replaceAll('`', '')} | ${to}`);
  }
  return edges;
}

describe('the transition table in docs/', () => {
  it('lists exactly the edges of the machine graph', () => {
    const documented = documentedEdges();
    expect(documented.size).toBeGreaterThan(20);
    expect([...machineEdges()].sort()).toEqual([...documented].sort());
  });

  it('has every status reachable from READY, and both completed statuses', () => {
    const paths = getShortestPaths(procMachine, {
      events: (snapshot) => candidateEvents(snapshot as Snapshot),
      // Serialized by the guard abstraction: RUNNING is first reached by a local run, which cannot wait.
      serializeState: (snapshot) => serialize(snapshot as Snapshot),
      input: { parent: null },
    });
    const reached = new Set(paths.map((path) => String((path.state as Snapshot).value)));
    expect([...reached].sort()).toEqual([...PROCESS_STATUSES].sort());
  });
});
