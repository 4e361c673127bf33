// Fusion pass: the producers of a concatenation write straight into their columns of its output.
// An Inception block concatenates its branches' outputs: batch norm and relu of each branch's
// convolution output, recomputed from that stored output where the values are virtual
// (src/memory/rematerialize.ts). Where a branch's tensor is computed by an elementwise kernel of
// the segment that nothing else reads or keeps, the concatenation computes it itself, in the
// branch's columns (src/codegen/concat.ts): the tensor is never stored, and the branch's dispatch
// and the copy are one. Branches whose inputs together exceed one dispatch's bindings are filled
// by further dispatches of the same node (Program.parts).
import {ConcatBranch, concatProgram, concatVec4Able, copyBranch} from '../codegen/concat.js';
import {input, prologueReadable} from '../codegen/elementwise.js';
import {wgslType} from '../codegen/shader.js';
import type {Node, TensorData} from '../graph/graph.js';

import {FusionLimits, groupName, rebuild} from './elementwise_chains.js';
import {namesOf, PassResult, rewriteNodes} from './rewrite.js';

/** Producers computed in their concatenations: `absorbed` counts the dispatches saved. */
export function fuseConcatProducers(nodes: Node[], needed: boolean[], limits: FusionLimits): PassResult {
  // A concatenation as recorded: each branch a copy of its one input (once fused, no longer).
  return rewriteNodes(nodes, needed, n => n.program.concat !== undefined && !n.fusedNames, node => {
    const fused = absorbProducers(node, limits);
    // Dispatches saved: the producers', less any the concatenation itself now adds (more parts).
    return fused && {node: fused.node, absorbed: fused.producers, saved: fused.producers.length + dispatchesOf(node) - dispatchesOf(fused.node)};
  });
}

function dispatchesOf(node: Node): number {
  return node.program.parts?.length ?? 1;
}

/**
 * The elementwise producer of `data` (input `slot` of the concatenation `node`) if the
 * concatenation can compute it: nothing else reads or keeps the value, and its inputs can be read
 * `vec` elements at a time at its own flat index.
 */
function absorbable(node: Node, slot: number, outType: string, vec: 1|4): Node|null {
  const data = node.inputs[slot];
  const producer = data.producer;
  const e = producer?.program.elementwise;
  if (!producer || !e || producer === node || producer.outputs.length !== 1 || producer.outputs[0] !== data) return null;
  if (data.kept || data.pendingReaders !== 1 || node.inputs.filter(d => d === data).length !== 1) return null;
  if (e.extraOutputs.length > 0 || e.outType !== outType || e.expr.type !== e.outType) return null;
  return prologueReadable({inputs: e.inputs, shape: e.outShape}, vec) ? producer : null;
}

function absorbProducers(node: Node, limits: FusionLimits): {node: Node; producers: Node[]}|null {
  const {outer, inners} = node.program.concat!;
  const output = node.outputs[0];
  // A concatenation node reads one input per branch (kernels/Concat.ts).
  if (node.inputs.length !== inners.length || node.outputs.length !== 1 || output.dtype === 'complex64') return null;
  const outType = wgslType(output.dtype);
  const total = inners.reduce((a, b) => a + b, 0);
  const vec = concatVec4Able(outer, total, inners) ? 4 : 1;
  const producers: Node[] = [];
  const branches: ConcatBranch[] = [];
  const inputs: TensorData[] = [];
  let start = 0;
  node.inputs.forEach((data, k) => {
    const inner = inners[k];
    const producer = absorbable(node, k, outType, vec);
    if (producer) {
      const e = producer.program.elementwise!;
      // The branch's uniform leaves are named apart from the other branches' and the program's.
      const rename = (name: string) => `b${k}_${name}`;
      const expr = rebuild(e.expr, j => input(j, e.inputs[j].type), rename);
      branches.push({start, inner, values: {expr, inputs: e.inputs, shape: e.outShape, uniforms: e.uniforms.map(u => ({...u, name: rename(u.name)}))}});
      inputs.push(...producer.inputs);
      producers.push(producer);
    } else {
      branches.push(copyBranch(start, inner, data.shape, outType));
      inputs.push(data);
    }
    start += inner;
  });
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
