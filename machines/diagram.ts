/**
 * The proc machine as text: Mermaid and Graphviz DOT diagrams, and the machine's JSON
 * definition (importable into Stately's editor). Pure; generated from the machine itself.
 */
import { toDirectedGraph } from 'xstate/graph';
import { createInitialContext, procMachine } from './proc-machine.js';

/** One edge of the machine graph. */
export interface DiagramEdge {
  readonly from: string;
  readonly to: string;
  readonly event: string;
  /** The guard's name, when the edge has one. */
  readonly guard: string | undefined;
}

/** Every edge of the machine, in definition order. Pure. */
export function procMachineEdges(): DiagramEdge[] {
  const edges: DiagramEdge[] = [];
  for (const node of toDirectedGraph(procMachine).children) {
    for (const edge of node.edges) {
      const guard = (edge.transition as { guard?: { type?: string } | string }).guard;
      edges.push({
        from: edge.source.key,
        to: edge.target.key,
        event: edge.label.text,
        guard: typeof guard === 'string' ? guard : guard?.type,
      });
    }
  }
  return edges;
}

/** The machine as a Mermaid `stateDiagram-v2`. Pure. */
export function procMachineToMermaid(): string {
  const lines = ['stateDiagram-v2', `  [*] --> ${String(procMachine.config.initial)}`];
  for (const edge of procMachineEdges()) {
    lines.push(`  ${edge.from} --> ${edge.to}: ${edge.event}${edge.guard === undefined ? '' : ` [${edge.guard}]`}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The machine as a Graphviz DOT digraph. Pure. */
export function procMachineToDot(): string {
  const lines = ['digraph procstate {', '  rankdir=LR;', '  node [shape=box, style=rounded];', `  start [shape=point]; start -> ${String(procMachine.config.initial)};`];
  for (const edge of procMachineEdges()) {
    const label = `${edge.event}${edge.guard === undefined ? '' : `\\n[${edge.guard}]`}`;
    lines.push(`  ${edge.from} -> ${edge.to} [label="${label}"];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/**
 * The machine's definition as JSON (its XState config, with the initial context filled in),
 * for Stately's editor and other tools. Pure.
 */
export function procMachineToJson(): string {
  const config = { ...procMachine.config, context: createInitialContext({ parent: null }) };
  return `${JSON.stringify(config, (_key, value: unknown) => (typeof value === 'function' ? undefined : value), 2)}\n`;
}
