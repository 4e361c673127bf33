// Cast between float32, int32, bool and complex64 (tfjs-backend-cpu semantics: float→int truncates,
// NaN→0; to complex64 the imaginary part is zero; from complex64 the real part is cast).
import {Cast, CastAttrs, DataType, KernelConfig, TensorInfo, TypedArray, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {Expr} from '../src/codegen/elementwise.js';
import {constant, input, mpsgpuBackend, op, reshapeView, runElementwise} from '../src/kernel_util.js';

import {complexParts, copyTensor, makeComplex} from './Complex.js';

export function castExpr(from: DataType, to: DataType, x: Expr): Expr|null {
  if (from === to) return null;
  // NaN is true, as on the CPU (compilers may fold a NaN comparison: test it explicitly).
  if (to === 'bool') return from === 'float32' ? op('i32($0 != 0.0 || isNan($0))', 'i32', [x]) : op('i32($0 != 0)', 'i32', [x]);
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
    if (x.dtype === 'string' || dtype === 'string') {
      throw new Error(`Cast: mpsgpu cannot cast input 'x' of dtype ${x.dtype} (shape [${x.shape}]) to ${dtype}`);
    }
    if (x.dtype === 'complex64') {
      if (dtype === 'complex64') return reshapeView(b, x, x.shape);
      const {real} = complexParts(b, x);
      // The part belongs to x: the result is always a fresh tensor.
      return castTensor(b, real, dtype) ?? copyTensor(b, real);
    }
    if (dtype === 'complex64') {
      const real = castTensor(b, x, 'float32') ?? copyTensor(b, x);
      const imag = runElementwise(b, Cast, constant(0, 'f32'), [], 'float32', x.shape);
      return makeComplex(b, real, imag);
    }
    return castTensor(b, x, dtype) ?? reshapeView(b, x, x.shape);
  },
};

/** x (float32, int32 or bool) cast to `dtype`; null when the dtypes are equal. */
function castTensor(b: MpsgpuBackend, x: TensorInfo, dtype: DataType): TensorInfo|null {
  const expr = castExpr(x.dtype, dtype, input(0, x.dtype === 'float32' ? 'f32' : 'i32'));
  if (expr === null) return null;
  const out = runElementwise(b, Cast, expr, [x], dtype, x.shape);
  b.knowValues(out, x, xValues => castValues(xValues as TypedArray, x.dtype, dtype));
  return out;
}

/** castExpr on the CPU, value for value. */
function castValues(x: TypedArray, from: DataType, to: DataType): TypedArray {
  const out = util.getTypedArrayFromDType(to as 'float32', x.length);
  const float = from === 'float32';
  for (let i = 0; i < x.length; ++i) {
    const v = x[i];
    if (to === 'bool') out[i] = v !== 0 || Number.isNaN(v) ? 1 : 0;
    else if (to === 'int32' && float) out[i] = Number.isNaN(v) ? 0 : Math.trunc(Math.min(Math.max(v, -2147483648), 2147483520));
    else out[i] = v;
  }
  return out;
}

