// SparseSegmentSum and SparseSegmentMean: out[s] = sum (or mean) of data[indices[i]] over the i with
// segmentIds[i] == s. The indices and ids are read on the CPU and checked in tfjs-backend-cpu's
// order with its messages; they give the segment lists directly, and the GPU sums the rows.
import {backend_util, KernelConfig, SparseSegmentMean, SparseSegmentSum, TensorInfo, TypedArray, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {mpsgpuBackend, reshapeView} from '../src/kernel_util.js';

import {check, readInts} from './array_common.js';
import {segmentReduce} from './UnsortedSegmentSum.js';

/** The CPU backend's walk over sorted segment ids: its checks, and the segment lists. */
function segmentLists(indices: TypedArray, segmentIds: TypedArray, inputRows: number) {
  const n = indices.length;
  const outputRows = n > 0 ? segmentIds[n - 1] + 1 : 0;
  if (outputRows < 0) throw new Error(backend_util.getSparseSegmentReductionNegativeSegmentIdsErrorMessage());
  const counts = new Int32Array(Math.max(outputRows, 0));
  const perm: number[] = [];
  if (n > 0) {
    if (outputRows <= 0) throw new Error(backend_util.getSparseSegmentReductionNegativeSegmentIdsErrorMessage());
    let start = 0, end = 1;
    let outIndex = segmentIds[0];
    for (;;) {
      let nextIndex = 0;
      if (end < n) {
        nextIndex = segmentIds[end];
        if (outIndex === nextIndex) {
          ++end;
          continue;
        }
        if (outIndex >= nextIndex) throw new Error(backend_util.getSparseSegmentReductionNonIncreasingSegmentIdsErrorMessage());
      }
      if (outIndex < 0 || outIndex >= outputRows) {
        throw new Error(backend_util.getSparseSegmentReductionSegmentIdOutOfRangeErrorMessage(outIndex, outputRows));
      }
      for (let i = start; i < end; ++i) {
        const index = indices[i];
        if (index < 0 || index >= inputRows) {
          throw new Error(backend_util.getSparseSegmentReductionIndicesOutOfRangeErrorMessage(i, indices[i], inputRows));
        }
        perm.push(index);
      }
      counts[outIndex] = end - start;
      start = end;
      ++end;
      outIndex = nextIndex;
      if (end > n) break;
    }
  }
  const ends = new Int32Array(counts.length);
  counts.reduce((acc, c, s) => (ends[s] = acc + c), 0);
  return {outputRows, ends, perm: Int32Array.from(perm)};
}

function sparseSegment(kernel: string, b: MpsgpuBackend, data: TensorInfo, indices: TensorInfo, segmentIds: TensorInfo,
                       mean: boolean): TensorInfo {
  check(data.shape.length >= 1, () => `${kernel}: Data should be at least 1 dimensional but received scalar`);
  check(indices.shape.length === 1, () => `${kernel}: Indices should be a vector but received shape [${indices.shape}]`);
  check(segmentIds.shape.length === 1, () => `${kernel}: Segment ids should be a vector but received shape [${segmentIds.shape}]`);
  check(indices.shape[0] === segmentIds.shape[0], () => `${kernel}: segmentIds and indices should have same size.`);
  check(data.dtype === 'float32' || data.dtype === 'int32',
        () => `${kernel}: input 'data' has dtype ${data.dtype} (shape [${data.shape}]); it takes float32 or int32`);
  const {outputRows, ends, perm} = segmentLists(readInts(b, indices), readInts(b, segmentIds), data.shape[0]);
  const outShape = [outputRows, ...data.shape.slice(1)];
  const inner = util.sizeFromShape(data.shape.slice(1));
  const endsT = b.makeTensorInfo([ends.length], 'int32', ends);
  const permT = b.makeTensorInfo([perm.length], 'int32', perm);
  const flat = segmentReduce(b, {name: kernel, values: data, ids: permT, numSegments: outputRows, inner, dtype: data.dtype,
                                 mode: mean ? 'mean' : 'sum', csr: {ends: endsT, perm: permT}});
  b.disposeIntermediateTensorInfo(endsT);
  b.disposeIntermediateTensorInfo(permT);
  const out = reshapeView(b, flat, outShape);
  b.disposeIntermediateTensorInfo(flat);
  return out;
}

function sparseSegmentConfig(kernelName: string, mean: boolean): KernelConfig {
  return {
    kernelName,
    backendName: 'mpsgpu',
    kernelFunc: ({inputs, backend}) => {
      const {data, indices, segmentIds} = inputs as {data: TensorInfo; indices: TensorInfo; segmentIds: TensorInfo};
      return sparseSegment(kernelName, mpsgpuBackend(backend), data, indices, segmentIds, mean);
    },
  };
}

export const sparseSegmentSumConfig = sparseSegmentConfig(SparseSegmentSum, false);
export const sparseSegmentMeanConfig = sparseSegmentConfig(SparseSegmentMean, true);
