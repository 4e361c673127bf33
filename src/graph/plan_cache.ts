// Plan reuse. A training step records the same kernels on the same shapes every time, so its
// flushes repeat: the same segment (after src/memory/rematerialize.ts), the same fused schedule,
// the same arena placement. A segment's structural key (each node's program key, the attributes
// fusion bakes into a fused program, output shapes and dtypes, which values are kept, and the edges:
// which node's output or which outside value each input is) maps to the plan computed the first
// time: the fused nodes (their programs built once) and every temporary's arena and offset. A
// repeated segment skips the fusion pass and the placement, and builds no program or key again.
//
// The key is compared whole, never by hash alone: a plan applied to a segment it was not made for
// would compute the wrong thing. It is a sequence of numbers (no text: building and hashing a
// 100-character string per node cost more than the rest of a repeated flush's bookkeeping), each
// field preceded by its count where its length varies, so that equal sequences mean equal segments;
// program keys and the context enter as numbers interned one per distinct string.
import type {Program} from '../codegen/program.js';
import {namesOf} from '../fusion/rewrite.js';

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

/**
 * A segment's structural key: the 32-bit words of its float64 fields, compared bitwise (-0 is not 0).
 * The words of a key segmentKey returns live in a buffer the next call reuses: PlanCache.set keeps
 * a copy.
 */
export interface PlanKey {
  words: Uint32Array;
}

/** A segment's key, and the values its refs name. */
export interface SegmentKey {
  /** The key proper. */
  key: PlanKey;
  outputs: TensorData[];
  outside: TensorData[];
  /** The ref of a value of the segment (valid until the next segmentKey). */
  refOf: (d: TensorData) => Ref;
}

/** Numbers segmentKey's calls: a value's `keyRef` belongs to the call stamped in its `keyEpoch`. */
let keyEpoch = 0;

/**
 * Strings (program keys, contexts) as numbers, exactly: one number per distinct string. Numbers are
 * never reused, so when the table is dropped (past MAX_INTERNED strings) an older key can only miss.
 */
const interned = new Map<string, number>();
let nextInterned = 1;
const MAX_INTERNED = 1 << 16;

function internId(s: string): number {
  let id = interned.get(s);
  if (id === undefined) {
    if (interned.size >= MAX_INTERNED) interned.clear();
    id = nextInterned++;
    interned.set(s, id);
  }
  return id;
}

/**
 * The key's float64 fields are written here (shared by all calls, so the words of a key are valid
 * until the next call). Stores past its end are dropped (typed arrays): a key that did not fit is
 * written again into a buffer twice the size.
 */
let fields = new Float64Array(1 << 16);

/** Writes shape `s` (its rank, then its dimensions) at `n`; returns the index after it. */
function putShape(f: Float64Array, n: number, s: readonly number[]): number {
  f[n++] = s.length;
  for (let d = 0; d < s.length; ++d) f[n++] = s[d];
  return n;
}

/**
 * The structural key of `nodes`. `context` holds what else the plan depends on (flags, limits).
 * Uniform values enter for elementwise programs, reductions and GEMMs only: fusion bakes them into
 * the fused program; any other node runs with its own program, so a value that changes every step (a
 * random seed) does not defeat reuse.
 */
export function segmentKey(nodes: Node[], context: string): SegmentKey {
  for (;;) {
    const key = writeKey(nodes, context, fields);
    if (key) return key;
    fields = new Float64Array(fields.length * 2);
  }
}

/** segmentKey into `f`; null if it did not fit. */
function writeKey(nodes: Node[], context: string, f: Float64Array): SegmentKey|null {
  // Refs live on the values themselves (stamped with this call's epoch): cheaper than a map.
  const epoch = ++keyEpoch;
  const outputs: TensorData[] = [];
  const outside: TensorData[] = [];
  let n = 0;
  f[n++] = internId(context);
  f[n++] = nodes.length;
  for (const node of nodes) {
    const p = node.program;
    f[n++] = internId(p.key);
    const e = p.elementwise;
    // 0: no uniform values; 1: the uniform values; 2: and the elementwise geometry.
    const baked = e ? 2 : p.reduction || p.epilogue ? 1 : 0;
    f[n++] = baked;
    if (baked > 0) {
      const uniforms = p.uniforms;
      f[n++] = uniforms.length;
      for (let k = 0; k < uniforms.length; ++k) f[n++] = uniforms[k].value;
    }
    // A concatenation's columns: fusion bakes them into the program computing its inputs in it.
    const concat = p.concat;
    if (concat) {
      f[n++] = concat.outer;
      f[n++] = concat.branches.length;
      for (const b of concat.branches) f[n++] = b.inner;
    }
    // A strided copy's map: fusion bakes it into a reader that reads through it.
    const view = p.stridedView;
    if (view) {
      f[n++] = view.offset;
      n = putShape(f, n, view.shape);
      n = putShape(f, n, view.strides);
    }
    if (e) {
      n = putShape(f, n, e.outShape);
      f[n++] = e.inputs.length;
      for (const i of e.inputs) {
        n = putShape(f, n, i.shape);
        const view = i.view;
        if (view) {
          f[n++] = 1;
          f[n++] = view.offset;
          n = putShape(f, n, view.strides);
        } else {
          f[n++] = 0;
        }
      }
    }
    f[n++] = node.inputs.length;
    for (const x of node.inputs) {
      if (x.keyEpoch !== epoch) {
        outside.push(x);
        x.keyEpoch = epoch;
        x.keyRef = -outside.length;
      }
      f[n++] = x.keyRef;
    }
    f[n++] = node.outputs.length;
    for (const o of node.outputs) {
      o.keyEpoch = epoch;
      o.keyRef = outputs.length;
      outputs.push(o);
      n = putShape(f, n, o.shape);
      // The dtype's first letter tells the dtypes apart.
      f[n++] = o.dtype.charCodeAt(0);
      f[n++] = (o.kept ? 1 : 0) + (o.buffer !== null ? 2 : 0);
    }
  }
  if (n > f.length) return null;
  const refOf = (d: TensorData): Ref => {
    if (d.keyEpoch !== epoch) throw new Error('mpsgpu internal error: a plan refers to a value outside its segment');
    return d.keyRef;
  };
  return {key: {words: new Uint32Array(f.buffer, 0, 2 * n)}, outputs, outside, refOf};
}

function sameKey(a: PlanKey, b: PlanKey): boolean {
  const x = a.words, y = b.words;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; ++i) if (x[i] !== y[i]) return false;
  return true;
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
                                fusedFrom: n.fusedFrom ?? 1, fusedNames: namesOf(n)}};
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
  /** Least recently used first (a few dozen at most: keys of another length are passed over at once). */
  private plans: Array<{key: PlanKey; plan: FlushPlan}> = [];

  constructor(private capacity = 64) {}

  get(key: PlanKey): FlushPlan|undefined {
    for (let i = this.plans.length - 1; i >= 0; --i) {
      const entry = this.plans[i];
      if (!sameKey(entry.key, key)) continue;
      this.plans.splice(i, 1);
      this.plans.push(entry);
      return entry.plan;
    }
    return undefined;
  }

  set(key: PlanKey, plan: FlushPlan) {
    // A copy: segmentKey reuses its buffer.
    const kept: PlanKey = {words: key.words.slice()};
    const at = this.plans.findIndex(entry => sameKey(entry.key, kept));
    if (at >= 0) this.plans.splice(at, 1);
    this.plans.push({key: kept, plan});
    if (this.plans.length > this.capacity) this.plans.shift();
  }

  clear() {
    this.plans = [];
  }

  get size(): number {
    return this.plans.length;
  }
}
