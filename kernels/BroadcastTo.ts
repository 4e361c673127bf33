// BroadcastTo (numpy rules): a strided copy with stride 0 on the broadcast axes. tfjs-core's
// broadcastTo op uses Tile; this kernel serves direct runKernel calls and graph models.
import {BroadcastTo, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {stridesOf} from '../src/codegen/shader.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {stridedCopy} from './Slice.js';

export const broadcastToConfig: KernelConfig = {
  kernelName: BroadcastTo,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x} = inputs as {x: TensorInfo};
    const {shape} = attrs as unknown as {shape: number[]};
    const lead = shape.length - x.shape.length;
    const ok = lead >= 0 && shape.every(n => Number.isInteger(n) && n >= 0) &&
      x.shape.every((n, i) => n === shape[lead + i] || n === 1);
    if (!ok) {
      throw new Error(`BroadcastTo: input 'x' of shape [${x.shape}] (dtype ${x.dtype}) cannot be broadcast to [${shape}]`);
    }
    const xStrides = stridesOf(x.shape);
    const strides = shape.map((n, d) => {
      const i = d - lead;
      return i < 0 || x.shape[i] !== n ? 0 : xStrides[i];
    });
    return stridedCopy(b, BroadcastTo, x, shape.slice(), 0, strides);
  },
};
