// SparseFillEmptyRows and SparseReshape: sparse tensors whose output sizes depend on the indices.
// The inputs are read on the CPU and tfjs-backend-cpu's shared implementations compute the
// outputs (and throw its errors); the outputs are uploaded when a GPU kernel first reads them.
// (SparseSegmentSum/Mean and SparseToDense run on the GPU: kernels/SparseSegment.ts, ScatterNd.ts.)
import {KernelConfig, SparseFillEmptyRows, SparseReshape, TensorInfo} from '@tensorflow/tfjs-core';
import {cpuShared} from '../src/cpu_shared.js';

const {sparseFillEmptyRowsImpl, sparseReshapeImpl} = cpuShared;

import {mpsgpuBackend} from '../src/kernel_util.js';

import {readNumbers} from './cpu_common.js';

export const sparseFillEmptyRowsConfig: KernelConfig = {
  kernelName: SparseFillEmptyRows,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend}) => {
    const b = mpsgpuBackend(backend);
    const {indices, values, denseShape, defaultValue} =
        inputs as {indices: TensorInfo; values: TensorInfo; denseShape: TensorInfo; defaultValue: TensorInfo};
    // tfjs-backend-cpu's checks and messages.
    if (denseShape.shape.length !== 1) {
      throw new Error(`Dense shape must be a vector, saw:
        ${denseShape.shape}`);
    }
    if (indices.shape.length !== 2) {
      throw new Error(`Indices must be a matrix, saw:
        ${indices.shape}`);
    }
    if (values.shape.length !== 1) {
      throw new Error(`Values must be a vector, saw:
        ${values.shape}`);
    }
    if (defaultValue.shape.length !== 0) {
      throw new Error(`Default value must be a scalar, saw:
        ${defaultValue.shape}`);
    }
    const [outputIndices, outputIndicesShape, outputValues, emptyRowIndicator, reverseIndexMap] =
        sparseFillEmptyRowsImpl(readNumbers(b, indices), indices.shape, indices.dtype, readNumbers(b, values), values.dtype,
                                readNumbers(b, denseShape), readNumbers(b, defaultValue)[0]);
    return [
      b.makeTensorInfo(outputIndicesShape, indices.dtype, outputIndices),
      b.makeTensorInfo([outputIndicesShape[0]], values.dtype, outputValues),
      b.makeTensorInfo([emptyRowIndicator.length], 'bool', new Uint8Array(emptyRowIndicator.map(v => Number(v)))),
      b.makeTensorInfo([reverseIndexMap.length], indices.dtype, new Int32Array(reverseIndexMap)),
    ];
  },
};

export const sparseReshapeConfig: KernelConfig = {
  kernelName: SparseReshape,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend}) => {
    const b = mpsgpuBackend(backend);
    const {inputIndices, inputShape, newShape} = inputs as {inputIndices: TensorInfo; inputShape: TensorInfo; newShape: TensorInfo};
    if (inputIndices.shape.length !== 2) {
      throw new Error(`Input indices should be a matrix but received shape
        ${inputIndices.shape}`);
    }
    if (inputShape.shape.length !== 1) {
      throw new Error(`Input shape should be a vector but received shape
        ${inputShape.shape}`);
    }
    if (newShape.shape.length !== 1) {
      throw new Error(`Target shape should be a vector but received shape ${newShape.shape}`);
    }
    const $inputShape = Array.from(readNumbers(b, inputShape));
    const targetShape = Array.from(readNumbers(b, newShape));
    const [newIndices, indicesShape, outputShape] =
        sparseReshapeImpl(readNumbers(b, inputIndices), inputIndices.shape, inputIndices.dtype, $inputShape, targetShape);
    return [
      b.makeTensorInfo(indicesShape, inputIndices.dtype, newIndices),
      b.makeTensorInfo([outputShape.length], newShape.dtype, new Int32Array(outputShape)),
    ];
  },
};
