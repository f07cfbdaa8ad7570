/**
 * The proc machine laid out for drawing: every status a box, every edge a polyline with its
 * event's label placed beside it, computed by dagre (a layered graph layout) so parallel edges
 * and self-loops get labels that do not sit on each other. The browser only draws what this
 * returns. Computed once: the machine is fixed for a build.
 */
import dagre from '@dagrejs/dagre';
import { procMachineEdges } from '../../machines/diagram.js';
import { PROCESS_STATUSES } from '../../machines/process-status.js';

/** A point in the drawing, in pixels. */
export interface LayoutPoint {
  readonly x: number;
  readonly y: number;
}

/** A laid-out status: its box's centre and size. */
export interface LayoutNode extends LayoutPoint {
  readonly id: string;
  readonly width: number;
  readonly height: number;
}

/** One event of an edge, with the guard it needs. */
export interface LayoutEvent {
  readonly event: string;
  readonly guard: string | null;
}

/**
 * A laid-out edge: every machine edge between two statuses drawn as one line (the machine has
 * up to four events per pair), with its route and a label listing the events, one per line.
 */
export interface LayoutEdge {
  readonly from: string;
  readonly to: string;
  readonly events: readonly LayoutEvent[];
  /**
   * The route: a polyline, or for a self-loop (`from === to`) the four points of a cubic
   * Bézier curve (dagre's own self-loop routes fold back onto themselves).
   */
  readonly points: readonly LayoutPoint[];
  /** The label's centre. */
  readonly label: LayoutPoint;
}

/** The whole drawing. */
export interface MachineLayout {
  readonly width: number;
  readonly height: number;
  readonly initial: string;
  readonly nodes: readonly LayoutNode[];
  readonly edges: readonly LayoutEdge[];
}

// Sizes in pixels for a 12 px sans-serif label; the browser draws text at that size.
const CHAR_WIDTH = 7;
const NODE_HEIGHT = 34;
const LABEL_HEIGHT = 14;

let cached: MachineLayout | undefined;

/** The machine's layout (computed on first use, then shared). */
export function machineLayout(): MachineLayout {
  cached ??= layOut();
  return cached;
}

function layOut(): MachineLayout {
  const graph = new dagre.graphlib.Graph({ multigraph: true });
  graph.setGraph({ rankdir: 'TB', nodesep: 50, edgesep: 20, ranksep: 60, marginx: 16, marginy: 16 });
  for (const status of PROCESS_STATUSES) graph.setNode(status, { width: status.length * CHAR_WIDTH + 32, height: NODE_HEIGHT });
  const pairs = new Map<string, { from: string; to: string; events: LayoutEvent[] }>();
  for (const edge of procMachineEdges()) {
    const key = `${edge.from}>${edge.to}`;
    const pair = pairs.get(key) ?? { from: edge.from, to: edge.to, events: [] };
    pair.events.push({ event: edge.event, guard: edge.guard ?? null });
    pairs.set(key, pair);
  }
  for (const [key, pair] of pairs) {
    const width = Math.max(...pair.events.map(({ event }) => event.length)) * CHAR_WIDTH;
    graph.setEdge(pair.from, pair.to, { width, height: pair.events.length * LABEL_HEIGHT, labelpos: 'c' }, key);
  }
  dagre.layout(graph);
  const round = (value: number | undefined) => Math.round((value ?? 0) * 10) / 10;
  const nodes = PROCESS_STATUSES.map((status) => {
    const node = graph.node(status);
    return { id: status, x: round(node.x), y: round(node.y), width: round(node.width), height: round(node.height) };
  });
  const edges = [...pairs].map(([key, pair]) => {
    const label = graph.edge({ v: pair.from, w: pair.to, name: key }) as { points?: Array<{ x: number; y: number }>; x?: number; y?: number; width: number };
    if (pair.from === pair.to) return { ...pair, ...selfLoop(graph.node(pair.from), label.width) };
    return {
      ...pair,
      points: (label.points ?? []).map((point) => ({ x: round(point.x), y: round(point.y) })),
      label: { x: round(label.x), y: round(label.y) },
    };
  });
  const size = graph.graph();
  return { width: round(size.width), height: round(size.height), initial: 'READY', nodes, edges };
}

/** A loop on the right of a box, its label beyond it. */
function selfLoop(node: { x: number; y: number; width: number }, labelWidth: number): Pick<LayoutEdge, 'points' | 'label'> {
  const right = node.x + node.width / 2;
  const reach = right + 28;
  return {
    points: [
      { x: right, y: node.y - 8 },
      { x: reach, y: node.y - 26 },
      { x: reach, y: node.y + 26 },
      { x: right, y: node.y + 8 },
    ],
    label: { x: reach + labelWidth / 2 + 2, y: node.y },
  };
}
