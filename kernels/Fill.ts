// Fill, ZerosLike, OnesLike: constant tensors computed on the GPU (no upload); complex64 too.
import {Fill, FillAttrs, KernelConfig, OnesLike, TensorInfo, util, ZerosLike} from '@tensorflow/tfjs-core';

import {fill, mpsgpuBackend} from '../src/kernel_util.js';

import {makeComplex} from './Complex.js';

export const fillConfig: KernelConfig = {
  kernelName: Fill,
  backendName: 'mpsgpu',
  kernelFunc: ({backend, attrs}) => {
    const {shape, value, dtype} = attrs as unknown as FillAttrs;
    const b = mpsgpuBackend(backend);
    const dt = dtype ?? util.inferDtype(value);
    if (dt === 'string') {
      const values = util.getArrayFromDType(dt, util.sizeFromShape(shape)) as string[];
      values.fill(value as string);
      return b.makeTensorInfo(shape, dt, values as unknown as Uint8Array[]);
    }
    return fill(b, shape, value as number, dt);
  },
};

function constantLike(name: string, value: number): KernelConfig {
  return {
    kernelName: name,
    backendName: 'mpsgpu',
    kernelFunc: ({inputs, backend}) => {
      const {x} = inputs as {x: TensorInfo};
      if (x.dtype === 'string') {
        throw new Error(`${name}: mpsgpu does not take ${x.dtype} input 'x' (shape [${x.shape}])`);
      }
      const b = mpsgpuBackend(backend);
      if (x.dtype === 'complex64') {
        // As tfjs-backend-cpu: OnesLike is 1 + 0i.
        return makeComplex(b, fill(b, x.shape, value, 'float32'), fill(b, x.shape, 0, 'float32'));
      }
      return fill(b, x.shape, value, x.dtype);
    },
  };
}

export const zerosLikeConfig = constantLike(ZerosLike, 0);
export const onesLikeConfig = constantLike(OnesLike, 1);
