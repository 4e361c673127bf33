// Cast between float32, int32 and bool (tfjs-backend-cpu semantics: float→int truncates, NaN→0).
import {Cast, CastAttrs, DataType, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {Expr} from '../src/codegen/elementwise.js';
import {input, mpsgpuBackend, op, reshapeView, runElementwise} from '../src/kernel_util.js';

export function castExpr(from: DataType, to: DataType, x: Expr): Expr|null {
  if (from === to) return null;
  if (to === 'bool') return from === 'float32' ? op('i32($0 != 0.0)', 'i32', [x]) : op('i32($0 != 0)', 'i32', [x]);
  if (to === 'int32') return from === 'float32' ? op('select(i32(clamp($0, -2147483648.0, 2147483520.0)), 0, isNan($0))', 'i32', [x]) : op('$0', 'i32', [x]);
  if (to === 'float32') return op('f32($0)', 'f32', [x]);
  return null;
}

export const castConfig: KernelConfig = {
  kernelName: Cast,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x} = inputs as {x: TensorInfo};
    const {dtype} = attrs as unknown as CastAttrs;
    if (x.dtype === 'string' || dtype === 'string' || x.dtype === 'complex64' || dtype === 'complex64') {
      throw new Error(`Cast: mpsgpu cannot cast input 'x' of dtype ${x.dtype} (shape [${x.shape}]) to ${dtype}`);
    }
    const expr = castExpr(x.dtype, dtype, input(0, x.dtype === 'float32' ? 'f32' : 'i32'));
    if (expr === null) return reshapeView(b, x, x.shape);
    return runElementwise(b, Cast, expr, [x], dtype, x.shape);
  },
};

