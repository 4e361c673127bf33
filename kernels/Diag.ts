// Diag: x of n elements → a [n, n] matrix (seen as [...x.shape, ...x.shape]) with x on the
// diagonal and zeros elsewhere. Values are copied as 32-bit words (float32, int32 and bool alike).
import {Diag, KernelConfig, TensorInfo, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {check, perElementProgram} from './array_common.js';
import {mapComplex} from './Complex.js';

function diag(b: MpsgpuBackend, x: TensorInfo): TensorInfo {
  if (x.dtype === 'complex64') return mapComplex(b, x, part => diag(b, part));
  const n = util.sizeFromShape(x.shape);
  const outShape = [...x.shape, ...x.shape];
  if (n === 0) return b.makeTensorInfo(outShape, x.dtype);
  const body = `
  let r = i / u.n;
  out[i] = select(0u, x[r], i - r * u.n == r);`;
  const program = perElementProgram(Diag, 'diag', n * n, [{name: 'x', type: 'u32'}], 'u32', body,
                                    [{name: 'n', type: 'u32', value: n}]);
  return b.runProgram(program, [x], outShape, x.dtype);
}

export const diagConfig: KernelConfig = {
  kernelName: Diag,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend}) => {
    const {x} = inputs as {x: TensorInfo};
    check(x.dtype !== 'string', () => `Diag: input 'x' has dtype string (shape [${x.shape}])`);
    return diag(mpsgpuBackend(backend), x);
  },
};
