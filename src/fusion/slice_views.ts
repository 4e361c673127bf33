// Fusion pass: elementwise kernels read a slice (or any strided copy: a transpose, a broadcast)
// through its view of the source, and the copy goes. The gradient of a concatenation is a split of
// its output's gradient, one slice per branch, each read by the branch's relu and batch-norm
// gradient: those kernels now read their columns of the gradient where it lies, so the
// concatenation costs nothing backward either. A slice of a slice (Inception's nested
// concatenations) is read through both views at once.
import {elementwiseProgram, ElementwiseInput} from '../codegen/elementwise.js';
import {StridedView} from '../codegen/program.js';
import {stridesOf} from '../codegen/shader.js';
import type {Node, TensorData} from '../graph/graph.js';

import {FusionLimits, groupName, sameShape} from './elementwise_chains.js';
import {namesOf, PassResult, withoutNodes} from './rewrite.js';

/** Copies read through their views: `absorbed` counts them (each a dispatch saved). */
export function fuseSliceViews(nodes: Node[], needed: boolean[], limits: FusionLimits): PassResult {
  const out = [...nodes];
  const gone = new Set<Node>();
  let absorbed = 0;
  // Later copies first: once a slice of a slice is read through its view, the readers of the
  // first slice are elementwise kernels too.
  for (let i = out.length - 1; i >= 0; --i) {
    const copy = out[i];
    const view = copy.program.stridedView;
    if (!needed[i] || !view || copy.inputs.length !== 1 || copy.outputs.length !== 1) continue;
    const data = copy.outputs[0];
    // Negative strides (a reversal) would need signed indexing.
    if (data.kept || data.pendingReaders === 0 || view.strides.some(s => s < 0)) continue;
    // Every read of the copy must be by a kernel of this segment that can read through the view.
    const readers: number[] = [];
    let reads = 0;
    for (let j = i + 1; j < out.length; ++j) {
      const n = needed[j] && !gone.has(out[j]) ? out[j].inputs.filter(d => d === data).length : 0;
      if (n > 0) readers.push(j);
      reads += n;
    }
    if (reads !== data.pendingReaders) continue;
    const rewritten = readers.map(j => readThroughView(out[j], data, copy, view, limits));
    if (rewritten.some(r => r === null)) continue;
    readers.forEach((j, k) => {
      out[j] = rewritten[k]!;
      for (const o of out[j].outputs) o.producer = out[j];
    });
    // Bookkeeping: the slice is never stored; its source loses the copy's read and gains the readers'.
    const source = copy.inputs[0];
    source.pendingReaders += reads - 1;
    data.pendingReaders = 0;
    data.producer = null;
    gone.add(copy);
    absorbed++;
  }
  return withoutNodes(out, needed, gone, absorbed);
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

/**
 * A reader's view of a copy's output (`strides` per dimension of `outShape`, `offset`) as a view
 * of the copy's source: where each of the reader's dimensions steps within one dimension of the
 * copy's view and no coordinate it reaches carries into the next; null otherwise.
 */
export function composeViews(strides: number[], offset: number, outShape: number[], view: StridedView): {strides: number[]; offset: number}|null {
  const row = stridesOf(view.shape);
  // The view coordinates of `offset`, then the largest each dimension reaches.
  let rest = offset;
  const reach = row.map(r => {
    const c = Math.floor(rest / r);
    rest -= c * r;
    return c;
  });
  const sourceOffset = view.offset + reach.reduce((a, c, j) => a + c * view.strides[j], 0);
  const out = outShape.map((n, d) => {
    const s = strides[d];
    if (n === 1 || s === 0) return 0;
    const j = row.findIndex(r => r <= s);
    if (j < 0 || s % row[j] !== 0) return NaN;
    reach[j] += (s / row[j]) * (n - 1);
    return (s / row[j]) * view.strides[j];
  });
  if (out.some(Number.isNaN) || reach.some((c, j) => c >= view.shape[j])) return null;
  return {strides: out, offset: sourceOffset};
}

/**
 * `reader` with its reads of `data` (the output of `copy`) made through `view` of the copy's
 * source; changes nothing in the graph.
 */
function readThroughView(reader: Node, data: TensorData, copy: Node, view: StridedView, limits: FusionLimits): Node|null {
  const desc = reader.program.elementwise;
  if (!desc || desc.inputs.length + reader.outputs.length > limits.maxBuffers) return null;
  const source = copy.inputs[0];
  const inputs: ElementwiseInput[] = [];
  for (let k = 0; k < desc.inputs.length; ++k) {
    const inp = desc.inputs[k];
    if (reader.inputs[k] !== data) {
      inputs.push(inp);
      continue;
    }
    let through: {strides: number[]; offset: number}|null = null;
    if (inp.view) {
      through = composeViews(inp.view.strides, inp.view.offset, desc.outShape, view);
    } else if (sameShape(inp.shape, desc.outShape)) {
      const strides = stridesOver(view, desc.outShape);
      through = strides && {strides, offset: view.offset};
    }
    if (!through) return null;
    inputs.push({shape: source.shape, type: inp.type, view: through});
  }
  const names = [...namesOf(copy), ...namesOf(reader)];
  return {
    program: elementwiseProgram(groupName(names), desc.expr, inputs, desc.outShape, desc.outType, desc.uniforms, desc.extraOutputs),
    inputs: reader.inputs.map(d => (d === data ? source : d)),
    outputs: reader.outputs,
    fusedFrom: (copy.fusedFrom ?? 1) + (reader.fusedFrom ?? 1),
    fusedNames: names,
  };
}
