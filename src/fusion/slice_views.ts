// Fusion pass: an elementwise kernel reads a slice (or any strided copy: a transpose, a broadcast)
// through its view of the source, and the copy goes. The gradient of a concatenation is a split of
// its output's gradient, one slice per branch, each read by the branch's relu and batch-norm
// gradient: those kernels now read their columns of the gradient where it lies, so the
// concatenation costs nothing backward either.
import {elementwiseProgram, ElementwiseInput} from '../codegen/elementwise.js';
import {StridedView} from '../codegen/program.js';
import type {Node} from '../graph/graph.js';

import {FusionLimits, groupName, sameShape} from './elementwise_chains.js';
import {namesOf, PassResult, rewriteNodes} from './rewrite.js';

/** Copies read through their views: `absorbed` counts them (each a dispatch saved). */
export function fuseSliceViews(nodes: Node[], needed: boolean[], limits: FusionLimits): PassResult {
  return rewriteNodes(nodes, needed, n => n.program.elementwise !== undefined, reader => {
    const fused = readThroughView(reader, limits);
    return fused && {node: fused.node, absorbed: [fused.copy], saved: 1};
  });
}

/**
 * The view's strides over `outShape` (of the same size): where each dimension of `outShape` lies
 * within one of the view's (a split of it, as [N·H·W, C] into [N, H, W, C]); null otherwise.
 */
export function stridesOver(view: StridedView, outShape: number[]): number[]|null {
  const strides = outShape.map(() => 0);
  let j = view.shape.length - 1;
  // The part of view dimension j that the dimensions after d cover.
  let covered = 1;
  for (let d = outShape.length - 1; d >= 0; --d) {
    const n = outShape[d];
    if (n === 1) continue;
    if (j < 0 || view.shape[j] % (covered * n) !== 0) return null;
    strides[d] = view.strides[j] * covered;
    covered *= n;
    if (covered === view.shape[j]) {
      j--;
      covered = 1;
    }
  }
  return j < 0 ? strides : null;
}

/** `reader` reading one strided copy it alone reads through the copy's view; null if none can. */
function readThroughView(reader: Node, limits: FusionLimits): {node: Node; copy: Node}|null {
  const desc = reader.program.elementwise!;
  for (let slot = 0; slot < reader.inputs.length; ++slot) {
    const data = reader.inputs[slot];
    const copy = data.producer;
    const view = copy?.program.stridedView;
    if (!copy || !view || copy.inputs.length !== 1 || copy.outputs.length !== 1 || data.kept) continue;
    const reads = reader.inputs.filter(d => d === data).length;
    if (data.pendingReaders !== reads) continue;
    // Every read is position for position, with non-negative strides (u32 indexing).
    const direct = (k: number) => !desc.inputs[k].view && sameShape(desc.inputs[k].shape, desc.outShape);
    if (!reader.inputs.every((d, k) => d !== data || direct(k)) || view.strides.some(s => s < 0)) continue;
    const strides = stridesOver(view, desc.outShape);
    if (!strides) continue;
    const source = copy.inputs[0];
    const inputs: ElementwiseInput[] = desc.inputs.map((inp, k) => (reader.inputs[k] === data
      ? {shape: source.shape, type: inp.type, view: {strides, offset: view.offset}} : inp));
    if (inputs.length + reader.outputs.length > limits.maxBuffers) continue;
    const names = [...namesOf(copy), ...namesOf(reader)];
    const name = groupName(names);
    const node: Node = {
      program: elementwiseProgram(name, desc.expr, inputs, desc.outShape, desc.outType, desc.uniforms, desc.extraOutputs),
      inputs: reader.inputs.map(d => (d === data ? source : d)),
      outputs: reader.outputs,
      fusedFrom: (copy.fusedFrom ?? 1) + (reader.fusedFrom ?? 1),
      fusedNames: names,
    };
    // Bookkeeping: the slice is never stored; its source loses the copy's read and gains the reader's.
    data.pendingReaders -= reads;
    data.producer = null;
    source.pendingReaders += reads - 1;
    for (const o of node.outputs) o.producer = node;
    return {node, copy};
  }
  return null;
}
