// StridedSlice: tfjs-core's slice_util resolves the masks (begin/end/ellipsis/new-axis/shrink) into a
// begin and a stride per input axis; the result is a strided copy over the processing shape (one
// extent per input axis, 1 where shrunk), seen with the final shape.
import {KernelConfig, slice_util, StridedSlice, StridedSliceAttrs, TensorInfo, util} from '@tensorflow/tfjs-core';

import {stridesOf} from '../src/codegen/shader.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {stridedCopy} from './Slice.js';

export const stridedSliceConfig: KernelConfig = {
  kernelName: StridedSlice,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x} = inputs as {x: TensorInfo};
    const {begin, end, strides, beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask} =
      attrs as unknown as StridedSliceAttrs;
    const info = slice_util.sliceInfo(x.shape, begin, end, strides, beginMask, endMask, ellipsisMask,
                                      newAxisMask, shrinkAxisMask);
    const rank = x.shape.length;
    // Extent per input axis: ceil((end - begin) / stride), 0 when the interval is empty.
    const shape = Array.from({length: rank}, (_, d) =>
      Math.max(0, Math.ceil((info.end[d] - info.begin[d]) / info.strides[d])));
    const finalShape = info.finalShape;
    const size = util.sizeFromShape(shape);
    if (size !== util.sizeFromShape(finalShape)) {
      throw new Error(`StridedSlice: internal shape mismatch for input 'x' of shape [${x.shape}]: ` +
        `sliced [${shape}] vs final [${finalShape}]`);
    }
    const xStrides = stridesOf(x.shape);
    let offset = 0;
    const inStrides = shape.map((_, d) => {
      // Begin of an empty axis may be out of range: it is never read.
      if (size > 0) offset += info.begin[d] * xStrides[d];
      return info.strides[d] * xStrides[d];
    });
    return stridedCopy(b, StridedSlice, x, shape, offset, inStrides, finalShape);
  },
};
