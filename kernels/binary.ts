// Binary elementwise kernels with numpy broadcasting, with tfjs-backend-cpu's semantics.
import {backend_util, DataType, KernelConfig, KernelFunc, TensorInfo, upcastType, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {broadcastStrides, Expr, Helper} from '../src/codegen/elementwise.js';
import {constant, inputAs, mpsgpuBackend, op, runElementwise} from '../src/kernel_util.js';

import {complexParts, makeComplex} from './Complex.js';

interface BinarySpec {
  f32: string;
  /** Integer version (int32 and bool inputs); absent: computed in f32 and the result is float32. */
  i32?: string;
  /** Result is bool (comparisons, logic). */
  bool?: boolean;
  /** Result is always float32 (RealDiv, Atan2). */
  float?: boolean;
  /** Result is always int32 (FloorDiv, BitwiseAnd). */
  int?: boolean;
  helper?: Helper;
}

const EITHER_NAN = (expr: string) => `select(${expr}, nanF32(), isNan($0) || isNan($1))`;

const POW_HELPER: Helper = {
  name: 'powF32',
  code: `fn powF32(a: f32, b: f32) -> f32 {
  // Math.pow's special cases said explicitly (WGSL's pow is exp2(b·log2(a)), undefined for a <= 0
  // and for NaN or infinite operands); tfjs gives the real result for integral exponents of a < 0.
  if (b == 0.0) { return 1.0; }
  if (isNan(a) || isNan(b)) { return nanF32(); }
  let m = abs(a);
  if (isInf(b)) {
    // (±1)^±Infinity is NaN in JavaScript.
    if (m == 1.0) { return nanF32(); }
    return select(0.0, infF32(), (m > 1.0) == (b > 0.0));
  }
  let oddInt = floor(b) == b && abs(b % 2.0) == 1.0;
  if (m == 0.0 || isInf(m)) {
    // ±0 and ±Infinity: 0 or Infinity by the signs, negative for a negative base and an odd exponent.
    let r = select(0.0, infF32(), (m == 0.0) == (b < 0.0));
    return select(r, -r, oddInt && (a < 0.0 || bitcast<u32>(a) == 0x80000000u));
  }
  let r = pow(m, b);
  if (a < 0.0) {
    if (floor(b) != b) { return nanF32(); }
    if (oddInt) { return -r; }
  }
  return r;
}
fn powI32(a: i32, b: i32) -> i32 {
  // Negative exponents: tfjs truncates the fraction (1 and -1 stay exact).
  if (b < 0) { if (a == 1) { return 1; } if (a == -1) { return select(1, -1, (b & 1) == 1); } return 0; }
  var result = 1; var base = a; var e = b;
  loop { if (e == 0) { break; } if ((e & 1) == 1) { result = result * base; } base = base * base; e = e >> 1u; }
  return result;
}`,
};

const ATAN2_HELPER: Helper = {
  name: 'atan2F32',
  code: `fn atan2F32(y: f32, x: f32) -> f32 {
  // Math.atan2's zeros and infinities said explicitly (WGSL leaves atan2(0, 0) undefined and
  // lavapipe gives 3·pi/4); the signs of zeros count, as in JavaScript.
  if (isNan(y) || isNan(x)) { return nanF32(); }
  let pi = 3.1415927410125732;
  let yNeg = bitcast<u32>(y) >= 0x80000000u;
  let xNeg = bitcast<u32>(x) >= 0x80000000u;
  var r: f32;
  if (y == 0.0) {
    r = select(0.0, pi, xNeg);
  } else if (isInf(y)) {
    r = select(select(1.5707963705062866, 0.7853981852531433, isInf(x)), 2.356194496154785, isInf(x) && xNeg);
  } else if (x == 0.0) {
    r = 1.5707963705062866;
  } else if (isInf(x)) {
    r = select(0.0, pi, xNeg);
  } else {
    return atan2(y, x);
  }
  return select(r, -r, yNeg);
}`,
};

const MOD_HELPER: Helper = {
  name: 'modF32',
  code: `fn modF32(a: f32, b: f32) -> f32 {
  // The result takes the divisor's sign, as in tfjs; JavaScript's % for NaN, infinities and 0 said
  // explicitly (WGSL's % is a - b·trunc(a/b), NaN for a finite a and an infinite b).
  if (isNan(a) || isNan(b) || isInf(a) || b == 0.0) { return nanF32(); }
  if (isInf(b)) { return select(nanF32(), a, (a < 0.0 && b < 0.0) || (a >= 0.0 && b >= 0.0)); }
  let r = a % b;
  if ((a < 0.0 && b < 0.0) || (a >= 0.0 && b >= 0.0)) { return r; }
  return (r + b) % b;
}
fn modI32(a: i32, b: i32) -> i32 {
  if (b == 0) { return 0; }
  let r = a % b;
  if ((a < 0 && b < 0) || (a >= 0 && b >= 0)) { return r; }
  return (r + b) % b;
}`,
};

const FLOORDIV_HELPER: Helper = {
  name: 'floorDivI32',
  code: `fn floorDivI32(a: i32, b: i32) -> i32 {
  if (b == 0) { return 0; }
  let q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) { return q - 1; }
  return q;
}`,
};

export const BINARY: Record<string, BinarySpec> = {
  Add: {f32: '$0 + $1', i32: '$0 + $1'},
  Sub: {f32: '$0 - $1', i32: '$0 - $1'},
  Multiply: {f32: '$0 * $1', i32: '$0 * $1'},
  RealDiv: {f32: '$0 / $1', float: true},
  // tfjs-backend-cpu returns int32 for FloorDiv whatever the inputs.
  FloorDiv: {f32: 'floor($0 / $1)', i32: 'floorDivI32($0, $1)', helper: FLOORDIV_HELPER, int: true},
  Maximum: {f32: EITHER_NAN('max($0, $1)'), i32: 'max($0, $1)'},
  Minimum: {f32: EITHER_NAN('min($0, $1)'), i32: 'min($0, $1)'},
  Pow: {f32: 'powF32($0, $1)', i32: 'powI32($0, $1)', helper: POW_HELPER},
  Mod: {f32: 'modF32($0, $1)', i32: 'modI32($0, $1)', helper: MOD_HELPER},
  SquaredDifference: {f32: '($0 - $1) * ($0 - $1)', i32: '($0 - $1) * ($0 - $1)'},
  Atan2: {f32: 'atan2F32($0, $1)', float: true, helper: ATAN2_HELPER},
  Equal: {f32: 'i32($0 == $1)', i32: 'i32($0 == $1)', bool: true},
  // NaN != anything: said explicitly (lavapipe folds != to an ordered comparison).
  NotEqual: {f32: 'i32($0 != $1 || isNan($0) || isNan($1))', i32: 'i32($0 != $1)', bool: true},
  Less: {f32: 'i32($0 < $1)', i32: 'i32($0 < $1)', bool: true},
  LessEqual: {f32: 'i32($0 <= $1)', i32: 'i32($0 <= $1)', bool: true},
  Greater: {f32: 'i32($0 > $1)', i32: 'i32($0 > $1)', bool: true},
  GreaterEqual: {f32: 'i32($0 >= $1)', i32: 'i32($0 >= $1)', bool: true},
  // On floats, NaN is falsy (JavaScript's && and ||, as tfjs-backend-cpu).
  LogicalAnd: {f32: 'i32($0 != 0.0 && !isNan($0) && $1 != 0.0 && !isNan($1))', i32: 'i32($0 != 0 && $1 != 0)', bool: true},
  LogicalOr: {f32: 'i32(($0 != 0.0 && !isNan($0)) || ($1 != 0.0 && !isNan($1)))', i32: 'i32($0 != 0 || $1 != 0)', bool: true},
  BitwiseAnd: {f32: 'f32(i32($0) & i32($1))', i32: '$0 & $1', int: true},
  // Gradients tfjs-core dispatches as kernels.
  EluGrad: {f32: 'select($0 * ($1 + 1.0), $0, $1 >= 0.0)', float: true},
  Prelu: {f32: 'select($1 * $0, $0, $0 >= 0.0)'},
};

/** The expression of binary op `name` on `a` and `b`, computed in `type`. */
export function binaryExpr(name: string, a: Expr, b: Expr, useInt: boolean): Expr {
  const spec = BINARY[name];
  const template = useInt ? spec.i32! : spec.f32;
  const type = spec.bool || useInt ? 'i32' : 'f32';
  const e = op(template, type, [a, b], spec.helper);
  // Float math with an int32 result (FloorDiv on floats): NaN and ±Infinity become 0, as when
  // tfjs-backend-cpu stores them in an Int32Array.
  return spec.int && !useInt ? op('select(i32($0), 0, isNan($0) || isInf($0))', 'i32', [e]) : e;
}

/**
 * Complex arithmetic where tfjs-backend-cpu has it (Add, Sub, Multiply): `(xr, xi, yr, yi)` give the
 * four parts as f32 expressions, and the op returns the real and imaginary results.
 */
type ComplexOp = (p: (k: number) => Expr) => [Expr, Expr];
const f32op = (template: string, args: Expr[]) => op(template, 'f32', args);

export const COMPLEX_BINARY: Record<string, ComplexOp> = {
  Add: p => [f32op('$0 + $1', [p(0), p(2)]), f32op('$0 + $1', [p(1), p(3)])],
  Sub: p => [f32op('$0 - $1', [p(0), p(2)]), f32op('$0 - $1', [p(1), p(3)])],
  Multiply: p => [f32op('$0 * $1 - $2 * $3', [p(0), p(2), p(1), p(3)]),
                  f32op('$0 * $1 + $2 * $3', [p(0), p(3), p(1), p(2)])],
};

/**
 * One elementwise node per result part over the parts it reads. A real operand is cast to complex
 * as tfjs-backend-cpu does (its imaginary part is a zero constant, so NaN·0 stays NaN as there).
 */
function complexBinary(b: MpsgpuBackend, name: string, x: TensorInfo, y: TensorInfo): TensorInfo {
  const shape = backend_util.assertAndGetBroadcastShape(x.shape, y.shape);
  const partsOf = (t: TensorInfo): Array<TensorInfo|null> => {
    if (t.dtype !== 'complex64') return [t, null];
    const {real, imag} = complexParts(b, t);
    return [real, imag];
  };
  const leaves = [...partsOf(x), ...partsOf(y)];
  const results = [0, 1].map(which => {
    const used: TensorInfo[] = [];
    const exprs = new Map<number, Expr>();
    const part = (k: number): Expr => {
      let e = exprs.get(k);
      if (e === undefined) {
        const t = leaves[k];
        if (t === null) {
          e = constant(0, 'f32');
        } else {
          used.push(t);
          e = inputAs(used.length - 1, t, 'f32');
        }
        exprs.set(k, e);
      }
      return e;
    };
    const expr = COMPLEX_BINARY[name](part)[which];
    return runElementwise(b, name, expr, used, 'float32', shape);
  });
  return makeComplex(b, results[0], results[1]);
}

/** Comparisons tfjs-backend-cpu also does on strings (JavaScript's string order). */
const STRING_COMPARE: Record<string, (a: string, b: string) => boolean> = {
  Equal: (a, b) => a === b,
  NotEqual: (a, b) => a !== b,
  Less: (a, b) => a < b,
  LessEqual: (a, b) => a <= b,
  Greater: (a, b) => a > b,
  GreaterEqual: (a, b) => a >= b,
};

/** String tensors live on the CPU: compared there, broadcast numpy-style, into a bool tensor. */
function compareStrings(b: MpsgpuBackend, name: string, x: TensorInfo, y: TensorInfo): TensorInfo {
  const shape = backend_util.assertAndGetBroadcastShape(x.shape, y.shape);
  const decode = (t: TensorInfo) => backend_util.fromUint8ToStringArray(b.readSync(t.dataId) as unknown as Uint8Array[]);
  const [xs, ys] = [decode(x), decode(y)];
  const [xStrides, yStrides] = [broadcastStrides(x.shape, shape), broadcastStrides(y.shape, shape)];
  const outStrides = util.computeStrides(shape);
  const compare = STRING_COMPARE[name];
  const out = new Uint8Array(util.sizeFromShape(shape));
  for (let i = 0; i < out.length; ++i) {
    let rem = i, xi = 0, yi = 0;
    for (let d = 0; d < shape.length; ++d) {
      const c = d < outStrides.length ? Math.floor(rem / outStrides[d]) : rem;
      rem -= d < outStrides.length ? c * outStrides[d] : c;
      xi += c * xStrides[d];
      yi += c * yStrides[d];
    }
    out[i] = compare(xs[xi], ys[yi]) ? 1 : 0;
  }
  return b.makeTensorInfo(shape, 'bool', out);
}

function binaryKernel(name: string): KernelFunc {
  const spec = BINARY[name];
  // The expression by input dtypes: built once, so its key (exprKey) is computed once too.
  const exprs = new Map<DataType, Map<DataType, Expr>>();
  return ({inputs, backend}) => {
    const b = mpsgpuBackend(backend);
    const names = Object.keys(inputs);
    const [x, y] = names.map(n => inputs[n] as TensorInfo);
    if (x.dtype === 'string' && y.dtype === 'string' && STRING_COMPARE[name] !== undefined) {
      return compareStrings(b, name, x, y);
    }
    for (const [i, t] of [x, y].entries()) {
      if (t.dtype === 'string') {
        throw new Error(`${name}: mpsgpu does not take ${t.dtype} input '${names[i]}' (shape [${t.shape}])`);
      }
    }
    if (x.dtype === 'complex64' || y.dtype === 'complex64') {
      if (COMPLEX_BINARY[name] !== undefined) return complexBinary(b, name, x, y);
      const [i, t] = x.dtype === 'complex64' ? [0, x] : [1, y];
      throw new Error(`${name}: mpsgpu does not take complex64 input '${names[i]}' (shape [${t.shape}]); ` +
        `as on tfjs-backend-cpu, complex64 arithmetic is Add, Sub and Multiply.`);
    }
    const inType = upcastType(x.dtype, y.dtype);
    const useInt = inType !== 'float32' && spec.i32 !== undefined && !spec.float;
    let dtype: DataType;
    if (spec.bool) dtype = 'bool';
    else if (spec.int) dtype = 'int32';
    else if (!useInt) dtype = 'float32';
    else dtype = inType === 'bool' ? (name === 'Add' || name === 'Multiply' ? 'bool' : 'int32') : inType;
    let byY = exprs.get(x.dtype);
    if (!byY) exprs.set(x.dtype, byY = new Map());
    let expr = byY.get(y.dtype);
    if (!expr) {
      const t = useInt ? 'i32' : 'f32';
      const e = binaryExpr(name, inputAs(0, x, t), inputAs(1, y, t), useInt);
      expr = dtype === 'bool' && !spec.bool ? op('i32($0 != 0)', 'i32', [e]) : e;
      byY.set(y.dtype, expr);
    }
    const shape = backend_util.assertAndGetBroadcastShape(x.shape, y.shape);
    return runElementwise(b, name, expr, [x, y], dtype, shape);
  };
}

export const binaryKernelConfigs: KernelConfig[] = Object.keys(BINARY).map(name => ({
  kernelName: name, backendName: 'mpsgpu', kernelFunc: binaryKernel(name),
}));
