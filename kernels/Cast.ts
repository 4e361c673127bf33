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
    if (x.dtype === dtype) return reshapeView(b, x, x.shape);
    // Small values the program wrote (never computed) are cast on the CPU, as tfjs-backend-cpu
    // does: a GPU result would be read back by the next kernel that checks it (model.fit casts
    // each batch's indices to int32, and GatherV2 validates indices on the CPU).
    const values = b.data.get(x.dataId).values;
    if (ArrayBuffer.isView(values) && util.sizeFromShape(x.shape) <= CPU_CAST_LIMIT) {
      return b.makeTensorInfo(x.shape, dtype, castValues(values as TypedArray, dtype));
    }
    return castTensor(b, x, dtype)!;
  },
};

/** Elements up to which a cast of CPU-resident values runs on the CPU. */
const CPU_CAST_LIMIT = 4096;

/** tfjs-backend-cpu's cast of float32, int32 or bool values (float → int truncates, NaN → 0). */
function castValues(values: TypedArray, dtype: DataType): TypedArray {
  if (dtype === 'float32') return Float32Array.from(values);
  if (dtype === 'int32') return Int32Array.from(values, v => (Number.isNaN(v) ? 0 : v));
  return Uint8Array.from(values, v => (v !== 0 ? 1 : 0));
}

/** x (float32, int32 or bool) cast to `dtype`; null when the dtypes are equal. */
function castTensor(b: MpsgpuBackend, x: TensorInfo, dtype: DataType): TensorInfo|null {
  const expr = castExpr(x.dtype, dtype, input(0, x.dtype === 'float32' ? 'f32' : 'i32'));
  return expr === null ? null : runElementwise(b, Cast, expr, [x], dtype, x.shape);
}

