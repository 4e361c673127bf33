// Unpack (tf.unstack): one strided copy per index along the axis, that axis dropped.
import {KernelConfig, TensorInfo, Unpack, UnpackAttrs} from '@tensorflow/tfjs-core';

import {stridesOf} from '../src/codegen/shader.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {stridedCopy} from './Slice.js';

export const unpackConfig: KernelConfig = {
  kernelName: Unpack,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {value} = inputs as {value: TensorInfo};
    const rank = value.shape.length;
    let {axis} = attrs as unknown as UnpackAttrs;
    if (axis < 0) axis += rank;
    if (!(Number.isInteger(axis) && axis >= 0 && axis < rank)) {
      throw new Error(`Unpack: axis ${(attrs as unknown as UnpackAttrs).axis} is out of range for input 'value' ` +
        `of shape [${value.shape}] (dtype ${value.dtype})`);
    }
    const xStrides = stridesOf(value.shape);
    const outShape = value.shape.filter((_, d) => d !== axis);
    const strides = xStrides.filter((_, d) => d !== axis);
    return Array.from({length: value.shape[axis]}, (_, i) =>
      stridedCopy(b, Unpack, value, outShape, i * xStrides[axis], strides));
  },
};
