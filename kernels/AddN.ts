// AddN: the sum of any number of same-shaped tensors in one dispatch (chunks of at most 8 inputs
// stay under every adapter's storage-buffer limit).
import {AddN, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {Expr} from '../src/codegen/elementwise.js';
import {input, mpsgpuBackend, op, reshapeView, runElementwise} from '../src/kernel_util.js';

const MAX_INPUTS = 8;

export const addNConfig: KernelConfig = {
  kernelName: AddN,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend}) => {
    const b = mpsgpuBackend(backend);
    let tensors = inputs as unknown as TensorInfo[];
    if (tensors.length === 1) return reshapeView(b, tensors[0], tensors[0].shape);
    const dtype = tensors[0].dtype;
    const type = dtype === 'float32' ? 'f32' : 'i32';
    const intermediates: TensorInfo[] = [];
    while (tensors.length > 1) {
      const chunk = tensors.slice(0, MAX_INPUTS);
      let expr: Expr = input(0, type);
      for (let i = 1; i < chunk.length; ++i) expr = op('$0 + $1', type, [expr, input(i, type)]);
      const sum = runElementwise(b, AddN, expr, chunk, dtype, chunk[0].shape);
      intermediates.push(sum);
      tensors = [sum, ...tensors.slice(MAX_INPUTS)];
    }
    intermediates.slice(0, -1).forEach(t => b.disposeIntermediateTensorInfo(t));
    return tensors[0];
  },
};
