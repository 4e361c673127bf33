// NonMaxSuppressionV3/V4/V5: the number of boxes kept depends on the data, so boxes and scores are
// read on the CPU and tfjs-core's own implementations (kernel_impls) choose them, as tfjs-backend-cpu
// does; the outputs are uploaded when a GPU kernel first reads them.
import {KernelConfig, kernel_impls, NonMaxSuppressionV3, NonMaxSuppressionV3Attrs, NonMaxSuppressionV4,
        NonMaxSuppressionV4Attrs, NonMaxSuppressionV5, NonMaxSuppressionV5Attrs, TensorInfo} from '@tensorflow/tfjs-core';

import {mpsgpuBackend} from '../src/kernel_util.js';

import {assertNotComplex, readNumbers} from './cpu_common.js';

interface NmsInputs {
  boxes: TensorInfo;
  scores: TensorInfo;
}

export const nonMaxSuppressionV3Config: KernelConfig = {
  kernelName: NonMaxSuppressionV3,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {boxes, scores} = inputs as unknown as NmsInputs;
    const {maxOutputSize, iouThreshold, scoreThreshold} = attrs as unknown as NonMaxSuppressionV3Attrs;
    assertNotComplex(boxes, 'NonMaxSuppression');
    const {selectedIndices} = kernel_impls.nonMaxSuppressionV3Impl(
        readNumbers(b, boxes), readNumbers(b, scores), maxOutputSize, iouThreshold, scoreThreshold);
    return b.makeTensorInfo([selectedIndices.length], 'int32', new Int32Array(selectedIndices));
  },
};

export const nonMaxSuppressionV4Config: KernelConfig = {
  kernelName: NonMaxSuppressionV4,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {boxes, scores} = inputs as unknown as NmsInputs;
    const {maxOutputSize, iouThreshold, scoreThreshold, padToMaxOutputSize} = attrs as unknown as NonMaxSuppressionV4Attrs;
    assertNotComplex(boxes, 'NonMaxSuppressionPadded');
    const {selectedIndices, validOutputs} = kernel_impls.nonMaxSuppressionV4Impl(
        readNumbers(b, boxes), readNumbers(b, scores), maxOutputSize, iouThreshold, scoreThreshold, padToMaxOutputSize);
    return [
      b.makeTensorInfo([selectedIndices.length], 'int32', new Int32Array(selectedIndices)),
      b.makeTensorInfo([], 'int32', new Int32Array([validOutputs!])),
    ];
  },
};

export const nonMaxSuppressionV5Config: KernelConfig = {
  kernelName: NonMaxSuppressionV5,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {boxes, scores} = inputs as unknown as NmsInputs;
    const {maxOutputSize, iouThreshold, scoreThreshold, softNmsSigma} = attrs as unknown as NonMaxSuppressionV5Attrs;
    assertNotComplex(boxes, 'NonMaxSuppressionWithScore');
    const {selectedIndices, selectedScores} = kernel_impls.nonMaxSuppressionV5Impl(
        readNumbers(b, boxes), readNumbers(b, scores), maxOutputSize, iouThreshold, scoreThreshold, softNmsSigma);
    return [
      b.makeTensorInfo([selectedIndices.length], 'int32', new Int32Array(selectedIndices)),
      b.makeTensorInfo([selectedScores!.length], 'float32', new Float32Array(selectedScores!)),
    ];
  },
};
