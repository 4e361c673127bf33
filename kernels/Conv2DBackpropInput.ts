// Conv2DBackpropInput: the gradient of Conv2D with respect to x; also tf.conv2dTranspose.
import {backend_util, Conv2DBackpropInput, Conv2DBackpropInputAttrs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {tensorKey} from '../src/codegen/shader.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {assertDyCovers, assertFloat4D, assertOutShape, assertPositive, assertShape4, attrKey, checkedInfo,
        FILTER_LAYOUT, Shape4} from './conv_common.js';
import {conv2dBackpropInput} from './conv_gemm.js';

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {dy, filter} = inputs as {dy: TensorInfo, filter: TensorInfo};
    const {inputShape, strides, pad, dimRoundingMode} = attrs as unknown as Conv2DBackpropInputAttrs;
    const dataFormat = (attrs as unknown as Conv2DBackpropInputAttrs).dataFormat ?? 'NHWC';
    const k = Conv2DBackpropInput;
    const key = k + '|' + tensorKey(dy) + '|' + tensorKey(filter) + '|' + attrKey(inputShape) + '|' + attrKey(strides) + '|' + attrKey(pad) +
      '|' + attrKey(dimRoundingMode) + '|' + attrKey(dataFormat);
    // Checked once per key (shapes, dtypes and attributes only).
    const info = checkedInfo(key, () => {
      assertFloat4D(k, ['dy', dy, dataFormat], ['filter', filter, FILTER_LAYOUT]);
      assertShape4(k, 'inputShape', inputShape);
      assertPositive(k, 'strides', strides);
      const info = backend_util.computeConv2DInfo(inputShape as Shape4, filter.shape as Shape4, strides, 1, pad, dimRoundingMode,
                                                  false, backend_util.convertConv2DDataFormat(dataFormat));
      if (info.inChannels !== filter.shape[2]) {
        throw new Error(`${k}: inputShape [${inputShape}] (${dataFormat}) has ${info.inChannels} channels but 'filter' ` +
          `(shape [${filter.shape}]) expects ${filter.shape[2]}`);
      }
      assertOutShape(k, info, 'dy');
      assertDyCovers(k, dy, info, filter.shape[3]);
      return info;
    });
    return conv2dBackpropInput(b, k, info, dy, filter);
  },
};
