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
import {Program} from '../src/codegen/program.js';
import {cacheSet, deviceRecords, tensorKey} from '../src/codegen/shader.js';
import {mpsgpuBackend, reshapeView} from '../src/kernel_util.js';

import {assertOutShape, assertPositive, assertRank4, attrKey, Conv2DInfo, Shape4} from './conv_common.js';
import {poolEpilogueHook, poolForwardProgram} from './pool_programs.js';
import {chunksFor, perInvocation, reduce, reduceGeometry, reduceProgram, ReduceStage, rowsGeometry} from './reduce.js';

export type PoolGeometry = Pick<MaxPoolAttrs, 'filterSize'|'strides'|'pad'> & {dimRoundingMode?: 'floor'|'round'|'ceil'};

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

// ---- record caches ------------------------------------------------------------------------------
// As the convolutions' (conv_common.ts): a training step records the same pooling on the same
// shapes every step, and the checked info and the program are pure functions of the kernel, its
// tensors' dtypes and shapes and its attributes. Small pools are bound by the JavaScript of each
// call on lavapipe: MaxPoolGrad [3,7,13,5] 3×3/2 spent ~35 µs of its ~175 µs record and flush per
// call building its two programs and their uniforms (node --cpu-prof), as much as the GPU work.

/**
 * How a pooling kernel records: its checked info and either a program, a view of x (a 1×1 window
 * of stride 1), or a reduction over H·W (globalAsReduction). `second`: MaxPoolGrad's gradient
 * program (`program` computes the positions it reads).
 */
export interface PoolRecord {
  info: Conv2DInfo;
  kind: 'program'|'identity'|'global';
  program: Program|null;
  second: Program|null;
}

/** PoolRecords by device, then by kernel, tensors and attributes (bounded with cacheSet). */
const poolRecords = new WeakMap<object, Map<string, PoolRecord>>();

/** The record `build` gives for `key` on `b`'s device; built (and checked) once per key. */
export function poolRecord(b: MpsgpuBackend, key: string, build: () => PoolRecord): PoolRecord {
  const records = deviceRecords(poolRecords, b.gpu);
  return records.get(key) ?? cacheSet(records, key, build());
}

/** A pooling kernel's geometry attributes as key text. */
export function poolAttrKey(a: PoolGeometry): string {
  return attrKey(a.filterSize) + '|' + attrKey(a.strides) + '|' + attrKey(a.pad) + '|' + attrKey(a.dimRoundingMode);
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

/** The record of MaxPool or AvgPool of `x` (checked on its first use). */
function forwardRecord(b: MpsgpuBackend, kernel: typeof MaxPool|typeof AvgPool, x: TensorInfo, a: PoolGeometry): PoolRecord {
  const mode = kernel === MaxPool ? 'max' : 'avg';
  return poolRecord(b, kernel + '|' + tensorKey(x) + '|' + poolAttrKey(a), () => {
    const info = poolInfo(kernel, x, a, mode === 'max');
    if (isIdentity(info)) return {info, kind: 'identity', program: null, second: null};
    if (globalAsReduction(info)) return {info, kind: 'global', program: null, second: null};
    const isInt = x.dtype === 'int32';
    const program = poolForwardProgram(kernel, info, mode, isInt);
    const fusable = isInt ? program : poolEpilogueHook(program, info.inChannels, 2, e => poolForwardProgram(kernel, info, mode, false, false, e));
    return {info, kind: 'program', program: fusable, second: null};
  });
}

function forwardPool(b: MpsgpuBackend, kernel: typeof MaxPool|typeof AvgPool, x: TensorInfo, a: PoolGeometry): TensorInfo {
  const r = forwardRecord(b, kernel, x, a);
  if (r.kind === 'identity') return reshapeView(b, x, x.shape);
  if (r.kind === 'global') return globalPool(b, x, kernel === MaxPool ? 'max' : 'avg');
  return b.runProgram(r.program!, [x], r.info.outShape, x.dtype);
}

export const maxPoolConfig: KernelConfig = {
  kernelName: MaxPool,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) =>
    forwardPool(mpsgpuBackend(backend), MaxPool, (inputs as {x: TensorInfo}).x, attrs as unknown as MaxPoolAttrs),
};

export const avgPoolConfig: KernelConfig = {
  kernelName: AvgPool,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) =>
    forwardPool(mpsgpuBackend(backend), AvgPool, (inputs as {x: TensorInfo}).x, attrs as unknown as AvgPoolAttrs),
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
