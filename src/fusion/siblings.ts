// Fusion pass: independent elementwise kernels of the same output shape share one dispatch. After
// the chains are fused (elementwise_chains.ts), a training step still has many small kernels that
// do not feed each other: per batch-norm layer the two moving-average updates, and the per-channel
// terms of its gradient ([C]-sized vectors, each a dispatch of its own). One kernel can compute
// several of them, each as an output of the same invocation grid, as far as the adapter's
// storage-buffer limit allows.
//
// A kernel moves later, to the sibling it joins: only where nothing between the two reads its
// outputs, so every reader still runs after it. Values do not change: each output is the same
// expression of the same inputs.
import {elementwiseProgram, Expr, ExtraOutput} from '../codegen/elementwise.js';
import {Uniform} from '../codegen/shader.js';
import type {Node, TensorData} from '../graph/graph.js';

import {countOps, FusionLimits, groupName, inputTable, MAX_OPS, rebuild, sameShape} from './elementwise_chains.js';
import {namesOf} from './rewrite.js';

/** How far back a kernel looks for siblings: bounds the pass's time on long segments. */
const WINDOW = 256;

export interface SiblingResult {
  nodes: Node[];
  needed: boolean[];
  /** Kernels that joined a sibling's dispatch (each a dispatch saved). */
  joined: number;
}

/**
 * Merge independent same-shape elementwise kernels of `nodes` (needed[i]: node i runs). Keeps the
 * graph's bookkeeping consistent, as the chain pass does: pending-reader counts move to the merged
 * node, which becomes the producer of every output.
 */
export function fuseSiblings(nodes: Node[], needed: boolean[], limits: FusionLimits): SiblingResult {
  // Where each value is first read: a kernel may move up to (not past) that point.
  const firstRead = new Map<TensorData, number>();
  nodes.forEach((n, i) => {
    if (!needed[i]) return;
    for (const d of n.inputs) if (!firstRead.has(d)) firstRead.set(d, i);
  });
  const readFrom = (n: Node) => n.outputs.reduce((m, d) => Math.min(m, firstRead.get(d) ?? Infinity), Infinity);
  const out = [...nodes];
  const gone = new Array<boolean>(nodes.length).fill(false);
  // Candidates by output shape: indices of earlier elementwise kernels, most recent last.
  const byShape = new Map<string, number[]>();
  let joined = 0;
  for (let i = 0; i < out.length; ++i) {
    const desc = out[i].program.elementwise;
    if (!needed[i] || !desc) continue;
    const shapeKey = desc.outShape.join(',');
    const candidates = byShape.get(shapeKey) ?? [];
    for (let c = candidates.length - 1; c >= 0; --c) {
      const j = candidates[c];
      if (gone[j] || i - j > WINDOW) continue;
      // Nothing before this kernel (this one included) reads the sibling's outputs.
      if (readFrom(out[j]) <= i) continue;
      const merged = combine(out[i], out[j], limits);
      if (!merged) continue;
      for (const x of out[i].inputs) x.pendingReaders--;
      for (const x of out[j].inputs) x.pendingReaders--;
      for (const x of merged.inputs) x.pendingReaders++;
      for (const o of merged.outputs) o.producer = merged;
      out[i] = merged;
      gone[j] = true;
      joined++;
    }
    candidates.push(i);
    // Old candidates fall out of the window.
    while (candidates.length > 0 && i - candidates[0] > WINDOW) candidates.shift();
    byShape.set(shapeKey, candidates);
  }
  return {nodes: out.filter((_, i) => !gone[i]), needed: needed.filter((_, i) => !gone[i]), joined};
}

/**
 * One kernel computing `node`'s outputs and then `sibling`'s, over the same grid; null beyond the
 * buffer or size limits.
 */
function combine(node: Node, sibling: Node, limits: FusionLimits): Node|null {
  const a = node.program.elementwise!, b = sibling.program.elementwise!;
  if (!sameShape(a.outShape, b.outShape)) return null;
  const {inputs, datas, slotOf} = inputTable();
  const leaves = (n: Node, d: typeof a) => (k: number): Expr => ({kind: 'input', index: slotOf(n.inputs[k], d.inputs[k]), type: d.inputs[k].type});
  const memoA = new Map<Expr, Expr>(), memoB = new Map<Expr, Expr>();
  const leafA = leaves(node, a), leafB = leaves(sibling, b);
  const expr = rebuild(a.expr, leafA, name => name, memoA);
  const extra: ExtraOutput[] = a.extraOutputs.map(o => ({expr: rebuild(o.expr, leafA, name => name, memoA), type: o.type}));
  // The sibling's uniforms are renamed apart from the node's (both may call theirs attr0).
  const prefix = `s${(node.fusedFrom ?? 1)}_`;
  const renameB = (name: string) => prefix + name;
  extra.push({expr: rebuild(b.expr, leafB, renameB, memoB), type: b.outType});
  for (const o of b.extraOutputs) extra.push({expr: rebuild(o.expr, leafB, renameB, memoB), type: o.type});
  const outputs = [...node.outputs, ...sibling.outputs];
  if (datas.length + outputs.length > limits.maxBuffers) return null;
  const uniforms: Uniform[] = [...a.uniforms, ...b.uniforms.map(u => ({...u, name: renameB(u.name)}))];
  const desc = {expr, inputs, outShape: a.outShape, outType: a.outType, uniforms, extraOutputs: extra};
  if (countOps(desc) > MAX_OPS) return null;
  const names = [...namesOf(node), ...namesOf(sibling)];
  return {
    program: elementwiseProgram(groupName(names), expr, inputs, a.outShape, a.outType, uniforms, extra),
    inputs: datas,
    outputs,
    fusedFrom: (node.fusedFrom ?? 1) + (sibling.fusedFrom ?? 1),
    fusedNames: names,
  };
}
