// DepthToSpace (NHWC, as tfjs-backend-cpu): one strided copy. The output [B, H·s, W·s, D] is seen as
// [B, H, s, W, s, D], whose element (b, h, dh, w, dw, d) is x[b, h, w, (dh·s + dw)·D + d].
import {DepthToSpace, DepthToSpaceAttrs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {mpsgpuBackend} from '../src/kernel_util.js';

import {check} from './array_common.js';
import {stridedCopy} from './Slice.js';

export const depthToSpaceConfig: KernelConfig = {
  kernelName: DepthToSpace,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x} = inputs as {x: TensorInfo};
    const {blockSize: s, dataFormat} = attrs as unknown as DepthToSpaceAttrs;
    check(dataFormat === 'NHWC', () => `DepthToSpace: only dataFormat NHWC is supported (as on tfjs-backend-cpu), got ${dataFormat}`);
    check(x.shape.length === 4, () => `DepthToSpace: input 'x' must be rank 4 (NHWC), got shape [${x.shape}] (dtype ${x.dtype})`);
    check(Number.isInteger(s) && s > 1, () => `DepthToSpace: blockSize must be an integer > 1, got ${s}`);
    const [batch, h, w, c] = x.shape;
    check(c % (s * s) === 0, () => `DepthToSpace: the depth ${c} of input 'x' (shape [${x.shape}]) is not divisible by ` +
      `blockSize² = ${s * s}`);
    const d = c / (s * s);
    const shape = [batch, h, s, w, s, d];
    const strides = [h * w * c, w * c, s * d, c, d, 1];
    return stridedCopy(b, DepthToSpace, x, shape, 0, strides, [batch, h * s, w * s, d]);
  },
};
