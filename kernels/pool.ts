// MaxPool, AvgPool and MaxPoolWithArgmax (NHWC), with tfjs-backend-cpu's window rules: a max ignores
// NaN and keeps the first maximum in window order; an average divides by the in-bounds pixels only.
// The programs are in pool_programs.ts. A window covering the whole image (global pooling) over
// a long row (GLOBAL_REDUCTION_MIN_PIXELS) with few outputs is a reduction over H·W instead: it
// splits each row over a workgroup (or two passes), where one pool invocation would loop over the
// whole image alone, GPU cores idle. With many outputs the reduction would run one invocation per
// output too, and the pool program's vec4 loads do that work in a quarter of the invocations
// (lavapipe: 2-4× faster than the reduction for [1,8,8,256], [4,17,17,24], [2,35,35,48], [16,7,7,8]).
import {AvgPool, AvgPoolAttrs, backend_util, KernelConfig, MaxPool, MaxPoolAttrs, MaxPoolWithArgmax, MaxPoolWithArgmaxAttrs,
        TensorInfo, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {mpsgpuBackend, reshapeView} from '../src/kernel_util.js';

import {assertOutShape, assertPositive, assertRank4, Conv2DInfo, Shape4} from './conv_common.js';
import {poolEpilogueHook, poolForwardProgram} from './pool_programs.js';
import {chunksFor, perInvocation, reduce, reduceGeometry, reduceProgram, ReduceStage, rowsGeometry} from './reduce.js';

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

/**
 * Shorter rows stay with the pool program: on lavapipe (a CPU, where parallelism matters little) it
 * beats the reduction's workgroup trees 2-3× even at 1225 pixels; on a GPU a vec4 loop of up to
 * 2048 loads per invocation is short. To be tuned on the GPU.
 */
const GLOBAL_REDUCTION_MIN_PIXELS = 2048;

/**
 * One window, covering every pixel of the image (the average then divides by H·W), over rows the
 * reduction would split over a workgroup (see reduce.ts's perInvocation).
 */
function globalAsReduction(info: Conv2DInfo): boolean {
  const pixels = info.inHeight * info.inWidth;
  const global = info.outHeight === 1 && info.outWidth === 1 && pixels >= GLOBAL_REDUCTION_MIN_PIXELS &&
    info.effectiveFilterHeight - info.padInfo.top >= info.inHeight && info.effectiveFilterWidth - info.padInfo.left >= info.inWidth;
  return global && !perInvocation(reduceGeometry(info.inShape, [1, 2]));
}

/**
 * Global pooling of x over H and W as a reduction, [N, 1, 1, C]. avg: Mean. max: int32 Max; float32
 * Max with NaN read as -inf, since a pooling max ignores NaN (all NaN: -inf) where Max returns it.
 */
function globalPool(b: MpsgpuBackend, x: TensorInfo, mode: 'max'|'avg'): TensorInfo {
  if (mode === 'avg') return reduce(b, x, [1, 2], 'Mean', true);
  if (x.dtype === 'int32') return reduce(b, x, [1, 2], 'Max', true);
  const outShape = [x.shape[0], 1, 1, x.shape[3]];
  const g = reduceGeometry(x.shape, [1, 2]);
  const stage = (load: string): ReduceStage => ({op: 'max', inType: 'f32', accType: 'f32', outType: 'f32', load, finish: '$v'});
  const first = stage('select($v, -infF32(), isNan($v))');
  const chunks = perInvocation(g) ? 1 : chunksFor(g.outSize, g.reduceSize);
  if (chunks === 1) return b.runProgram(reduceProgram(MaxPool, first, g), [x], outShape, 'float32');
  const partials = b.runProgram(reduceProgram(MaxPool, first, g, chunks), [x], [g.outSize, chunks], 'float32');
  const result = b.runProgram(reduceProgram(MaxPool, stage('$v'), rowsGeometry(g.outSize, chunks)), [partials], outShape, 'float32');
  b.disposeIntermediateTensorInfo(partials);
  return result;
}

export const maxPoolConfig: KernelConfig = {
  kernelName: MaxPool,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x} = inputs as {x: TensorInfo};
    const info = poolInfo(MaxPool, x, attrs as unknown as MaxPoolAttrs, true);
    if (isIdentity(info)) return reshapeView(b, x, x.shape);
    if (globalAsReduction(info)) return globalPool(b, x, 'max');
    const isInt = x.dtype === 'int32';
    const program = poolForwardProgram(MaxPool, info, 'max', isInt);
    const fusable = isInt ? program : poolEpilogueHook(program, info.inChannels, 2, e => poolForwardProgram(MaxPool, info, 'max', false, false, e));
    return b.runProgram(fusable, [x], info.outShape, x.dtype);
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
    if (globalAsReduction(info)) return globalPool(b, x, 'avg');
    const program = poolEpilogueHook(poolForwardProgram(AvgPool, info, 'avg', false), info.inChannels, 2,
                                     e => poolForwardProgram(AvgPool, info, 'avg', false, false, e));
    return b.runProgram(program, [x], info.outShape, 'float32');
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
    return b.runProgramMulti(poolForwardProgram(MaxPoolWithArgmax, info, 'argmax', x.dtype === 'int32', !!a.includeBatchInIndex), [x],
                             [{shape: info.outShape, dtype: x.dtype}, {shape: info.outShape, dtype: 'int32'}]);
  },
};
