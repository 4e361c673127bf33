// Reverse: a strided copy with negated strides on the reversed axes.
import {KernelConfig, Reverse, ReverseAttrs, TensorInfo, util} from '@tensorflow/tfjs-core';

import {stridesOf} from '../src/codegen/shader.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {stridedCopy} from './Slice.js';

export const reverseConfig: KernelConfig = {
  kernelName: Reverse,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x} = inputs as {x: TensorInfo};
    const {dims} = attrs as unknown as ReverseAttrs;
    const axes = x.shape.length === 0 ? [] : util.parseAxisParam(dims, x.shape);
    const strides = stridesOf(x.shape);
    let offset = 0;
    // An axis named twice is reversed twice, as on the CPU backend.
    for (const d of axes) {
      offset += (x.shape[d] - 1) * strides[d];
      strides[d] = -strides[d];
    }
    return stridedCopy(b, Reverse, x, x.shape, offset, strides);
  },
};
