// Slice, and the strided copy most data-movement kernels reduce to: out[c] = x[offset + Σ c_d·s_d]
// over the output coordinates c (Slice, StridedSlice, Transpose, Reverse, BroadcastTo, Unpack,
// SplitV). Values are copied as 32-bit words, so one shader serves float32, int32 and bool.
import {KernelConfig, Slice, slice_util, SliceAttrs, TensorInfo, TypedArray, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {Program} from '../src/codegen/program.js';
import {arrayUniforms, cacheSet, shapeKey, stridesOf} from '../src/codegen/shader.js';
import {wordCopyProgram} from '../src/codegen/word_copy.js';
import {mpsgpuBackend, reshapeView} from '../src/kernel_util.js';

import {mapComplex} from './Complex.js';

/**
 * String tensors never go to the GPU: their values live on the CPU, so data movement on them is
 * done there. `source(i)` is the flat input index of output element i.
 */
export function gatherStrings(b: MpsgpuBackend, x: TensorInfo, outShape: number[], source: (i: number) => number): TensorInfo {
  const values = b.readSync(x.dataId) as unknown as Uint8Array[];
  const size = util.sizeFromShape(outShape);
  const out = new Array<Uint8Array>(size);
  for (let i = 0; i < size; ++i) out[i] = values[source(i)];
  return b.makeTensorInfo(outShape, 'string', out as unknown as Uint8Array);
}

/** The flat index of each output element under the strided map, for the CPU path. */
function stridedSource(outShape: number[], offset: number, strides: number[]): (i: number) => number {
  const outStrides = stridesOf(outShape);
  return (i: number) => {
    let src = offset;
    for (let d = 0; d < outShape.length; ++d) {
      const c = Math.floor(i / outStrides[d]);
      i -= c * outStrides[d];
      src += c * strides[d];
    }
    return src;
  };
}

/** Drops size-1 dimensions and merges dimensions that are contiguous in the input. */
function simplify(shape: number[], strides: number[]): {shape: number[]; strides: number[]} {
  const dims: Array<{n: number; s: number}> = [];
  shape.forEach((n, d) => {
    if (n === 1) return;
    const last = dims[dims.length - 1];
    if (last && last.s === strides[d] * n) {
      last.n *= n;
      last.s = strides[d];
    } else {
      dims.push({n, s: strides[d]});
    }
  });
  return {shape: dims.map(d => d.n), strides: dims.map(d => d.s)};
}

function stridedCopyProgram(name: string, shape: number[], offset: number, strides: number[]): Program {
  const terms = ['u.offset', ...strides.map((_, d) => `i32(c${d}) * u.inStride${d}`)];
  return wordCopyProgram({
    name, key: 'stridedCopy', outShape: shape,
    uniforms: [{name: 'offset', type: 'i32', value: offset}, ...arrayUniforms('inStride', strides, 'i32')],
    source: `u32(${terms.join(' + ')})`,
  });
}

/** A strided copy's program, and whether its simplified map is dense (no dimension, or one of stride 1). */
interface StridedCopy {
  program: Program;
  dense: boolean;
}

/** StridedCopies by name, shape, offset and strides (bounded: cleared past 1024). */
const stridedCopies = new Map<string, StridedCopy>();

function stridedCopyOf(name: string, shape: number[], offset: number, strides: number[]): StridedCopy {
  const key = name + '|' + shapeKey(shape) + '|' + offset + '|' + shapeKey(strides);
  let copy = stridedCopies.get(key);
  if (copy === undefined) {
    const simple = simplify(shape, strides);
    const program = stridedCopyProgram(name, simple.shape, offset, simple.strides);
    copy = cacheSet(stridedCopies, key, {
      program: {...program, stridedView: {shape: simple.shape, strides: simple.strides, offset}},
      dense: simple.shape.length === 0 || (simple.shape.length === 1 && simple.strides[0] === 1),
    });
  }
  return copy;
}

/**
 * A new tensor of `shape` (viewed as `resultShape`, of the same size) with element c taken from
 * x's flat index offset + Σ c_d·strides[d]. Every such index must lie inside x. Returns a view
 * of x when the map is the identity.
 */
export function stridedCopy(b: MpsgpuBackend, name: string, x: TensorInfo, shape: number[], offset: number,
                            strides: number[], resultShape: number[] = shape): TensorInfo {
  if (x.dtype === 'complex64') {
    return mapComplex(b, x, part => stridedCopy(b, name, part, shape, offset, strides, resultShape));
  }
  const size = util.sizeFromShape(shape);
  if (size === 0) return b.makeTensorInfo(resultShape, x.dtype, x.dtype === 'string' ? [] : undefined);
  if (x.dtype === 'string') return gatherStrings(b, x, resultShape, stridedSource(shape, offset, strides));
  const copy = stridedCopyOf(name, shape, offset, strides);
  const identity = offset === 0 && copy.dense && size === util.sizeFromShape(x.shape);
  if (identity) return reshapeView(b, x, resultShape);
  const out = b.runProgram(copy.program, [x], resultShape, x.dtype);
  b.knowValues(out, x, xValues => {
    const source = stridedSource(shape, offset, strides);
    const values = util.getTypedArrayFromDType(x.dtype as 'float32', size);
    for (let i = 0; i < size; ++i) values[i] = (xValues as TypedArray)[source(i)];
    return values;
  });
  return out;
}

/** x[begin : begin + size] (begin and size already checked). */
export function sliceTensor(b: MpsgpuBackend, x: TensorInfo, begin: number[], size: number[], name = Slice): TensorInfo {
  const xStrides = stridesOf(x.shape);
  const offset = begin.reduce((acc, v, d) => acc + v * xStrides[d], 0);
  return stridedCopy(b, name, x, size, offset, xStrides);
}

export const sliceConfig: KernelConfig = {
  kernelName: Slice,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x} = inputs as {x: TensorInfo};
    const {begin, size} = attrs as unknown as SliceAttrs;
    const [$begin, $size] = slice_util.parseSliceParams(x, begin, size);
    slice_util.assertParamsValid(x, $begin, $size);
    return sliceTensor(b, x, $begin, $size);
  },
};
