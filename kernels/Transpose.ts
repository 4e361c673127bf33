// Transpose: a strided copy whose input strides are x's strides permuted.
import {KernelConfig, TensorInfo, Transpose, TransposeAttrs} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {stridesOf} from '../src/codegen/shader.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {stridedCopy} from './Slice.js';

export function transposeTensor(b: MpsgpuBackend, x: TensorInfo, perm: number[]): TensorInfo {
  const rank = x.shape.length;
  const valid = perm.length === rank && perm.every(p => Number.isInteger(p) && p >= 0 && p < rank) &&
    new Set(perm).size === rank;
  if (!valid) {
    throw new Error(`Transpose: perm [${perm}] is not a permutation of the ${rank} axes of input 'x' ` +
      `(shape [${x.shape}], dtype ${x.dtype})`);
  }
  const xStrides = stridesOf(x.shape);
  return stridedCopy(b, Transpose, x, perm.map(p => x.shape[p]), 0, perm.map(p => xStrides[p]));
}

export const transposeConfig: KernelConfig = {
  kernelName: Transpose,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const {x} = inputs as {x: TensorInfo};
    const {perm} = attrs as unknown as TransposeAttrs;
    return transposeTensor(mpsgpuBackend(backend), x, perm);
  },
};
