// Fusion pass: an elementwise kernel that is the only reader of a GEMM's output (a convolution, its
// input gradient, a matmul) or of a float pooling output (MaxPool, AvgPool and their gradients)
// runs in that program's epilogue (Program.epilogue), applied to each result before the store.
// In a training step: the relu and batch-norm terms applied to a convolution's input gradient, the
// accumulation of branches' gradients (an Inception block's pooling branch). The output never
// touches memory, and one dispatch goes. Runs after the chain pass, so the reader is a whole fused
// chain.
//
// The reader's other inputs must be read at the producer's own output element (the same shape), per
// output column (a vector over the last dimension: per-channel batch-norm terms) or be scalars.
import {Expr} from '../codegen/elementwise.js';
import {EpilogueLoad, Program} from '../codegen/program.js';
import {Uniform, WgslScalar} from '../codegen/shader.js';
import type {Node, TensorData} from '../graph/graph.js';

import {FusionLimits, groupName, inputTable, rebuild, sameShape} from './elementwise_chains.js';
import {namesOf, PassResult, rewriteNodes} from './rewrite.js';

/**
 * Elementwise readers applied in a GEMM's or pooling program's epilogue: `absorbed` counts them
 * (each a dispatch saved).
 */
export function fuseEpilogues(nodes: Node[], needed: boolean[], limits: FusionLimits): PassResult {
  return rewriteNodes(nodes, needed, n => n.program.elementwise !== undefined, reader => {
    const merged = absorbIntoEpilogue(reader, limits);
    return merged && {node: merged.node, absorbed: [merged.producer], saved: 1};
  });
}

/** How `shape` (an input of a reader of output shape `outShape`) is read at element (m, n). */
function loadOf(shape: number[], outShape: number[], n: number): EpilogueLoad|null {
  if (sameShape(shape, outShape)) return 'same';
  const size = shape.reduce((a, b) => a * b, 1);
  if (size === 1) return 'scalar';
  if (size === n && shape[shape.length - 1] === n && outShape[outShape.length - 1] === n) return 'channel';
  return null;
}

function absorbIntoEpilogue(reader: Node, limits: FusionLimits): {node: Node; producer: Node}|null {
  const desc = reader.program.elementwise!;
  if (desc.extraOutputs.length > 0 || reader.outputs.length !== 1) return null;
  for (let slot = 0; slot < reader.inputs.length; ++slot) {
    const data = reader.inputs[slot];
    const producer = data.producer;
    const hook = producer?.program.epilogue;
    if (!producer || !hook || producer.outputs.length !== 1 || data.kept) continue;
    const reads = reader.inputs.filter(d => d === data).length;
    if (data.pendingReaders !== reads) continue;
    // Every read of the producer's output is at the reader's own element.
    const direct = (k: number) => !desc.inputs[k].view && sameShape(desc.inputs[k].shape, desc.outShape);
    if (!reader.inputs.every((d, k) => d !== data || direct(k))) continue;
    if (data.size !== reader.outputs[0].size || desc.expr.type !== desc.outType || desc.inputs[slot].type !== 'f32') continue;
    const node = withEpilogue(reader, data, producer, hook.n, hook.buffers, limits);
    if (!node) continue;
    // Bookkeeping: the producer's output is never stored; the merged node reads its inputs
    // (once more than the producer did: its own count goes) and the reader's others.
    for (const x of producer.inputs) x.pendingReaders--;
    for (const x of reader.inputs) x.pendingReaders--;
    for (const x of node.inputs) x.pendingReaders++;
    data.producer = null;
    for (const o of node.outputs) o.producer = node;
    return {node, producer};
  }
  return null;
}

function withEpilogue(reader: Node, data: TensorData, producer: Node, n: number, buffers: number, limits: FusionLimits): Node|null {
  const desc = reader.program.elementwise!;
  const {inputs, datas, slotOf} = inputTable();
  const loads: EpilogueLoad[] = [];
  let ok = true;
  const leaf = (k: number): Expr => {
    if (reader.inputs[k] === data) return {kind: 'input', index: 0, type: desc.inputs[k].type};
    const load = desc.inputs[k].view ? null : loadOf(desc.inputs[k].shape, desc.outShape, n);
    if (!load) {
      ok = false;
      return {kind: 'input', index: 0, type: desc.inputs[k].type};
    }
    const before = datas.length;
    const j = slotOf(reader.inputs[k], desc.inputs[k]);
    if (datas.length > before) loads.push(load);
    return {kind: 'input', index: j + 1, type: desc.inputs[k].type};
  };
  // The reader's uniforms are renamed apart from the producer's (attr0 of a fused activation).
  const rename = (name: string) => `ep_${name}`;
  const expr = rebuild(desc.expr, leaf, rename);
  if (!ok || buffers + datas.length > limits.maxBuffers) return null;
  const uniforms: Uniform[] = desc.uniforms.map(u => ({...u, name: rename(u.name)}));
  const program: Program = producer.program.epilogue!.withEpilogue({
    expr, outType: desc.outType as WgslScalar, uniforms,
    inputs: inputs.map((inp, j) => ({type: inp.type, load: loads[j]})),
  });
  const names = [...namesOf(producer), ...namesOf(reader)];
  return {
    program: {...program, name: groupName(names)},
    inputs: [...producer.inputs, ...datas],
    outputs: reader.outputs,
    fusedFrom: (producer.fusedFrom ?? 1) + (reader.fusedFrom ?? 1),
    fusedNames: names,
  };
}
