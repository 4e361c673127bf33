// SplitV (tf.split): one slice per piece along the axis.
import {backend_util, KernelConfig, SplitV, SplitVAttrs, TensorInfo, util} from '@tensorflow/tfjs-core';

import {mpsgpuBackend} from '../src/kernel_util.js';

import {sliceTensor} from './Slice.js';

export const splitVConfig: KernelConfig = {
  kernelName: SplitV,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x} = inputs as {x: TensorInfo};
    const {numOrSizeSplits, axis} = attrs as unknown as SplitVAttrs;
    const $axis = util.parseAxisParam(axis, x.shape)[0];
    const sizes = backend_util.prepareSplitSize(x, Array.isArray(numOrSizeSplits) ? numOrSizeSplits.slice() : numOrSizeSplits, $axis);
    if (sizes.some(s => !(s >= 0))) {
      throw new Error(`SplitV: split sizes [${sizes}] of input 'x' (shape [${x.shape}]) must be non-negative`);
    }
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map(s => {
      const size = x.shape.slice();
      size[$axis] = s;
      const piece = sliceTensor(b, x, begin, size, SplitV);
      begin[$axis] += s;
      return piece;
    });
  },
};
