// MaxPoolGrad and AvgPoolGrad (NHWC). MaxPoolGrad routes dy to the first maximum of each window, as
// tfjs-backend-cpu does: one pass records each window's max position (an int32 tensor of dy's
// shape), a second gathers, for every dx element, the dy of the windows whose max it is. (A single
// gather pass finding each covering window's maximum again reads about ⌈f/s⌉²·f² inputs per dx
// element instead of f²/s² + 2⌈f/s⌉²; measured slower, see poolGradProgram, except on small
// inputs on a CPU adapter, where it saves a dispatch: INLINE_MAX_LOADS.) Both passes take 4
// channels per invocation where C % 4 == 0, and several pixels of a row (kernels/pool_programs.ts).
// AvgPoolGrad divides by the whole filter size (padding included), as tfjs-backend-cpu does.
import {AvgPoolGrad, AvgPoolGradAttrs, backend_util, KernelConfig, MaxPoolGrad, MaxPoolGradAttrs, TensorInfo, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {tensorKey} from '../src/codegen/shader.js';
import {isCpuAdapter} from '../src/device.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {assertDyCovers, assertFloat, assertRank4, Conv2DInfo} from './conv_common.js';
import {PoolGeometry, poolAttrKey, poolInfo, poolRecord} from './pool.js';
import {poolEpilogueHook, poolForwardProgram, poolGradProgram} from './pool_programs.js';

/**
 * Window loads (in elements × taps) up to which MaxPoolGrad runs as one dispatch ('maxInline') on
 * a CPU adapter. There a dispatch costs ~50-100 µs whatever its size (lavapipe wakes its thread
 * pool and waits for it), more than the small inputs' work: interleaved on lavapipe (2 cores,
 * loaded), one dispatch against two, time per call: [3,7,13,5] 3×3/2 (1365 elements × 36 loads)
 * 0.76-0.93×, [3,7,13,8] 3×3/2 0.66×, [2,12,12,8] 2×2/2 0.71×, [1,16,16,16] 3×3/2 0.74-0.93×;
 * but [3,15,15,5] 3×3/2 (121k) 1.08-1.22× and [2,14,14,16] 3×3/2 (226k) 1.09-1.18×.
 * GPUs keep the two passes (a dispatch costs them little; not measured there).
 */
const INLINE_MAX_LOADS = 98304;

/** Whether MaxPoolGrad finds the window maxima in its gradient pass (see INLINE_MAX_LOADS). */
function inlineMax(b: MpsgpuBackend, info: Conv2DInfo, input: TensorInfo): boolean {
  if (input.dtype !== 'float32' || !isCpuAdapter(b.gpu)) return false;
  // Per dx pixel: the windows covering it (about ⌈f/s⌉ per axis) × the taps of each.
  const perPixel = Math.ceil(info.filterHeight / info.strideHeight) * Math.ceil(info.filterWidth / info.strideWidth) *
    info.filterHeight * info.filterWidth;
  return util.sizeFromShape(info.inShape) * perPixel <= INLINE_MAX_LOADS;
}

// Both record through pool.ts's record cache: the checks and programs depend on the tensors'
// dtypes and shapes (dy's too: the gradient reads it with its own strides) and the attributes.

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {dy, input} = inputs as {dy: TensorInfo, input: TensorInfo};
    const k = MaxPoolGrad;
    const a = attrs as unknown as MaxPoolGradAttrs;
    const r = poolRecord(b, k + '|' + tensorKey(dy) + '|' + tensorKey(input) + '|' + poolAttrKey(a), () => {
      const info = poolInfo(k, input, a, true, 'input');
      assertRank4(k, 'dy', dy);
      assertFloat(k, 'dy', dy);
      assertDyCovers(k, dy, info, info.inChannels);
      if (inlineMax(b, info, input)) {
        const grad = poolEpilogueHook(poolGradProgram(k, info, 'maxInline', dy), info.inChannels, 3,
                                      e => poolGradProgram(k, info, 'maxInline', dy, e));
        return {info, kind: 'program', program: grad, second: null};
      }
      const positions = poolForwardProgram(k, info, 'positions', input.dtype === 'int32');
      const grad = poolEpilogueHook(poolGradProgram(k, info, 'max', dy), info.inChannels, 3, e => poolGradProgram(k, info, 'max', dy, e));
      return {info, kind: 'program', program: positions, second: grad};
    });
    if (r.second === null) return b.runProgram(r.program!, [dy, input], r.info.inShape, 'float32');
    const positions = b.runProgram(r.program!, [input], r.info.outShape, 'int32');
    const dx = b.runProgram(r.second!, [dy, positions], r.info.inShape, 'float32');
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
    // poolAttrKey reads a dimRoundingMode too where the attributes carry one (avgPoolGradInfo does).
    const key = k + '|' + tensorKey(dy) + '|' + tensorKey(input) + '|' + poolAttrKey(a as PoolGeometry);
    const r = poolRecord(b, key, () => {
      assertRank4(k, 'dy', dy);
      const info = avgPoolGradInfo(k, input, dy, a);
      assertFloat(k, 'dy', dy);
      assertDyCovers(k, dy, info, info.inChannels);
      const program = poolEpilogueHook(poolGradProgram(k, info, 'avg', dy), info.inChannels, 2, e => poolGradProgram(k, info, 'avg', dy, e));
      return {info, kind: 'program', program, second: null};
    });
    return b.runProgram(r.program!, [dy], r.info.inShape, 'float32');
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
