// Bincount and DenseBincount: segment reductions whose segment ids are x's values (per row for a
// rank-2 DenseBincount). x is read on the CPU first: a negative value throws, as on
// tfjs-backend-cpu; values >= size are ignored. The result has the weights' dtype.
import {Bincount, BincountAttrs, DenseBincount, DenseBincountAttrs, KernelConfig, TensorInfo, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {mpsgpuBackend, reshapeView} from '../src/kernel_util.js';

import {check, readInts} from './array_common.js';
import {segmentReduce} from './UnsortedSegmentSum.js';

function checkInputs(kernel: string, x: TensorInfo, weights: TensorInfo, size: number) {
  check(x.dtype === 'int32', () => `${kernel}: input 'x' must be int32, got dtype ${x.dtype} (shape [${x.shape}])`);
  check(weights.dtype === 'float32' || weights.dtype === 'int32',
        () => `${kernel}: input 'weights' must be float32 or int32, got dtype ${weights.dtype} (shape [${weights.shape}])`);
  check(Number.isInteger(size) && size >= 0, () => `${kernel}: size must be a non-negative integer, got ${size}`);
  const wSize = util.sizeFromShape(weights.shape);
  check(wSize === 0 || wSize === util.sizeFromShape(x.shape),
        () => `${kernel}: weights must have the size of x or be empty, got x shape [${x.shape}] and weights shape [${weights.shape}]`);
}

/** Counts (or weight sums, or 0/1 with binaryOutput) of the values of x, per row when rows > 1. */
function bincount(kernel: string, b: MpsgpuBackend, x: TensorInfo, weights: TensorInfo, size: number, rows: number,
                  binaryOutput: boolean): TensorInfo {
  const values = readInts(b, x);
  const cols = values.length / Math.max(rows, 1);
  const ids = new Int32Array(values.length);
  for (let i = 0; i < values.length; ++i) {
    const v = values[i];
    if (v < 0) throw new Error(`${kernel}: input 'x' must be non-negative, got ${v} at flat index ${i} (shape [${x.shape}])`);
    ids[i] = v < size ? Math.floor(i / cols) * size + v : -1;
  }
  const idTensor = b.makeTensorInfo([values.length], 'int32', ids);
  const weighted = util.sizeFromShape(weights.shape) > 0;
  const out = segmentReduce(b, {name: kernel, values: weighted && !binaryOutput ? weights : null, ids: idTensor,
                                numSegments: rows * size, inner: 1, dtype: weights.dtype,
                                mode: binaryOutput ? 'any' : weighted ? 'sum' : 'count'});
  b.disposeIntermediateTensorInfo(idTensor);
  return out;
}

export const bincountConfig: KernelConfig = {
  kernelName: Bincount,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x, weights} = inputs as {x: TensorInfo; weights: TensorInfo};
    const {size} = attrs as unknown as BincountAttrs;
    checkInputs(Bincount, x, weights, size);
    return bincount(Bincount, b, x, weights, size, 1, false);
  },
};

export const denseBincountConfig: KernelConfig = {
  kernelName: DenseBincount,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x, weights} = inputs as {x: TensorInfo; weights: TensorInfo};
    const {size, binaryOutput} = attrs as unknown as DenseBincountAttrs;
    checkInputs(DenseBincount, x, weights, size);
    const rank = x.shape.length;
    check(rank === 1 || rank === 2, () => `DenseBincount: input 'x' must be rank 1 or 2, got shape [${x.shape}]`);
    // As tfjs-backend-cpu: binaryOutput applies to rank-2 input only.
    if (rank === 1) return bincount(DenseBincount, b, x, weights, size, 1, false);
    const flat = bincount(DenseBincount, b, x, weights, size, x.shape[0], !!binaryOutput);
    const out = reshapeView(b, flat, [x.shape[0], size]);
    b.disposeIntermediateTensorInfo(flat);
    return out;
  },
};
