// Select (tf.where): t where condition == 1, e elsewhere; an elementwise node (fusable). tfjs-core
// broadcasts all three to one shape; a rank-1 condition over a higher-rank t picks whole rows.
import {KernelConfig, Select, TensorInfo, upcastType} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {wgslType} from '../src/codegen/shader.js';
import {inputAs, mpsgpuBackend, op, reshapeView, runElementwise} from '../src/kernel_util.js';

import {complexParts, makeComplex} from './Complex.js';

function selectValues(b: MpsgpuBackend, condition: TensorInfo, t: TensorInfo, e: TensorInfo, dtype: TensorInfo['dtype']): TensorInfo {
  const type = wgslType(dtype);
  // tfjs-backend-cpu takes t where the condition is exactly 1.
  const cond = condition.dtype === 'float32' ? op('i32($0 == 1.0)', 'i32', [inputAs(0, condition, 'f32')])
                                             : op('i32($0 == 1)', 'i32', [inputAs(0, condition, 'i32')]);
  const expr = op('select($2, $1, $0 != 0)', type, [cond, inputAs(1, t, type), inputAs(2, e, type)]);
  return runElementwise(b, Select, expr, [condition, t, e], dtype, t.shape);
}

export const selectConfig: KernelConfig = {
  kernelName: Select,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend}) => {
    const b = mpsgpuBackend(backend);
    const {condition, t, e} = inputs as {condition: TensorInfo; t: TensorInfo; e: TensorInfo};
    const same = (a: number[], c: number[]) => a.length === c.length && a.every((d, i) => d === c[i]);
    if (!same(t.shape, e.shape)) {
      throw new Error(`Select: inputs 't' (shape [${t.shape}]) and 'e' (shape [${e.shape}]) must have the same shape`);
    }
    const rowwise = condition.shape.length === 1 && t.shape.length > 1 && condition.shape[0] === t.shape[0];
    if (!same(condition.shape, t.shape) && !rowwise) {
      throw new Error(`Select: input 'condition' of shape [${condition.shape}] must have the shape of 't' ` +
        `([${t.shape}]) or be a vector of its first dimension`);
    }
    for (const [name, x] of [['condition', condition], ['t', t], ['e', e]] as const) {
      if (x.dtype === 'string' || (name === 'condition' && x.dtype === 'complex64')) {
        throw new Error(`Select: mpsgpu does not take ${x.dtype} input '${name}' (shape [${x.shape}])`);
      }
    }
    const cond = rowwise ? reshapeView(b, condition, [condition.shape[0], ...t.shape.slice(1).map(() => 1)]) : condition;
    let result: TensorInfo;
    if (t.dtype === 'complex64' || e.dtype === 'complex64') {
      if (t.dtype !== e.dtype) {
        throw new Error(`Select: inputs 't' (dtype ${t.dtype}) and 'e' (dtype ${e.dtype}) must both be complex64 or neither`);
      }
      const tp = complexParts(b, t), ep = complexParts(b, e);
      result = makeComplex(b, selectValues(b, cond, tp.real, ep.real, 'float32'), selectValues(b, cond, tp.imag, ep.imag, 'float32'));
    } else {
      result = selectValues(b, cond, t, e, upcastType(t.dtype, e.dtype));
    }
    if (rowwise) b.disposeIntermediateTensorInfo(cond);
    return result;
  },
};
