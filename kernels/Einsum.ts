// Einsum, composed as tfjs-backend-cpu composes it: transpose and expand each operand to the full
// index space, multiply (broadcasting), and sum out each contracted index when it is last needed.
// The kernels are called through the registry (this backend's Transpose, Multiply and Sum).
import {backend_util, Einsum, EinsumAttrs, getKernel, KernelBackend, NamedAttrMap, TensorInfo, util} from '@tensorflow/tfjs-core';
import type {KernelConfig} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {mpsgpuBackend, reshapeView} from '../src/kernel_util.js';

import {check} from './array_common.js';

function call(b: MpsgpuBackend, kernel: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
  const config = getKernel(kernel, 'mpsgpu');
  check(config !== undefined, () => `Einsum: mpsgpu has no ${kernel} kernel registered`);
  return config!.kernelFunc({inputs, backend: b as KernelBackend, attrs}) as TensorInfo;
}

export const einsumConfig: KernelConfig = {
  kernelName: Einsum,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {equation} = attrs as unknown as EinsumAttrs;
    const tensors = inputs as unknown as TensorInfo[];
    tensors.forEach((t, i) => check(t.dtype !== 'string' && t.dtype !== 'complex64',
                                    () => `Einsum: input ${i} has dtype ${t.dtype} (shape [${t.shape}])`));
    const {allDims, summedDims, idDims} = backend_util.decodeEinsumEquation(equation, tensors.length);
    backend_util.checkEinsumDimSizes(allDims.length, idDims, tensors as unknown as Parameters<typeof backend_util.checkEinsumDimSizes>[2]);
    const {path, steps} = backend_util.getEinsumComputePath(summedDims, idDims);
    let out: TensorInfo|null = null;
    let remaining = allDims.length;
    const intermediates: TensorInfo[] = [];
    for (let i = 0; i < steps.length; ++i) {
      for (const term of steps[i]) {
        const {permutationIndices: perm, expandDims} = backend_util.getEinsumPermutation(remaining, idDims[term]);
        let x = tensors[term];
        if (!backend_util.isIdentityPermutation(perm)) {
          x = call(b, 'Transpose', {x}, {perm});
          intermediates.push(x);
        }
        const target = x.shape.slice();
        for (const d of expandDims) target.splice(d, 0, 1);
        if (!util.arraysEqual(x.shape, target)) {
          x = reshapeView(b, x, target);
          intermediates.push(x);
        }
        if (out === null) {
          out = x;
        } else {
          out = call(b, 'Multiply', {a: x, b: out});
          intermediates.push(out);
        }
      }
      if (i < steps.length - 1) {
        if (path[i] >= 0) {
          out = call(b, 'Sum', {x: out!}, {axis: path[i] - (allDims.length - remaining), keepDims: false});
          intermediates.push(out);
        }
        remaining--;
      }
    }
    const result = intermediates.includes(out!) ? out! : reshapeView(b, out!, out!.shape);
    for (const t of intermediates) if (t !== result) b.disposeIntermediateTensorInfo(t);
    return result;
  },
};
