// The ragged kernels: RaggedGather, RaggedRange and RaggedTensorToTensor. Their output sizes
// depend on the row splits, so the inputs are read on the CPU and tfjs-backend-cpu's shared
// implementations compute the outputs (and throw its errors); the outputs are uploaded when a GPU
// kernel first reads them.
import {KernelConfig, RaggedGather, RaggedGatherAttrs, RaggedRange, RaggedTensorToTensor, RaggedTensorToTensorAttrs,
        TensorInfo} from '@tensorflow/tfjs-core';
import {cpuShared} from '../src/cpu_shared.js';

const {raggedGatherImpl, raggedRangeImpl, raggedTensorToTensorImpl} = cpuShared;

import {mpsgpuBackend} from '../src/kernel_util.js';

import {readNumbers} from './cpu_common.js';

export const raggedGatherConfig: KernelConfig = {
  kernelName: RaggedGather,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {paramsNestedSplits, paramsDenseValues, indices} =
        inputs as unknown as {paramsNestedSplits: TensorInfo[]; paramsDenseValues: TensorInfo; indices: TensorInfo};
    const {outputRaggedRank} = attrs as unknown as RaggedGatherAttrs;
    const [outputNestedSplits, outputDenseValues, outputDenseValuesShape] = raggedGatherImpl(
        paramsNestedSplits.map(t => readNumbers(b, t)), paramsNestedSplits.map(t => t.shape), readNumbers(b, paramsDenseValues),
        paramsDenseValues.shape, paramsDenseValues.dtype, readNumbers(b, indices), indices.shape, outputRaggedRank);
    const splits = outputNestedSplits.map(s => b.makeTensorInfo([s.length], 'int32', s));
    return splits.concat([b.makeTensorInfo(outputDenseValuesShape, paramsDenseValues.dtype, outputDenseValues)]);
  },
};

export const raggedRangeConfig: KernelConfig = {
  kernelName: RaggedRange,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend}) => {
    const b = mpsgpuBackend(backend);
    const {starts, limits, deltas} = inputs as {starts: TensorInfo; limits: TensorInfo; deltas: TensorInfo};
    const [nestedSplits, denseValues] = raggedRangeImpl(readNumbers(b, starts), starts.shape, starts.dtype, readNumbers(b, limits),
                                                        limits.shape, readNumbers(b, deltas), deltas.shape);
    return [
      b.makeTensorInfo([nestedSplits.length], 'int32', nestedSplits),
      b.makeTensorInfo([denseValues.length], starts.dtype, denseValues),
    ];
  },
};

export const raggedTensorToTensorConfig: KernelConfig = {
  kernelName: RaggedTensorToTensor,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {shape, values, defaultValue, rowPartitionTensors} =
        inputs as unknown as {shape: TensorInfo; values: TensorInfo; defaultValue: TensorInfo; rowPartitionTensors: TensorInfo[]};
    const {rowPartitionTypes} = attrs as unknown as RaggedTensorToTensorAttrs;
    const [outputShape, output] = raggedTensorToTensorImpl(
        readNumbers(b, shape), shape.shape, readNumbers(b, values), values.shape, values.dtype, readNumbers(b, defaultValue),
        defaultValue.shape, rowPartitionTensors.map(t => readNumbers(b, t)), rowPartitionTensors.map(t => t.shape),
        rowPartitionTypes);
    return b.makeTensorInfo(outputShape, values.dtype, output);
  },
};
