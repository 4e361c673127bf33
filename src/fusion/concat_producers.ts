// Fusion pass: the producers of a concatenation write straight into their columns of its output.
// An Inception block concatenates its branches' outputs: batch norm and relu of each branch's
// convolution output, recomputed from that stored output where the values are virtual
// (src/memory/rematerialize.ts). Where a branch's tensor is computed by an elementwise kernel of
// the segment that nothing else reads or keeps, the concatenation computes it itself, in the
// branch's columns (src/codegen/concat.ts): the tensor is never stored, and the branch's dispatch
// and the copy are one. Branches whose inputs together exceed one dispatch's bindings are filled
// by further dispatches of the same node (Program.parts).
import {ConcatBranch, concatProgram, concatVec4Able, copyBranch, isCopy} from '../codegen/concat.js';
import {input, prologueReadable} from '../codegen/elementwise.js';
import {dispatchesOf} from '../codegen/program.js';
import {wgslType, WgslScalar} from '../codegen/shader.js';
import type {Node, TensorData} from '../graph/graph.js';

import {FusionLimits, groupName, rebuild} from './elementwise_chains.js';
import {namesOf, PassResult, rewriteNodes} from './rewrite.js';

/** Producers computed in their concatenations: `absorbed` counts the dispatches saved. */
export function fuseConcatProducers(nodes: Node[], needed: boolean[], limits: FusionLimits): PassResult {
  return rewriteNodes(nodes, needed, n => n.program.concat !== undefined, node => {
    const fused = absorbProducers(node, limits);
    if (!fused) return null;
    // Dispatches saved: the producers', less any the concatenation itself now adds (more parts).
    const saved = fused.producers.length + dispatchesOf(node.program) - dispatchesOf(fused.node.program);
    return {node: fused.node, absorbed: fused.producers, saved};
  });
}

/**
 * The producer of `data` (a copied input of the concatenation `node`) if the concatenation can
 * compute its values: nothing else reads or keeps them, and it is an elementwise kernel whose inputs
 * can be read `vec` elements at a time at its own flat index, or a concatenation of as many rows
 * (Inception's mixed 9 and 10 nest two) whose branches can be.
 */
function absorbable(node: Node, data: TensorData, outer: number, outType: WgslScalar, vec: 1|4): Node|null {
  const producer = data.producer;
  if (!producer || producer === node || producer.outputs.length !== 1 || producer.outputs[0] !== data) return null;
  if (data.kept || data.pendingReaders !== 1 || node.inputs.filter(d => d === data).length !== 1) return null;
  const e = producer.program.elementwise;
  if (e) {
    if (e.extraOutputs.length > 0 || e.outType !== outType || e.expr.type !== e.outType) return null;
    return prologueReadable({inputs: e.inputs, shape: e.outShape}, vec) ? producer : null;
  }
  const c = producer.program.concat;
  if (!c || c.outer !== outer) return null;
  const fits = (b: ConcatBranch) => b.inner % vec === 0 && (isCopy(b) || b.values.expr.type === outType) && prologueReadable(b.values, vec);
  return c.branches.every(fits) ? producer : null;
}

/** `b` moved to columns from `start`, its values named apart as the program's branch `k`, read as `outType`. */
function placed(b: ConcatBranch, start: number, k: number, outType: WgslScalar): ConcatBranch {
  if (isCopy(b)) return copyBranch(start, b.inner, b.values.shape, outType);
  const rename = (name: string) => `k${k}_${name}`;
  const v = b.values;
  return {start, inner: b.inner, values: {...v, expr: rebuild(v.expr, j => input(j, v.inputs[j].type), rename),
                                            uniforms: v.uniforms.map(u => ({...u, name: rename(u.name)}))}};
}

function absorbProducers(node: Node, limits: FusionLimits): {node: Node; producers: Node[]}|null {
  const {outer, branches: current} = node.program.concat!;
  const inners = current.map(b => b.inner);
  const output = node.outputs[0];
  if (node.outputs.length !== 1 || output.dtype === 'complex64') return null;
  const outType = wgslType(output.dtype);
  const total = inners.reduce((a, b) => a + b, 0);
  const vec = concatVec4Able(outer, total, inners) ? 4 : 1;
  const producers: Node[] = [];
  const branches: ConcatBranch[] = [];
  const inputs: TensorData[] = [];
  const add = (b: ConcatBranch, start: number, reads: TensorData[]) => {
    branches.push(placed(b, start, branches.length, outType));
    inputs.push(...reads);
  };
  let at = 0;
  for (const b of current) {
    // The branch's inputs are the next of the node's.
    const reads = node.inputs.slice(at, at += b.values.inputs.length);
    const producer = isCopy(b) ? absorbable(node, reads[0], outer, outType, vec) : null;
    const e = producer?.program.elementwise;
    if (!producer) {
      add(b, b.start, reads);
    } else if (e) {
      add({start: b.start, inner: b.inner, values: {expr: e.expr, inputs: e.inputs, shape: e.outShape, uniforms: e.uniforms}}, b.start, producer.inputs);
      producers.push(producer);
    } else {
      // A nested concatenation: its branches, shifted to this one's columns.
      let from = 0;
      for (const inner of producer.program.concat!.branches) {
        const n = inner.values.inputs.length;
        add(inner, b.start + inner.start, producer.inputs.slice(from, from += n));
      }
      producers.push(producer);
    }
  }
  if (producers.length === 0) return null;
  const names = [...producers.flatMap(namesOf), ...namesOf(node)];
  const name = groupName(names);
  const fused: Node = {
    program: concatProgram(name, outer, total, branches, outType, vec, limits.maxBuffers - 1),
    inputs,
    outputs: node.outputs,
    fusedFrom: producers.reduce((n, p) => n + (p.fusedFrom ?? 1), node.fusedFrom ?? 1),
    fusedNames: names,
  };
  // Bookkeeping: each absorbed tensor loses its reader and its producer (it is never stored); the
  // producers' reads of their inputs are now the fused node's, as many.
  for (const p of producers) {
    p.outputs[0].pendingReaders--;
    p.outputs[0].producer = null;
  }
  output.producer = fused;
  return {node: fused, producers};
}
