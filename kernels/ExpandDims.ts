// ExpandDims: tfjs-core 4.22's expandDims op runs this kernel; a view with a unit axis inserted.
import {ExpandDims, ExpandDimsAttrs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {mpsgpuBackend, reshapeView} from '../src/kernel_util.js';

export const expandDimsConfig: KernelConfig = {
  kernelName: ExpandDims,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const {input} = inputs as {input: TensorInfo};
    const {dim} = attrs as unknown as ExpandDimsAttrs;
    const rank = input.shape.length;
    const axis = dim < 0 ? rank + 1 + dim : dim;
    if (!(Number.isInteger(axis) && axis >= 0 && axis <= rank)) {
      throw new Error(`ExpandDims: Axis must be in the interval [${-(rank + 1)}, ${rank}], got ${dim} ` +
        `for input 'input' of shape [${input.shape}] (dtype ${input.dtype})`);
    }
    const shape = input.shape.slice();
    shape.splice(axis, 0, 1);
    return reshapeView(mpsgpuBackend(backend), input, shape);
  },
};
