// Concat: every input seen as 2-D [outer, inner_i] (outer = the product of the axes before `axis`),
// the output as [outer, Σ inner_i]. One dispatch takes at most 7 inputs (+ the output: the 8
// storage buffers every adapter allows); more inputs are concatenated as a tree of such dispatches.
import {backend_util, Concat, ConcatAttrs, KernelConfig, TensorInfo, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {Program} from '../src/codegen/program.js';
import {dispatch1D, ShaderSpec, Uniform} from '../src/codegen/shader.js';
import {mpsgpuBackend, reshapeView} from '../src/kernel_util.js';

import {complexParts, makeComplex} from './Complex.js';

const WORKGROUP = 64;
export const MAX_CONCAT_INPUTS = 7;

function concatProgram(outer: number, inners: number[]): Program {
  const total = inners.reduce((a, b) => a + b, 0);
  const size = outer * total;
  const uniforms: Uniform[] = [{name: 'size', type: 'u32', value: size}, {name: 'total', type: 'u32', value: total}];
  let end = 0;
  inners.forEach((inner, k) => {
    end += inner;
    uniforms.push({name: `inner${k}`, type: 'u32', value: inner}, {name: `end${k}`, type: 'u32', value: end});
  });
  const n = inners.length;
  const shader = (): ShaderSpec => {
    const lines: string[] = [];
    for (let k = 0; k < n; ++k) {
      const start = k === 0 ? '0u' : `u.end${k - 1}`;
      const read = `in${k}[row * u.inner${k} + col - ${start}]`;
      lines.push(k === n - 1 ? `out[i] = ${read};` : `if (col < u.end${k}) { out[i] = ${read}; return; }`);
    }
    return {
      inputs: inners.map((_, k) => ({name: `in${k}`, type: 'u32' as const})),
      outputs: [{name: 'out', type: 'u32'}],
      workgroupSize: [WORKGROUP, 1, 1],
      body: `
  let i = flatId;
  if (i >= u.size) { return; }
  let row = i / u.total;
  let col = i - row * u.total;
  ${lines.join('\n  ')}`,
    };
  };
  return {name: Concat, key: `concat|${n}`, shader, uniforms, dispatch: dispatch1D(size, WORKGROUP)};
}

/** Concatenation of non-empty 2-D [outer, inner_i] tensors along axis 1. */
function concat2D(b: MpsgpuBackend, inputs: TensorInfo[], outer: number, dtype: TensorInfo['dtype']): TensorInfo {
  let level = inputs;
  const intermediates: TensorInfo[] = [];
  while (level.length > 1) {
    const next: TensorInfo[] = [];
    for (let s = 0; s < level.length; s += MAX_CONCAT_INPUTS) {
      const group = level.slice(s, s + MAX_CONCAT_INPUTS);
      if (group.length === 1) {
        next.push(group[0]);
        continue;
      }
      const inners = group.map(t => t.shape[1]);
      const out = b.runProgram(concatProgram(outer, inners), group, [outer, inners.reduce((a, c) => a + c, 0)], dtype);
      intermediates.push(out);
      next.push(out);
    }
    level = next;
  }
  const result = level[0];
  for (const t of intermediates) if (t !== result) b.disposeIntermediateTensorInfo(t);
  return result;
}

export function concatTensors(b: MpsgpuBackend, inputs: TensorInfo[], axis: number): TensorInfo {
  if (inputs.length === 0) throw new Error('Concat: needs at least one input tensor');
  const $axis = util.parseAxisParam(axis, inputs[0].shape)[0];
  const dtype = inputs[0].dtype;
  inputs.forEach((t, i) => {
    if (t.dtype !== dtype) {
      throw new Error(`Concat: input ${i} has dtype ${t.dtype} (shape [${t.shape}]) but input 0 has dtype ${dtype}; ` +
        `all inputs must have one dtype`);
    }
  });
  backend_util.assertParamsConsistent(inputs.map(t => t.shape), $axis);
  const outShape = backend_util.computeOutShape(inputs.map(t => t.shape), $axis);
  const nonEmpty = inputs.filter(t => util.sizeFromShape(t.shape) > 0);
  if (dtype === 'complex64') {
    const parts = nonEmpty.map(t => complexParts(b, t));
    if (nonEmpty.length === 0) {
      return makeComplex(b, b.makeTensorInfo(outShape, 'float32'), b.makeTensorInfo(outShape, 'float32'));
    }
    return makeComplex(b, concatTensors(b, parts.map(p => p.real), $axis), concatTensors(b, parts.map(p => p.imag), $axis));
  }
  if (util.sizeFromShape(outShape) === 0) return b.makeTensorInfo(outShape, dtype, dtype === 'string' ? [] : undefined);
  if (nonEmpty.length === 1) return reshapeView(b, nonEmpty[0], outShape);
  const outer = util.sizeFromShape(outShape.slice(0, $axis));
  const inners = nonEmpty.map(t => util.sizeFromShape(t.shape.slice($axis)));
  if (dtype === 'string') {
    // Strings live on the CPU: row by row, each input's slice of the row in turn.
    const values = nonEmpty.map(t => b.readSync(t.dataId) as unknown as Uint8Array[]);
    const out: Uint8Array[] = [];
    for (let row = 0; row < outer; ++row) {
      values.forEach((v, k) => { for (let j = 0; j < inners[k]; ++j) out.push(v[row * inners[k] + j]); });
    }
    return b.makeTensorInfo(outShape, 'string', out as unknown as Uint8Array);
  }
  const views = nonEmpty.map((t, k) => reshapeView(b, t, [outer, inners[k]]));
  const result2D = concat2D(b, views, outer, dtype);
  views.forEach(v => b.disposeIntermediateTensorInfo(v));
  const result = reshapeView(b, result2D, outShape);
  b.disposeIntermediateTensorInfo(result2D);
  return result;
}

export const concatConfig: KernelConfig = {
  kernelName: Concat,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const {axis} = attrs as unknown as ConcatAttrs;
    return concatTensors(mpsgpuBackend(backend), inputs as unknown as TensorInfo[], axis);
  },
};
