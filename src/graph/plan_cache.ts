// Plan reuse. A training step records the same kernels on the same shapes every time, so its
// flushes repeat: the same segment (after src/memory/rematerialize.ts), the same fused schedule,
// the same arena placement. A segment's structural key (each node's program key, the attributes
// fusion bakes into a fused program, output shapes and dtypes, which values are kept, and the edges:
// which node's output or which outside value each input is) maps to the plan computed the first
// time: the fused nodes (their programs built once) and every temporary's arena and offset. A
// repeated segment skips the fusion pass and the placement, and builds no program or key again.
//
// The key is compared whole (a string), never by hash alone: a plan applied to a segment it was not
// made for would compute the wrong thing.
import type {Program} from '../codegen/program.js';
import type {Node, TensorData} from './graph.js';

/**
 * A value a plan refers to: >= 0, the segment's output number (outputs numbered in node order);
 * < 0, the segment's outside input number -ref - 1 (numbered in order of first read).
 */
type Ref = number;

/** A node of the planned segment. */
interface PlannedNode {
  /** The segment node that runs as recorded (its own program: uniforms may differ per step), or -1. */
  source: number;
  /** A fused group: its program (built once), inputs and outputs. */
  fused: {program: Program; inputs: Ref[]; outputs: Ref[]; fusedFrom: number; fusedNames: string[]}|null;
}

export interface FlushPlan {
  nodes: PlannedNode[];
  needed: boolean[];
  groups: number;
  absorbed: number;
  /** The arena placement: per temporary its planned node, output slot, arena and offset. */
  arena: {bytes: number[]; values: Array<{node: number; output: number; arena: number; offset: number}>; valueBytes: number}|null;
}

/** A segment's key, and the values its refs name. */
export interface SegmentKey {
  text: string;
  outputs: TensorData[];
  outside: TensorData[];
  /** The ref of a value of the segment (valid until the next segmentKey). */
  refOf: (d: TensorData) => Ref;
}

/** Numbers segmentKey's calls: a value's `keyRef` belongs to the call stamped in its `keyEpoch`. */
let keyEpoch = 0;

/** Appends a shape as text ("2x3x4"; "" for a scalar). */
function shapeText(s: readonly number[]): string {
  let t = '';
  for (let d = 0; d < s.length; ++d) t += d === 0 ? `${s[d]}` : `x${s[d]}`;
  return t;
}

/**
 * The structural key of `nodes`. `context` holds what else the plan depends on (flags, limits).
 * Uniform values enter for elementwise programs, reductions and GEMMs only: fusion bakes them into
 * the fused program; any other node runs with its own program, so a value that changes every step (a
 * random seed) does not defeat reuse.
 */
export function segmentKey(nodes: Node[], context: string): SegmentKey {
  // Refs live on the values themselves (stamped with this call's epoch): cheaper than a map.
  const epoch = ++keyEpoch;
  const outputs: TensorData[] = [];
  const outside: TensorData[] = [];
  let text = context;
  for (const node of nodes) {
    const p = node.program;
    text += '\n';
    text += p.key;
    if (p.elementwise || p.reduction || p.epilogue) {
      text += '#';
      for (const u of p.uniforms) text += `${u.value},`;
      const e = p.elementwise;
      if (e) {
        text += `#${shapeText(e.outShape)}:`;
        for (const i of e.inputs) {
          text += shapeText(i.shape);
          if (i.view) text += `@${i.view.offset}/${i.view.strides.join(',')}`;
          text += ';';
        }
      }
    }
    text += '<';
    for (const x of node.inputs) {
      if (x.keyEpoch !== epoch) {
        outside.push(x);
        x.keyEpoch = epoch;
        x.keyRef = -outside.length;
      }
      text += `${x.keyRef},`;
    }
    text += '>';
    for (const o of node.outputs) {
      o.keyEpoch = epoch;
      o.keyRef = outputs.length;
      outputs.push(o);
      text += `${shapeText(o.shape)}${o.dtype[0]}${o.kept ? 'K' : ''}${o.buffer !== null ? 'B' : ''},`;
    }
  }
  const refOf = (d: TensorData): Ref => {
    if (d.keyEpoch !== epoch) throw new Error('mpsgpu internal error: a plan refers to a value outside its segment');
    return d.keyRef;
  };
  return {text, outputs, outside, refOf};
}

/**
 * What fusion made of the segment (`result`: the nodes to encode, some of them the segment's own),
 * as a plan for segments with the same key.
 */
export function planOf(segment: Node[], key: SegmentKey, result: Node[], needed: boolean[], groups: number, absorbed: number): FlushPlan {
  const index = new Map<Node, number>();
  segment.forEach((n, i) => index.set(n, i));
  const ref = key.refOf;
  const nodes = result.map((n): PlannedNode => {
    const source = index.get(n);
    if (source !== undefined) return {source, fused: null};
    return {source: -1, fused: {program: n.program, inputs: n.inputs.map(ref), outputs: n.outputs.map(ref),
                                fusedFrom: n.fusedFrom ?? 1, fusedNames: n.fusedNames ?? [n.program.name]}};
  });
  return {nodes, needed: [...needed], groups, absorbed, arena: null};
}

/**
 * The planned nodes for `segment` (whose key equals the plan's), with the graph's bookkeeping
 * moved as the fusion pass moves it: pending-reader counts from the segment's nodes to the planned
 * ones, and each output's producer to the node that now computes it (none, if it is never stored).
 */
export function applyPlan(plan: FlushPlan, segment: Node[], key: SegmentKey): Node[] {
  const value = (r: Ref) => (r >= 0 ? key.outputs[r] : key.outside[-r - 1]);
  const nodes = plan.nodes.map((p): Node => {
    if (!p.fused) return segment[p.source];
    const f = p.fused;
    return {program: f.program, inputs: f.inputs.map(value), outputs: f.outputs.map(value), fusedFrom: f.fusedFrom, fusedNames: f.fusedNames};
  });
  for (const n of segment) {
    for (const x of n.inputs) x.pendingReaders--;
    for (const o of n.outputs) o.producer = null;
  }
  for (const n of nodes) {
    for (const x of n.inputs) x.pendingReaders++;
    for (const o of n.outputs) o.producer = n;
  }
  return nodes;
}

/** Plans by key, the least recently used dropped beyond `capacity`. */
export class PlanCache {
  private plans = new Map<string, FlushPlan>();

  constructor(private capacity = 64) {}

  get(key: string): FlushPlan|undefined {
    const plan = this.plans.get(key);
    if (plan) {
      this.plans.delete(key);
      this.plans.set(key, plan);
    }
    return plan;
  }

  set(key: string, plan: FlushPlan) {
    this.plans.set(key, plan);
    if (this.plans.size > this.capacity) this.plans.delete(this.plans.keys().next().value!);
  }

  clear() {
    this.plans.clear();
  }

  get size(): number {
    return this.plans.size;
  }
}
