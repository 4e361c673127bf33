// Conv2DBackpropFilter: the gradient of Conv2D with respect to the filter.
import {backend_util, Conv2DBackpropFilter, Conv2DBackpropFilterAttrs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {tensorKey} from '../src/codegen/shader.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {assertDyCovers, assertFloat4D, assertOutShape, assertPositive, assertShape4, attrKey, checkedInfo,
        Shape4} from './conv_common.js';
import {conv2dBackpropFilter} from './conv_gemm.js';

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x, dy} = inputs as {x: TensorInfo, dy: TensorInfo};
    const {filterShape, strides, pad, dimRoundingMode} = attrs as unknown as Conv2DBackpropFilterAttrs;
    const dataFormat = (attrs as unknown as Conv2DBackpropFilterAttrs).dataFormat ?? 'NHWC';
    const k = Conv2DBackpropFilter;
    const key = k + '|' + tensorKey(x) + '|' + tensorKey(dy) + '|' + attrKey(filterShape) + '|' + attrKey(strides) + '|' + attrKey(pad) +
      '|' + attrKey(dimRoundingMode) + '|' + attrKey(dataFormat);
    // Checked once per key (shapes, dtypes and attributes only).
    const info = checkedInfo(key, () => {
      assertFloat4D(k, ['x', x, dataFormat], ['dy', dy, dataFormat]);
      assertShape4(k, 'filterShape', filterShape);
      assertPositive(k, 'strides', strides);
      const info = backend_util.computeConv2DInfo(x.shape as Shape4, filterShape as Shape4, strides, 1, pad, dimRoundingMode,
                                                  false, backend_util.convertConv2DDataFormat(dataFormat));
      if (info.inChannels !== filterShape[2]) {
        throw new Error(`${k}: input 'x' (shape [${x.shape}], ${dataFormat}) has ${info.inChannels} channels but ` +
          `filterShape [${filterShape}] expects ${filterShape[2]}`);
      }
      assertOutShape(k, info, 'dy');
      assertDyCovers(k, dy, info, filterShape[3]);
      return info;
    });
    return conv2dBackpropFilter(b, k, info, x, dy);
  },
};
