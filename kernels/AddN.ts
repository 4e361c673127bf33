// AddN: the sum of any number of same-shaped tensors in one dispatch (chunks of at most 8 inputs
// stay under every adapter's storage-buffer limit).
import {AddN, KernelConfig, TensorInfo, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {Expr} from '../src/codegen/elementwise.js';
import {input, mpsgpuBackend, op, reshapeView, runElementwise} from '../src/kernel_util.js';

import {complexParts, makeComplex} from './Complex.js';

const MAX_INPUTS = 8;

export const addNConfig: KernelConfig = {
  kernelName: AddN,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend}) => {
    const b = mpsgpuBackend(backend);
    return addN(b, inputs as unknown as TensorInfo[]);
  },
};

function addN(b: MpsgpuBackend, inputs: TensorInfo[]): TensorInfo {
  let tensors = inputs;
  if (tensors.length === 0) throw new Error('AddN: needs at least one input tensor');
  const dtype = tensors[0].dtype;
  if (dtype === 'string') throw new Error(`AddN: input 0 has dtype string (shape [${tensors[0].shape}]); AddN takes numbers`);
  tensors.forEach((t, i) => {
    if (t.dtype !== dtype || !util.arraysEqual(t.shape, tensors[0].shape)) {
      throw new Error(`AddN: input ${i} has dtype ${t.dtype} and shape [${t.shape}] but input 0 has dtype ${dtype} ` +
        `and shape [${tensors[0].shape}]; all inputs must have one shape and one dtype`);
    }
  });
  if (tensors.length === 1) return reshapeView(b, tensors[0], tensors[0].shape);
  if (dtype === 'complex64') {
    // The sum of the parts (tfjs-backend-cpu has no complex AddN; the sum is unambiguous).
    const parts = tensors.map(t => complexParts(b, t));
    return makeComplex(b, addN(b, parts.map(p => p.real)), addN(b, parts.map(p => p.imag)));
  }
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
}
