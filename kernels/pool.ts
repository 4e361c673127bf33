// MaxPool, AvgPool and MaxPoolWithArgmax (NHWC), with tfjs-backend-cpu's window rules: a max ignores
// NaN and keeps the first maximum in window order; an average divides by the in-bounds pixels only.
import {AvgPool, AvgPoolAttrs, backend_util, KernelConfig, MaxPool, MaxPoolAttrs, MaxPoolWithArgmax, MaxPoolWithArgmaxAttrs,
        TensorInfo, util} from '@tensorflow/tfjs-core';

import {mpsgpuBackend, reshapeView} from '../src/kernel_util.js';

import {assertOutShape, assertPositive, assertRank4, Conv2DInfo, poolProgram, Shape4} from './conv_common.js';

type PoolGeometry = Pick<MaxPoolAttrs, 'filterSize'|'strides'|'pad'> & {dimRoundingMode?: 'floor'|'round'|'ceil'};

export function poolInfo(kernel: string, x: TensorInfo, attrs: PoolGeometry, allowInt: boolean, xName = 'x'): Conv2DInfo {
  assertRank4(kernel, xName, x);
  if (x.dtype !== 'float32' && !(allowInt && x.dtype === 'int32')) {
    throw new Error(`${kernel}: input '${xName}' must be float32${allowInt ? ' or int32' : ''}, got shape [${x.shape}] (dtype ${x.dtype})`);
  }
  assertPositive(kernel, 'filterSize', attrs.filterSize);
  assertPositive(kernel, 'strides', attrs.strides);
  const info = backend_util.computePool2DInfo(x.shape as Shape4, attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  assertOutShape(kernel, info);
  return info;
}

function isIdentity(info: Conv2DInfo): boolean {
  return info.filterHeight === 1 && info.filterWidth === 1 && util.arraysEqual(info.inShape, info.outShape);
}

export const maxPoolConfig: KernelConfig = {
  kernelName: MaxPool,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x} = inputs as {x: TensorInfo};
    const info = poolInfo(MaxPool, x, attrs as unknown as MaxPoolAttrs, true);
    if (isIdentity(info)) return reshapeView(b, x, x.shape);
    return b.runProgram(poolProgram(MaxPool, info, 'max', x.dtype === 'int32'), [x], info.outShape, x.dtype);
  },
};

export const avgPoolConfig: KernelConfig = {
  kernelName: AvgPool,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x} = inputs as {x: TensorInfo};
    const info = poolInfo(AvgPool, x, attrs as unknown as AvgPoolAttrs, false);
    if (isIdentity(info)) return reshapeView(b, x, x.shape);
    return b.runProgram(poolProgram(AvgPool, info, 'avg', false), [x], info.outShape, 'float32');
  },
};

export const maxPoolWithArgmaxConfig: KernelConfig = {
  kernelName: MaxPoolWithArgmax,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x} = inputs as {x: TensorInfo};
    const a = attrs as unknown as MaxPoolWithArgmaxAttrs;
    const info = poolInfo(MaxPoolWithArgmax, x, {filterSize: a.filterSize, strides: a.strides, pad: a.pad}, true);
    return b.runProgramMulti(poolProgram(MaxPoolWithArgmax, info, 'argmax', x.dtype === 'int32', !!a.includeBatchInIndex), [x],
                             [{shape: info.outShape, dtype: x.dtype}, {shape: info.outShape, dtype: 'int32'}]);
  },
};
