// FlipLeftRight: images [B, H, W, C] mirrored along the width; a strided copy with a negative
// width stride.
import {FlipLeftRight, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {mpsgpuBackend} from '../src/kernel_util.js';

import {check} from './array_common.js';
import {stridedCopy} from './Slice.js';

export const flipLeftRightConfig: KernelConfig = {
  kernelName: FlipLeftRight,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend}) => {
    const b = mpsgpuBackend(backend);
    const {image} = inputs as {image: TensorInfo};
    check(image.shape.length === 4, () => `FlipLeftRight: input 'image' must be rank 4 ([batch, height, width, channels]), ` +
      `got shape [${image.shape}] (dtype ${image.dtype})`);
    check(image.dtype !== 'string', () => `FlipLeftRight: input 'image' has dtype string (shape [${image.shape}])`);
    const [, h, w, c] = image.shape;
    return stridedCopy(b, FlipLeftRight, image, image.shape, (w - 1) * c, [h * w * c, w * c, -c, 1]);
  },
};
