// Fusion pass: reductions over the same rows share one pass. A batch-norm layer's gradient sums
// over N·H·W, per channel, dy, dy·(x − mean) and the terms of the mean's and variance's gradients:
// each a column reduction of its own, each reading dy and x again (after the chain pass, their
// elementwise producers are computed inside them). One pass can read the inputs once and keep an
// accumulator per reduction (Program.siblingReduction: passes of one layout and chunking).
//
// A reduction moves earlier, to the first of its siblings: only where every input it reads is
// produced before that point, so it reads the same values. Each output is the same reduction of
// the same expression, in the same order of additions: the values do not change.
import {Expr} from '../codegen/elementwise.js';
import {SiblingReductionHook} from '../codegen/program.js';
import {Uniform} from '../codegen/shader.js';
import type {Node, TensorData} from '../graph/graph.js';

import {FusionLimits, groupName, inputTable, rebuild, sameShape} from './elementwise_chains.js';
import {namesOf} from './rewrite.js';

/** How far back a reduction looks for siblings. */
const WINDOW = 256;
/** Reductions per pass: each keeps its accumulators in registers and a workgroup array. */
const MAX_PARTS = 6;

export interface SiblingReductionResult {
  nodes: Node[];
  needed: boolean[];
  /** Reductions that joined a sibling's pass (each a dispatch saved). */
  joined: number;
}

interface Part {
  node: Node;
  hook: SiblingReductionHook;
}

export function fuseSiblingReductions(nodes: Node[], needed: boolean[], limits: FusionLimits): SiblingReductionResult {
  const out = [...nodes];
  const gone = new Array<boolean>(nodes.length).fill(false);
  // Where each value is computed: a reduction may move up to (not before) its inputs' producers.
  const producedAt = new Map<TensorData, number>();
  out.forEach((n, i) => {
    if (needed[i]) for (const o of n.outputs) producedAt.set(o, i);
  });
  // Per hook key, the positions of passes others may join, most recent last; per position, its parts.
  const heads = new Map<string, number[]>();
  const partsAt = new Map<number, Part[]>();
  let joined = 0;
  for (let i = 0; i < out.length; ++i) {
    const hook = out[i].program.siblingReduction;
    if (!needed[i] || !hook) continue;
    const ready = out[i].inputs.reduce((m, d) => Math.max(m, producedAt.get(d) ?? -1), -1);
    const candidates = heads.get(hook.key) ?? [];
    const part: Part = {node: out[i], hook};
    let merged = false;
    for (let c = candidates.length - 1; c >= 0 && !merged; --c) {
      const j = candidates[c];
      // Earlier heads lie before an input's producer too.
      if (j <= ready || i - j > WINDOW) break;
      const parts = partsAt.get(j)!;
      if (parts.length >= MAX_PARTS) continue;
      const node = combine([...parts, part], limits);
      if (!node) continue;
      for (const x of out[j].inputs) x.pendingReaders--;
      for (const x of out[i].inputs) x.pendingReaders--;
      for (const x of node.inputs) x.pendingReaders++;
      for (const o of node.outputs) {
        o.producer = node;
        producedAt.set(o, j);
      }
      out[j] = node;
      parts.push(part);
      gone[i] = true;
      joined++;
      merged = true;
    }
    if (merged) continue;
    partsAt.set(i, [part]);
    candidates.push(i);
    while (candidates.length > 0 && i - candidates[0] > WINDOW) candidates.shift();
    heads.set(hook.key, candidates);
  }
  return {nodes: out.filter((_, i) => !gone[i]), needed: needed.filter((_, i) => !gone[i]), joined};
}

/** One pass computing every part's reduction (outputs in part order); null beyond the limits. */
function combine(parts: Part[], limits: FusionLimits): Node|null {
  const shape = parts[0].hook.values.shape;
  if (!parts.every(p => sameShape(p.hook.values.shape, shape))) return null;
  const {inputs, datas, slotOf} = inputTable();
  const exprs: Expr[] = [];
  const uniforms: Uniform[] = [];
  parts.forEach(({node, hook}, k) => {
    const v = hook.values;
    // Each part's expression uniforms are renamed apart (two may call theirs pro_attr0).
    const rename = (name: string) => `r${k}_${name}`;
    exprs.push(rebuild(v.expr, j => ({kind: 'input', index: slotOf(node.inputs[j], v.inputs[j]), type: v.inputs[j].type}), rename));
    uniforms.push(...v.uniforms.map(u => ({...u, name: rename(u.name)})));
  });
  const outputs = parts.flatMap(p => p.node.outputs);
  if (datas.length + outputs.length > limits.maxBuffers) return null;
  const program = parts[0].hook.combine(parts.map(p => p.hook.stage), {exprs, inputs, shape, uniforms});
  const names = parts.flatMap(p => namesOf(p.node));
  return {
    program: {...program, name: groupName(names)},
    inputs: datas,
    outputs,
    fusedFrom: parts.reduce((n, p) => n + (p.node.fusedFrom ?? 1), 0),
    fusedNames: names,
  };
}
