// Unary elementwise kernels: one table row each, with tfjs-backend-cpu's semantics (NaN in, NaN out
// where the CPU backend gives NaN; int32 kept exact where the op is integral).
import {backend_util, DataType, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo} from '@tensorflow/tfjs-core';

import {Expr, Helper} from '../src/codegen/elementwise.js';
import {inputAs, mpsgpuBackend, op, runElementwise} from '../src/kernel_util.js';

interface UnarySpec {
  /** WGSL over `$0` (an f32), returning f32, or the result type named by `out`. */
  f32: string;
  /** WGSL over `$0` as i32 for int32 inputs; absent: int32 inputs are converted to f32 first. */
  i32?: string;
  /** 'float': always float32 (default for float math); 'same': the input's dtype; 'bool'. */
  out?: 'float'|'same'|'bool';
  helper?: Helper;
  /** Attributes passed as uniforms (leaky relu's alpha, clip bounds, …): $a, $b in the template. */
  attrs?: (attrs: NamedAttrMap) => number[];
}

const ERF_HELPER: Helper = {
  name: 'erfApprox',
  code: `fn erfApprox(x: f32) -> f32 {
  // Abramowitz & Stegun 7.1.26, as tfjs-backend-cpu computes it.
  let p = ${backend_util.ERF_P}; let a1 = ${backend_util.ERF_A1}; let a2 = ${backend_util.ERF_A2};
  let a3 = ${backend_util.ERF_A3}; let a4 = ${backend_util.ERF_A4}; let a5 = ${backend_util.ERF_A5};
  let s = sign(x); let v = abs(x);
  let t = 1.0 / (1.0 + p * v);
  return s * (1.0 - (((((a5 * t + a4) * t) + a3) * t + a2) * t + a1) * t * exp(-v * v));
}`,
};

const SOFTPLUS_HELPER: Helper = {
  name: 'softplus',
  code: `fn softplus(x: f32) -> f32 {
  // tfjs-backend-cpu's thresholds: avoid overflow of exp and keep precision for small x.
  let threshold = log(1.1920928955078125e-7) + 2.0;
  if (x > -threshold) { return x; }
  if (x < threshold) { return exp(x); }
  return log(exp(x) + 1.0);
}`,
};

const NAN_IN = (expr: string) => `select(${expr}, $0, isNan($0))`;

export const UNARY: Record<string, UnarySpec> = {
  Abs: {f32: 'abs($0)', i32: 'abs($0)', out: 'same'},
  Acos: {f32: 'acos($0)'},
  Acosh: {f32: 'acosh($0)'},
  Asin: {f32: 'asin($0)'},
  Asinh: {f32: 'asinh($0)'},
  Atan: {f32: 'atan($0)'},
  Atanh: {f32: 'atanh($0)'},
  Ceil: {f32: 'ceil($0)', i32: '$0', out: 'same'},
  Cos: {f32: 'cos($0)'},
  Cosh: {f32: 'cosh($0)'},
  Elu: {f32: NAN_IN('select(exp($0) - 1.0, $0, $0 >= 0.0)')},
  Erf: {f32: 'erfApprox($0)', helper: ERF_HELPER},
  Exp: {f32: 'exp($0)'},
  Expm1: {f32: 'select(exp($0) - 1.0, $0 + 0.5 * $0 * $0 + $0 * $0 * $0 / 6.0, abs($0) < 1e-4)'},
  Floor: {f32: 'floor($0)', i32: '$0', out: 'same'},
  IsFinite: {f32: 'i32(!isNan($0) && !isInf($0))', i32: '1', out: 'bool'},
  IsInf: {f32: 'i32(isInf($0))', i32: '0', out: 'bool'},
  IsNan: {f32: 'i32(isNan($0))', i32: '0', out: 'bool'},
  Log: {f32: 'log($0)'},
  Log1p: {f32: 'select(log(1.0 + $0), $0 - 0.5 * $0 * $0 + $0 * $0 * $0 / 3.0, abs($0) < 1e-4)'},
  LogicalNot: {f32: 'i32($0 == 0.0)', i32: 'i32($0 == 0)', out: 'bool'},
  Neg: {f32: '-$0', i32: '-$0', out: 'same'},
  Reciprocal: {f32: '1.0 / $0'},
  Relu: {f32: 'select($0, 0.0, $0 < 0.0)', i32: 'max($0, 0)', out: 'same'},
  Relu6: {f32: NAN_IN('clamp($0, 0.0, 6.0)'), i32: 'clamp($0, 0, 6)', out: 'same'},
  Round: {f32: 'round($0)', i32: '$0', out: 'same'},
  Rsqrt: {f32: 'inverseSqrt($0)'},
  Selu: {f32: `select(${backend_util.SELU_SCALEALPHA} * (exp($0) - 1.0), ${backend_util.SELU_SCALE} * $0, $0 >= 0.0)`},
  Sigmoid: {f32: '1.0 / (1.0 + exp(-$0))'},
  Sign: {f32: NAN_IN('sign($0)'), i32: 'sign($0)', out: 'same'},
  Sin: {f32: 'sin($0)'},
  Sinh: {f32: 'sinh($0)'},
  Softplus: {f32: 'softplus($0)', helper: SOFTPLUS_HELPER},
  Sqrt: {f32: 'sqrt($0)'},
  Square: {f32: '$0 * $0', i32: '$0 * $0', out: 'same'},
  Tan: {f32: 'tan($0)'},
  Tanh: {f32: 'tanh($0)'},
  Step: {f32: NAN_IN('select($a, 1.0, $0 > 0.0)'), i32: 'select(i32($a), 1, $0 > 0)', out: 'same', attrs: a => [a.alpha as number ?? 0]},
  LeakyRelu: {f32: 'select($a * $0, $0, $0 >= 0.0)', attrs: a => [a.alpha as number]},
  ClipByValue: {f32: NAN_IN('select(select($0, $a, $0 < $a), $b, $0 > $b)'),
                i32: 'select(select($0, i32($a), f32($0) < $a), i32($b), f32($0) > $b)', out: 'same',
                attrs: a => [a.clipValueMin as number, a.clipValueMax as number]},
};

/** The elementwise expression of unary op `name` applied to `arg` (used by kernels and fusion). */
export function unaryExpr(name: string, arg: Expr, isInt: boolean): Expr {
  const spec = UNARY[name];
  const useInt = isInt && spec.i32 !== undefined;
  let template = useInt ? spec.i32! : spec.f32;
  template = template.replace(/\$a/g, 'u.attr0').replace(/\$b/g, 'u.attr1');
  const type = spec.out === 'bool' ? 'i32' : useInt ? 'i32' : 'f32';
  const x = useInt || arg.type === 'f32' ? arg : op('f32($0)', 'f32', [arg]);
  return op(template, type, [x], spec.helper);
}

function outDtype(spec: UnarySpec, x: TensorInfo): DataType {
  if (spec.out === 'bool') return 'bool';
  if (spec.out === 'same') return x.dtype === 'bool' ? 'int32' : x.dtype;
  return 'float32';
}

function unaryKernel(name: string): KernelFunc {
  const spec = UNARY[name];
  return ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const x = (inputs as {x: TensorInfo}).x;
    if (x.dtype === 'string' || x.dtype === 'complex64') {
      throw new Error(`${name}: mpsgpu does not take ${x.dtype} input 'x' (shape [${x.shape}])`);
    }
    const isInt = x.dtype !== 'float32';
    const dtype = outDtype(spec, x);
    const expr = unaryExpr(name, inputAs(0, x, isInt && spec.i32 !== undefined ? 'i32' : 'f32'), isInt);
    const values = spec.attrs ? spec.attrs(attrs ?? {}) : [];
    const uniforms = values.map((value, i) => ({name: `attr${i}`, type: 'f32' as const, value}));
    return runElementwise(b, name, expr, [x], dtype, x.shape, uniforms);
  };
}

export const unaryKernelConfigs: KernelConfig[] = Object.keys(UNARY).map(name => ({
  kernelName: name, backendName: 'mpsgpu', kernelFunc: unaryKernel(name),
}));
