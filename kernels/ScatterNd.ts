// ScatterNd (duplicates summed into zeros), TensorScatterUpdate (the last update of a slice wins
// over the tensor's value) and SparseToDense (the last value wins over the default value). The indices are read on the CPU and checked first, as
// tfjs-backend-cpu does (an index outside the output throws before anything is recorded); each
// update's slice number is then a segment id for the segment reduction.
import {backend_util, DataType, KernelConfig, ScatterNd, ScatterNdAttrs, SparseToDense, SparseToDenseAttrs, Tensor, TensorInfo, TensorScatterUpdate,
        util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {wgslType} from '../src/codegen/shader.js';
import {input, mpsgpuBackend, reshapeView, runElementwise} from '../src/kernel_util.js';

import {check, readInts} from './array_common.js';
import {segmentReduce} from './UnsortedSegmentSum.js';

function checkInputs(kernel: string, indices: TensorInfo, updates: TensorInfo, shape: number[]) {
  check(indices.dtype === 'int32',
        () => `${kernel}: input 'indices' must be int32, got dtype ${indices.dtype} (shape [${indices.shape}])`);
  check(updates.dtype !== 'string' && updates.dtype !== 'complex64',
        () => `${kernel}: input 'updates' has dtype ${updates.dtype} (shape [${updates.shape}]); it takes float32, int32 or bool`);
  check(shape.every(d => Number.isInteger(d) && d >= 0), () => `${kernel}: the output shape [${shape}] must be non-negative integers`);
  // tfjs-core's op checks the shapes; this also covers a direct kernel call.
  const withRank = (t: TensorInfo) => ({...t, rank: t.shape.length}) as unknown as Tensor;
  backend_util.validateInput(withRank(updates), withRank(indices), shape);
}

/** Each update's slice number (row of the output seen as [slices, sliceSize]), checked. */
function sliceIds(kernel: string, b: MpsgpuBackend, indices: TensorInfo, updates: TensorInfo, shape: number[]) {
  const {sliceRank, numUpdates, sliceSize, strides, outputSize} = backend_util.calculateShapes(updates, indices, shape);
  const numSlices = sliceSize === 0 ? 0 : outputSize / sliceSize;
  const values = readInts(b, indices);
  const ids = new Int32Array(numUpdates);
  for (let i = 0; i < numUpdates; ++i) {
    let flat = 0;
    for (let j = 0; j < sliceRank; ++j) flat += values[i * sliceRank + j] * strides[j];
    if (outputSize > 0 && (flat < 0 || flat >= numSlices)) {
      const index = Array.from(values.subarray(i * sliceRank, (i + 1) * sliceRank));
      throw new Error(`${kernel}: invalid indices: [${index}] (update ${i}) does not index into [${shape}]`);
    }
    ids[i] = flat;
  }
  return {ids: b.makeTensorInfo([numUpdates], 'int32', ids), numSlices, sliceSize, outputSize, numUpdates};
}

function scatter(kernel: string, b: MpsgpuBackend, indices: TensorInfo, updates: TensorInfo, shape: number[],
                 dtype: DataType, tensor: TensorInfo|null): TensorInfo {
  const {ids, numSlices, sliceSize, numUpdates} = sliceIds(kernel, b, indices, updates, shape);
  const base = tensor === null ? undefined : reshapeView(b, tensor, [numSlices * sliceSize]);
  if (updates.shape.length === 0) {
    // A scalar update (SparseToDense) goes to every slice element, as on tfjs-backend-cpu.
    const broadcast = runElementwise(b, kernel, input(0, wgslType(updates.dtype)), [updates], updates.dtype, [numUpdates * sliceSize]);
    const out = scatter(kernel, b, indices, broadcast, shape, dtype, tensor);
    b.disposeIntermediateTensorInfo(broadcast);
    [ids, ...(base ? [base] : [])].forEach(t => b.disposeIntermediateTensorInfo(t));
    return out;
  }
  const flat = segmentReduce(b, {name: kernel, values: updates, ids, numSegments: numSlices, inner: sliceSize, dtype,
                                 mode: tensor === null ? 'sum' : 'last', base});
  b.disposeIntermediateTensorInfo(ids);
  if (base) b.disposeIntermediateTensorInfo(base);
  const out = reshapeView(b, flat, shape);
  b.disposeIntermediateTensorInfo(flat);
  return out;
}

export const scatterNdConfig: KernelConfig = {
  kernelName: ScatterNd,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {indices, updates} = inputs as {indices: TensorInfo; updates: TensorInfo};
    const {shape} = attrs as unknown as ScatterNdAttrs;
    checkInputs(ScatterNd, indices, updates, shape);
    if (util.sizeFromShape(shape) === 0) return b.makeTensorInfo(shape, updates.dtype);
    return scatter(ScatterNd, b, indices, updates, shape, updates.dtype, null);
  },
};

export const tensorScatterUpdateConfig: KernelConfig = {
  kernelName: TensorScatterUpdate,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend}) => {
    const b = mpsgpuBackend(backend);
    const {tensor, indices, updates} = inputs as {tensor: TensorInfo; indices: TensorInfo; updates: TensorInfo};
    checkInputs(TensorScatterUpdate, indices, updates, tensor.shape);
    check(tensor.dtype === updates.dtype,
          () => `TensorScatterUpdate: input 'tensor' (dtype ${tensor.dtype}, shape [${tensor.shape}]) and 'updates' ` +
            `(dtype ${updates.dtype}, shape [${updates.shape}]) must have one dtype`);
    if (util.sizeFromShape(tensor.shape) === 0) return b.makeTensorInfo(tensor.shape, tensor.dtype);
    return scatter(TensorScatterUpdate, b, indices, updates, tensor.shape, tensor.dtype, tensor);
  },
};

export const sparseToDenseConfig: KernelConfig = {
  kernelName: SparseToDense,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {sparseIndices, sparseValues, defaultValue} =
      inputs as {sparseIndices: TensorInfo; sparseValues: TensorInfo; defaultValue: TensorInfo};
    const {outputShape} = attrs as unknown as SparseToDenseAttrs;
    check(sparseIndices.dtype === 'int32',
          () => `SparseToDense: input 'sparseIndices' must be int32, got dtype ${sparseIndices.dtype} (shape [${sparseIndices.shape}])`);
    check(sparseValues.dtype === defaultValue.dtype && util.sizeFromShape(defaultValue.shape) === 1,
          () => `SparseToDense: 'defaultValue' (dtype ${defaultValue.dtype}, shape [${defaultValue.shape}]) must be a scalar of ` +
            `the dtype of 'sparseValues' (${sparseValues.dtype})`);
    check(sparseValues.dtype !== 'complex64', () => `SparseToDense: 'sparseValues' has dtype complex64`);
    if (sparseValues.dtype === 'string') return sparseToDenseStrings(b, sparseIndices, sparseValues, defaultValue, outputShape);
    if (util.sizeFromShape(outputShape) === 0) return b.makeTensorInfo(outputShape, sparseValues.dtype);
    // The default value broadcast to the output, then the values scattered over it.
    const base = runElementwise(b, SparseToDense, input(0, wgslType(defaultValue.dtype)), [defaultValue], defaultValue.dtype,
                                outputShape);
    const out = scatter(SparseToDense, b, sparseIndices, sparseValues, outputShape, sparseValues.dtype, base);
    b.disposeIntermediateTensorInfo(base);
    return out;
  },
};

/** String values live on the CPU: scattered there. */
function sparseToDenseStrings(b: MpsgpuBackend, indices: TensorInfo, values: TensorInfo, defaultValue: TensorInfo,
                              shape: number[]): TensorInfo {
  const {ids, sliceSize} = sliceIds(SparseToDense, b, indices, values, shape);
  const idValues = b.readSync(ids.dataId) as Int32Array;
  b.disposeIntermediateTensorInfo(ids);
  const vals = b.readSync(values.dataId) as unknown as Uint8Array[];
  const fillValue = (b.readSync(defaultValue.dataId) as unknown as Uint8Array[])[0];
  const out = new Array<Uint8Array>(util.sizeFromShape(shape)).fill(fillValue);
  idValues.forEach((slice, i) => {
    for (let k = 0; k < sliceSize; ++k) out[slice * sliceSize + k] = values.shape.length === 0 ? vals[0] : vals[i * sliceSize + k];
  });
  return b.makeTensorInfo(shape, 'string', out as unknown as Uint8Array);
}
