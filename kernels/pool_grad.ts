// MaxPoolGrad and AvgPoolGrad (NHWC). MaxPoolGrad routes dy to the first maximum of each window, as
// tfjs-backend-cpu does: one pass records each window's max position (an int32 tensor of dy's
// shape), a second gathers, for every dx element, the dy of the windows whose max it is. (A single
// gather pass finding each covering window's maximum again reads about ⌈f/s⌉²·f² inputs per dx
// element instead of f²/s² + 2⌈f/s⌉²; measured slower, see poolGradProgram.) Both passes take 4
// channels per invocation where C % 4 == 0, and several pixels of a row (kernels/pool_programs.ts).
// AvgPoolGrad divides by the whole filter size (padding included), as tfjs-backend-cpu does.
import {AvgPoolGrad, AvgPoolGradAttrs, backend_util, KernelConfig, MaxPoolGrad, MaxPoolGradAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {mpsgpuBackend} from '../src/kernel_util.js';

import {assertDyCovers, assertFloat, assertRank4, Conv2DInfo} from './conv_common.js';
import {poolInfo} from './pool.js';
import {poolEpilogueHook, poolForwardProgram, poolGradProgram} from './pool_programs.js';

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {dy, input} = inputs as {dy: TensorInfo, input: TensorInfo};
    const k = MaxPoolGrad;
    const info = poolInfo(k, input, attrs as unknown as MaxPoolGradAttrs, true, 'input');
    assertRank4(k, 'dy', dy);
    assertFloat(k, 'dy', dy);
    assertDyCovers(k, dy, info, info.inChannels);
    const positions = b.runProgram(poolForwardProgram(k, info, 'positions', input.dtype === 'int32'), [input], info.outShape, 'int32');
    const program = poolEpilogueHook(poolGradProgram(k, info, 'max', dy), info.inChannels, 3, e => poolGradProgram(k, info, 'max', dy, e));
    const dx = b.runProgram(program, [dy, positions], info.inShape, 'float32');
    b.disposeIntermediateTensorInfo(positions);
    return dx;
  },
};

export const avgPoolGradConfig: KernelConfig = {
  kernelName: AvgPoolGrad,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {dy, input} = inputs as {dy: TensorInfo, input: TensorInfo};
    const k = AvgPoolGrad;
    const a = attrs as unknown as AvgPoolGradAttrs;
    assertRank4(k, 'dy', dy);
    const info = avgPoolGradInfo(k, input, dy, a);
    assertFloat(k, 'dy', dy);
    assertDyCovers(k, dy, info, info.inChannels);
    const program = poolEpilogueHook(poolGradProgram(k, info, 'avg', dy), info.inChannels, 2, e => poolGradProgram(k, info, 'avg', dy, e));
    return b.runProgram(program, [dy], info.inShape, 'float32');
  },
};

/**
 * AvgPoolGrad's attributes carry no dimRoundingMode (tfjs-backend-cpu computes the geometry without
 * one): where that leaves a fractional output size, the forward op rounded it, and dy says how.
 */
function avgPoolGradInfo(k: string, input: TensorInfo, dy: TensorInfo, a: AvgPoolGradAttrs): Conv2DInfo {
  const rounding = (a as {dimRoundingMode?: 'floor'|'round'|'ceil'}).dimRoundingMode;
  if (rounding == null && input.shape.length === 4 && typeof a.pad === 'number') {
    const raw = backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad);
    const fits = (v: number, d: number) => d === Math.floor(v) || d === Math.ceil(v);
    if ((!Number.isInteger(raw.outHeight) || !Number.isInteger(raw.outWidth)) &&
        fits(raw.outHeight, dy.shape[1]) && fits(raw.outWidth, dy.shape[2])) {
      // A numeric pad is the same on every side whatever the rounding: only the output size changes.
      const info = poolInfo(k, input, {filterSize: a.filterSize, strides: a.strides, pad: a.pad, dimRoundingMode: 'floor'}, true, 'input');
      const [batch, h, w, c] = [info.batchSize, dy.shape[1], dy.shape[2], info.outChannels];
      return {...info, outHeight: h, outWidth: w, outShape: [batch, h, w, c]};
    }
  }
  return poolInfo(k, input, {filterSize: a.filterSize, strides: a.strides, pad: a.pad, dimRoundingMode: rounding}, true, 'input');
}
