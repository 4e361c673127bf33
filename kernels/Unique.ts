// Unique along an axis: the output size depends on the data, so x is read and deduplicated on the
// CPU exactly as tfjs-backend-cpu does (elements compared by their string form, so NaNs are one
// value), and the results are uploaded when a kernel first reads them.
import {KernelConfig, TensorBuffer, TensorInfo, Unique, UniqueAttrs, util} from '@tensorflow/tfjs-core';

import {mpsgpuBackend} from '../src/kernel_util.js';

import {check} from './array_common.js';

export const uniqueConfig: KernelConfig = {
  kernelName: Unique,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x} = inputs as {x: TensorInfo};
    const {axis} = attrs as unknown as UniqueAttrs;
    check(x.dtype !== 'complex64', () => `Unique: input 'x' has dtype complex64 (shape [${x.shape}])`);
    check(x.shape.length >= 1, () => `Unique: input 'x' must be rank 1 or higher, got a scalar (dtype ${x.dtype})`);
    const shape = x.shape;
    const $axis = util.parseAxisParam(axis, shape)[0];
    const values = b.readSync(x.dataId) as unknown as ArrayLike<number|Uint8Array> & {length: number};
    // x as [outer, axis, inner].
    const outer = util.sizeFromShape(shape.slice(0, $axis));
    const len = shape[$axis];
    const inner = util.sizeFromShape(shape.slice($axis + 1));
    const at = (m: number, i: number, n: number) => values[(m * len + i) * inner + n];
    const seen = new Map<string, number>();
    const indices = new Int32Array(len);
    const firsts: number[] = [];
    for (let i = 0; i < len; ++i) {
      const parts: Array<number|Uint8Array> = [];
      for (let m = 0; m < outer; ++m) for (let n = 0; n < inner; ++n) parts.push(at(m, i, n));
      const key = outer === 1 && inner === 1 ? parts[0].toString() : parts.join(',');
      const found = seen.get(key);
      if (found !== undefined) {
        indices[i] = found;
      } else {
        indices[i] = seen.size;
        seen.set(key, seen.size);
        firsts.push(i);
      }
    }
    const outShape = shape.slice();
    outShape[$axis] = firsts.length;
    const out = new TensorBuffer(outShape, x.dtype === 'string' ? 'string' : x.dtype);
    const outValues = out.values as unknown as Array<number|Uint8Array>;
    firsts.forEach((src, i) => {
      for (let m = 0; m < outer; ++m) {
        for (let n = 0; n < inner; ++n) outValues[(m * firsts.length + i) * inner + n] = at(m, src, n);
      }
    });
    return [b.makeTensorInfo(outShape, x.dtype, out.values as unknown as Uint8Array), b.makeTensorInfo([len], 'int32', indices)];
  },
};
