// Concat: every input seen as 2-D [outer, inner_i] (outer = the product of the axes before `axis`),
// the output as [outer, Σ inner_i] (src/codegen/concat.ts). One dispatch takes at most 7 inputs
// (+ the output: the 8 storage buffers every adapter allows); more inputs fill the output's columns
// in several dispatches of one node.
import {backend_util, Concat, ConcatAttrs, KernelConfig, TensorInfo, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {concatProgram, concatVec4Able, copyBranch} from '../src/codegen/concat.js';
import {Program} from '../src/codegen/program.js';
import {cacheSet, shapeKey} from '../src/codegen/shader.js';
import {mpsgpuBackend, reshapeView} from '../src/kernel_util.js';

import {complexParts, makeComplex} from './Complex.js';

/** Inputs one dispatch reads: with the output, the 8 storage buffers every adapter allows. */
export const MAX_CONCAT_INPUTS = 7;

/** Concat programs by rows and column widths (bounded with cacheSet): a training step's recur. */
const concatPrograms = new Map<string, Program>();

/** The program concatenating [outer, inners[k]] along axis 1. */
function concatProgramOf(outer: number, inners: number[]): Program {
  const key = outer + '|' + shapeKey(inners);
  let program = concatPrograms.get(key);
  if (program === undefined) {
    const total = inners.reduce((a, c) => a + c, 0);
    // 32-bit words whatever the dtype: one shader serves float32, int32 and bool.
    let start = 0;
    const branches = inners.map(inner => copyBranch((start += inner) - inner, inner, [outer, inner], 'u32'));
    const vec = concatVec4Able(outer, total, inners) ? 4 : 1;
    program = cacheSet(concatPrograms, key, concatProgram(Concat, outer, total, branches, 'u32', vec, MAX_CONCAT_INPUTS));
  }
  return program;
}

/** Concatenation of non-empty 2-D [outer, inner_i] tensors along axis 1: one node. */
function concat2D(b: MpsgpuBackend, inputs: TensorInfo[], outer: number, dtype: TensorInfo['dtype']): TensorInfo {
  const inners = inputs.map(t => t.shape[1]);
  return b.runProgram(concatProgramOf(outer, inners), inputs, [outer, inners.reduce((a, c) => a + c, 0)], dtype);
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
