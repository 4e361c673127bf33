// Reshape and Identity: the same buffer seen with another shape; no GPU work.
import {Identity, KernelConfig, Reshape, ReshapeAttrs, TensorInfo, util} from '@tensorflow/tfjs-core';

import {mpsgpuBackend, reshapeView} from '../src/kernel_util.js';

export const reshapeConfig: KernelConfig = {
  kernelName: Reshape,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const {x} = inputs as {x: TensorInfo};
    const {shape} = attrs as unknown as ReshapeAttrs;
    const size = util.sizeFromShape(x.shape);
    const newShape = shape.includes(-1) ? util.inferFromImplicitShape(shape, size) : shape;
    util.assert(size === util.sizeFromShape(newShape),
      () => `Reshape: input 'x' of shape [${x.shape}] (size ${size}) cannot be reshaped to [${newShape}]; ` +
        `the new shape must have the same number of elements.`);
    return reshapeView(mpsgpuBackend(backend), x, newShape);
  },
};

export const identityConfig: KernelConfig = {
  kernelName: Identity,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend}) => {
    const {x} = inputs as {x: TensorInfo};
    return reshapeView(mpsgpuBackend(backend), x, x.shape);
  },
};
