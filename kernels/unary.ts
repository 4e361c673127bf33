// Unary elementwise kernels: one table row each, with tfjs-backend-cpu's semantics (NaN in, NaN out
// where the CPU backend gives NaN; int32 kept exact where the op is integral).
import {backend_util, ComplexAbs, DataType, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo} from '@tensorflow/tfjs-core';

import {Expr, Helper} from '../src/codegen/elementwise.js';
import {input, inputAs, mpsgpuBackend, op, runElementwise} from '../src/kernel_util.js';

import {complexParts} from './Complex.js';

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

/**
 * exp and its relatives (expm1, sinh, cosh, tanh), with explicit NaN and infinity handling: the
 * builtins' results for NaN and for arguments that overflow are not specified (SwiftShader's exp
 * gives +Inf for NaN).
 */
export const EXP_HELPER: Helper = {
  name: 'expF32',
  code: `fn expPow2(x: f32, k: i32) -> f32 {
  // exp(x)·2^k for finite x in [-87, 90]: x = n·ln2 + r with ln2 in two parts (n·C1 is exact): the
  // builtin's error grows with |x| (exp(10) one float32 step off tfjs-backend-cpu's correctly
  // rounded value).
  let n = round(x * 1.4426950408889634);
  let r = (x - n * 0.693359375) + n * 2.12194440e-4;
  // Cephes' expf polynomial on |r| <= ln2/2.
  let p = ((((1.9875691500e-4 * r + 1.3981999507e-3) * r + 8.3334519073e-3) * r + 4.1665795894e-2) * r
           + 1.6666665459e-1) * r + 5.0000001201e-1;
  // 2^(n+k) in two steps: n reaches 130, past what one ldexp is defined for.
  let e = i32(n) + k;
  let h = e / 2;
  return ldexp(ldexp(p * r * r + r + 1.0, h), e - h);
}
fn expF32(x: f32) -> f32 {
  if (isNan(x)) { return x; }
  if (x > 89.0) { return infF32(); }
  if (x < -104.0) { return 0.0; }
  // Subnormal results: the builtin (a GPU may flush them to zero; within any tolerance).
  if (x < -87.0) { return exp(x); }
  return expPow2(x, 0);
}
fn expm1F32(x: f32) -> f32 {
  if (isNan(x)) { return x; }
  if (abs(x) < 0.35) {
    // Taylor series: exp(x) - 1 would cancel; the first omitted term is below 2^-30·|x|.
    return x * (1.0 + x * (0.5 + x * (1.6666666666666666e-1 + x * (4.1666666666666664e-2 + x * (8.3333333333333332e-3
           + x * (1.3888888888888889e-3 + x * (1.9841269841269841e-4 + x * 2.4801587301587302e-5)))))));
  }
  return expF32(x) - 1.0;
}
fn coshF32(x: f32) -> f32 {
  if (isNan(x)) { return x; }
  let a = abs(x);
  // exp(a) overflows before cosh(a) does: 2^-1 folded into the scaling.
  if (a > 89.5) { return infF32(); }
  if (a >= 9.0) { return expPow2(a, -1); }
  let e = expF32(a);
  return 0.5 * (e + 1.0 / e);
}
fn sinhF32(x: f32) -> f32 {
  if (isNan(x)) { return x; }
  let a = abs(x);
  var r: f32;
  if (a > 89.5) {
    r = infF32();
  } else if (a >= 9.0) {
    r = expPow2(a, -1);
  } else if (a < 0.5) {
    // Series: (e - 1/e)/2 cancels for small a.
    let z = a * a;
    r = a + a * z * (1.6666666666666666e-1 + z * (8.3333333333333332e-3 + z * (1.9841269841269841e-4
        + z * 2.7557319223985893e-6)));
  } else {
    let e = expF32(a);
    r = 0.5 * (e - 1.0 / e);
  }
  return select(r, -r, x < 0.0);
}
fn tanhF32(x: f32) -> f32 {
  if (isNan(x)) { return x; }
  let a = abs(x);
  var r: f32;
  if (a > 9.5) {
    // 1 - tanh(a) < 2^-26 (and the builtin may compute inf/inf).
    r = 1.0;
  } else if (a < 0.5) {
    // tanh = e/(e + 2) with e = expm1(2a): no cancellation.
    let e = expm1F32(2.0 * a);
    r = e / (e + 2.0);
  } else {
    r = 1.0 - 2.0 / (expF32(2.0 * a) + 1.0);
  }
  return select(r, -r, x < 0.0);
}`,
};

/**
 * Logarithms and the inverse hyperbolic functions: NaN in, NaN out, and NaN outside the domain, as
 * tfjs-backend-cpu (the builtins are unspecified there: SwiftShader's log(-1) is not NaN).
 */
const LOG_HELPER: Helper = {
  name: 'logF32',
  code: `fn logF32(x: f32) -> f32 {
  if (isNan(x) || x < 0.0) { return nanF32(); }
  if (x == 0.0) { return -infF32(); }
  if (isInf(x)) { return x; }
  return log(x);
}
fn log1pF32(x: f32) -> f32 {
  if (isNan(x) || x < -1.0) { return nanF32(); }
  if (x == -1.0) { return -infF32(); }
  if (isInf(x)) { return x; }
  // log(u)·x/(u - 1) with u = 1 + x rounded: the rounding of u cancels (Goldberg).
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  return log(u) * (x / (u - 1.0));
}
fn acoshF32(x: f32) -> f32 {
  if (isNan(x) || x < 1.0) { return nanF32(); }
  // x·x would overflow: acosh(x) = log(2x) within float32 from 1e18 on (and +Inf stays +Inf).
  if (x > 1e18) { return logF32(x) + 0.6931471805599453; }
  return log(x + sqrt((x - 1.0) * (x + 1.0)));
}
fn asinhF32(x: f32) -> f32 {
  if (isNan(x) || isInf(x)) { return x; }
  let a = abs(x);
  var r: f32;
  if (a > 1e18) {
    r = log(a) + 0.6931471805599453;
  } else {
    // log1p(a + a²/(1 + sqrt(1 + a²))) = log(a + sqrt(a² + 1)), accurate for small a too.
    let a2 = a * a;
    r = log1pF32(a + a2 / (1.0 + sqrt(1.0 + a2)));
  }
  return select(r, -r, x < 0.0);
}
fn atanhF32(x: f32) -> f32 {
  let a = abs(x);
  if (isNan(x) || a > 1.0) { return nanF32(); }
  if (a == 1.0) { return select(infF32(), -infF32(), x < 0.0); }
  // 0.5·log((1 + a)/(1 - a)) as 0.5·log1p(2a/(1 - a)) (1 - a is exact for a >= 0.5).
  let r = 0.5 * log1pF32(2.0 * a / (1.0 - a));
  return select(r, -r, x < 0.0);
}
fn sqrtF32(x: f32) -> f32 {
  if (isNan(x) || x < 0.0) { return nanF32(); }
  return sqrt(x);
}
fn rsqrtF32(x: f32) -> f32 {
  if (isNan(x) || x < 0.0) { return nanF32(); }
  // 1/sqrt(±0) is ±Infinity in JavaScript.
  if (x == 0.0) { return select(infF32(), -infF32(), bitcast<u32>(x) != 0u); }
  if (isInf(x)) { return 0.0; }
  return inverseSqrt(x);
}`,
};

/**
 * Cephes' sinf and cosf polynomials on |r| <= pi/4 (about one float32 step); shared with FFT's
 * twiddle factors.
 */
export const SINCOS_POLY = `fn sinPoly(r: f32) -> f32 {
  let z = r * r;
  return ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
}
fn cosPoly(r: f32) -> f32 {
  let z = r * r;
  return ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
}`;

/**
 * sin, cos and tan, to about one float32 step whatever the argument: the builtins are not precise
 * enough (SwiftShader's sin, cos and tan are off by ~1e-5 for small arguments, and every builtin
 * reduces large arguments too coarsely: tan of 1e9 is off entirely). The argument is reduced
 * modulo pi/2 exactly (Payne-Hanek) and Cephes' float polynomials evaluate the reduced argument.
 */
export const TRIG_HELPER: Helper = {
  name: 'trigF32',
  code: `fn mul64(a: u32, b: u32) -> vec2<u32> {
  // (low, high) words of the 64-bit product.
  let a0 = a & 0xffffu; let a1 = a >> 16u; let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p00 = a0 * b0; let p01 = a0 * b1; let p10 = a1 * b0; let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2<u32>((p00 & 0xffffu) | (mid << 16u), p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}
// |x| (finite, >= 0.5) modulo pi/2 by Payne-Hanek: x·2/pi from the 96 bits of 2/pi that matter for
// x's exponent, exactly; returns r in [-pi/4, pi/4] as (r, its low part) and the quadrant mod 4.
fn reduceHalfPi(ax: f32) -> vec3<f32> {
  var t = array<u32, 9>(0u, 0xa2f9836eu, 0x4e441529u, 0xfc2757d1u, 0xf534ddc0u, 0xdb629599u, 0x3c439041u,
                        0xfe5163abu, 0xdebbc561u);
  let bits = bitcast<u32>(ax);
  let e = i32((bits >> 23u) & 0xffu) - 127;
  let m = (bits & 0x7fffffu) | 0x800000u;
  let s = u32(e + 7);
  let w = s / 32u; let sh = s % 32u;
  var a: array<u32, 3>;
  for (var j = 0u; j < 3u; j = j + 1u) {
    a[j] = select((t[w + j] << sh) | (t[w + j + 1u] >> (32u - sh)), t[w + j], sh == 0u);
  }
  // x·2/pi mod 4 = (m · window) · 2^-94: the words of the product below 2^96.
  let p2 = mul64(a[2], m);
  let p1 = mul64(a[1], m);
  let lo = p2.y + p1.x;
  let top = p1.y + a[0] * m + select(0u, 1u, lo < p2.y);
  var q = top >> 30u;
  var hi = top & 0x3fffffffu;
  var low = lo;
  var sign = 1.0;
  if (hi >= 0x20000000u) {
    // Fraction >= 1/2: take 1 - fraction (62-bit two's complement) and the next quadrant.
    low = ~low + 1u;
    hi = (~hi & 0x3fffffffu) + select(0u, 1u, low == 0u);
    q = q + 1u;
    sign = -1.0;
  }
  // r = fraction · pi/2 in fixed point (scale 2^-61), then as a float and its low part, all exact
  // integer steps (no reliance on fma or on the division's rounding).
  let pio2 = 3373259426u; // round(pi/2 · 2^31)
  let ph = mul64(hi, pio2);
  let pl = mul64(low, pio2);
  let rl = ph.x + pl.y;
  let rh = ph.y + select(0u, 1u, rl < ph.x);
  let rhF = f32(rh);
  let diff = f32(i32(rh - u32(rhF)));
  let tail = (diff * 4294967296.0 + f32(rl)) * 4.336808689942018e-19;
  let rHi = rhF * 1.862645149230957e-9;
  let r = rHi + tail;
  let rLo = (rHi - r) + tail;
  return vec3<f32>(sign * r, sign * rLo, f32(q & 3u));
}
// Product a·b as (p, e) with p + e exact (Dekker's split; no fma needed).
fn twoProd(a: f32, b: f32) -> vec2<f32> {
  let p = a * b;
  let ca = 4097.0 * a; let ah = ca - (ca - a); let al = a - ah;
  let cb = 4097.0 * b; let bh = cb - (cb - b); let bl = b - bh;
  return vec2<f32>(p, ((ah * bh - p) + ah * bl + al * bh) + al * bl);
}
// 1/r, refined by one Newton step with an exact residual (the GPU's division may be 2.5 ulp off).
fn recipF32(r: f32) -> f32 {
  let y = 1.0 / r;
  let pe = twoProd(r, y);
  return y + y * ((1.0 - pe.x) - pe.y);
}
${SINCOS_POLY}
fn tanPoly(r: f32) -> f32 {
  let z = r * r;
  return (((((9.38540185543e-3 * z + 3.11992232697e-3) * z + 2.44301354525e-2) * z + 5.34112807005e-2) * z
           + 1.33387994085e-1) * z + 3.33331568548e-1) * z * r + r;
}
fn sinF32(x: f32) -> f32 {
  if (isNan(x) || isInf(x)) { return nanF32(); }
  if (abs(x) <= 0.785398) { return sinPoly(x); }
  let red = reduceHalfPi(abs(x));
  let r = red.x; let rLo = red.y; let q = u32(red.z);
  // sin(r + rLo) and cos(r + rLo) to first order in rLo.
  var v = select(sinPoly(r) + rLo * (1.0 - 0.5 * r * r), cosPoly(r) - rLo * r, (q & 1u) == 1u);
  v = select(v, -v, q >= 2u);
  return select(v, -v, x < 0.0);
}
fn cosF32(x: f32) -> f32 {
  if (isNan(x) || isInf(x)) { return nanF32(); }
  if (abs(x) <= 0.785398) { return cosPoly(x); }
  let red = reduceHalfPi(abs(x));
  let r = red.x; let rLo = red.y; let q = u32(red.z);
  let v = select(cosPoly(r) - rLo * r, sinPoly(r) + rLo * (1.0 - 0.5 * r * r), (q & 1u) == 1u);
  return select(v, -v, q == 1u || q == 2u);
}
fn tanF32(x: f32) -> f32 {
  if (isNan(x) || isInf(x)) { return nanF32(); }
  if (abs(x) <= 0.785398) { return tanPoly(x); }
  let red = reduceHalfPi(abs(x));
  let r = red.x; let rLo = red.y;
  let odd = red.z == 1.0 || red.z == 3.0;
  var v: f32;
  if (abs(r) < 0.015625) {
    // Series, so that near a pole -cot(r) is one rounding of -1/r plus small terms.
    let r2 = r * r;
    if (odd) {
      v = -recipF32(r) + (r * (0.3333333333 + r2 * (0.0222222222 + r2 * 0.0021164021)) + rLo / r2);
    } else {
      v = r + (r * r2 * (0.3333333333 + r2 * (0.1333333333 + r2 * 0.0539682540)) + rLo * (1.0 + r2));
    }
  } else {
    let t = tanPoly(r);
    v = select(t + rLo * (1.0 + t * t), -recipF32(t) + rLo * (1.0 + 1.0 / (t * t)), odd);
  }
  return select(v, -v, x < 0.0);
}`,
};

const NAN_IN = (expr: string) => `select(${expr}, $0, isNan($0))`;

export const UNARY: Record<string, UnarySpec> = {
  Abs: {f32: 'abs($0)', i32: 'abs($0)', out: 'same'},
  Acos: {f32: 'select(acos($0), nanF32(), isNan($0) || abs($0) > 1.0)'},
  Acosh: {f32: 'acoshF32($0)', helper: LOG_HELPER},
  Asin: {f32: 'select(asin($0), nanF32(), isNan($0) || abs($0) > 1.0)'},
  Asinh: {f32: 'asinhF32($0)', helper: LOG_HELPER},
  Atan: {f32: NAN_IN('atan($0)')},
  Atanh: {f32: 'atanhF32($0)', helper: LOG_HELPER},
  Ceil: {f32: 'ceil($0)', i32: '$0', out: 'same'},
  Cos: {f32: 'cosF32($0)', helper: TRIG_HELPER},
  Cosh: {f32: 'coshF32($0)', helper: EXP_HELPER},
  Elu: {f32: NAN_IN('select(expF32($0) - 1.0, $0, $0 >= 0.0)'), helper: EXP_HELPER},
  Erf: {f32: NAN_IN('erfApprox($0)'), helper: ERF_HELPER},
  Exp: {f32: 'expF32($0)', helper: EXP_HELPER},
  Expm1: {f32: 'expm1F32($0)', helper: EXP_HELPER},
  Floor: {f32: 'floor($0)', i32: '$0', out: 'same'},
  IsFinite: {f32: 'i32(!isNan($0) && !isInf($0))', i32: '1', out: 'bool'},
  IsInf: {f32: 'i32(isInf($0))', i32: '0', out: 'bool'},
  IsNan: {f32: 'i32(isNan($0))', i32: '0', out: 'bool'},
  Log: {f32: 'logF32($0)', helper: LOG_HELPER},
  Log1p: {f32: 'log1pF32($0)', helper: LOG_HELPER},
  // NaN is falsy in JavaScript: tfjs-backend-cpu's logicalNot(NaN) is true.
  LogicalNot: {f32: 'i32($0 == 0.0 || isNan($0))', i32: 'i32($0 == 0)', out: 'bool'},
  Neg: {f32: '-$0', i32: '-$0', out: 'same'},
  Reciprocal: {f32: '1.0 / $0'},
  // The explicit NaN test: NVIDIA's compiler turns the plain select into max(x, 0), losing NaN.
  Relu: {f32: NAN_IN('select($0, 0.0, $0 < 0.0)'), i32: 'max($0, 0)', out: 'same'},
  Relu6: {f32: NAN_IN('clamp($0, 0.0, 6.0)'), i32: 'clamp($0, 0, 6)', out: 'same'},
  Round: {f32: 'round($0)', i32: '$0', out: 'same'},
  Rsqrt: {f32: 'rsqrtF32($0)', helper: LOG_HELPER},
  Selu: {f32: NAN_IN(`select(${backend_util.SELU_SCALEALPHA} * (expF32($0) - 1.0), ${backend_util.SELU_SCALE} * $0, $0 >= 0.0)`),
         helper: EXP_HELPER},
  Sigmoid: {f32: NAN_IN('1.0 / (1.0 + expF32(-$0))'), helper: EXP_HELPER},
  // tfjs-backend-cpu: NaN is neither < 0 nor > 0, so its sign is 0.
  Sign: {f32: 'select(sign($0), 0.0, isNan($0))', i32: 'sign($0)', out: 'same'},
  Sin: {f32: 'sinF32($0)', helper: TRIG_HELPER},
  Sinh: {f32: 'sinhF32($0)', helper: EXP_HELPER},
  Softplus: {f32: NAN_IN('softplus($0)'), helper: SOFTPLUS_HELPER},
  Sqrt: {f32: 'sqrtF32($0)', helper: LOG_HELPER},
  Square: {f32: '$0 * $0', i32: '$0 * $0', out: 'same'},
  Tan: {f32: 'tanF32($0)', helper: TRIG_HELPER},
  Tanh: {f32: 'tanhF32($0)', helper: EXP_HELPER},
  Step: {f32: NAN_IN('select($a, 1.0, $0 > 0.0)'), i32: 'select(i32($a), 1, $0 > 0)', out: 'same', attrs: a => [a.alpha as number ?? 0]},
  LeakyRelu: {f32: 'select($a * $0, $0, $0 >= 0.0)', attrs: a => [a.alpha as number]},
  ClipByValue: {f32: NAN_IN('select(select($0, $a, $0 < $a), $b, $0 > $b)'),
                i32: 'select(select($0, i32($a), f32($0) < $a), i32($b), f32($0) > $b)', out: 'same',
                attrs: a => [a.clipValueMin as number, a.clipValueMax as number]},
};

/** A unary op's template with its attributes as arguments, its type and attribute leaves. */
interface UnaryForm {
  template: string;
  type: 'f32'|'i32';
  attrs: Expr[];
}

/** UnaryForm by op name and integer-ness (pure functions of the table: built once each). */
const UNARY_FORMS = new Map<string, UnaryForm>();

function unaryForm(name: string, useInt: boolean): UnaryForm {
  const id = useInt ? `${name}|i` : name;
  let form = UNARY_FORMS.get(id);
  if (!form) {
    const spec = UNARY[name];
    // The attributes ($a, $b) are uniform leaves (attr0, attr1), so that fusion can rename them.
    const template = (useInt ? spec.i32! : spec.f32).replace(/\$a/g, '$1').replace(/\$b/g, '$2');
    const used = template.includes('$2') ? 2 : template.includes('$1') ? 1 : 0;
    const attrs: Expr[] = Array.from({length: used}, (_, i) => ({kind: 'uniform', name: `attr${i}`, type: 'f32'}));
    form = {template, type: spec.out === 'bool' ? 'i32' : useInt ? 'i32' : 'f32', attrs};
    UNARY_FORMS.set(id, form);
  }
  return form;
}

/** The elementwise expression of unary op `name` applied to `arg` (used by kernels and fusion). */
export function unaryExpr(name: string, arg: Expr, isInt: boolean): Expr {
  const spec = UNARY[name];
  const useInt = isInt && spec.i32 !== undefined;
  const {template, type, attrs} = unaryForm(name, useInt);
  const x = useInt || arg.type === 'f32' ? arg : op('f32($0)', 'f32', [arg]);
  return op(template, type, attrs.length === 0 ? [x] : [x, ...attrs], spec.helper);
}

function outDtype(spec: UnarySpec, x: TensorInfo): DataType {
  if (spec.out === 'bool') return 'bool';
  if (spec.out === 'same') return x.dtype === 'bool' ? 'int32' : x.dtype;
  return 'float32';
}

function unaryKernel(name: string): KernelFunc {
  const spec = UNARY[name];
  // The expression by input dtype: built once, so its key (exprKey) is computed once too.
  const exprs = new Map<DataType, Expr>();
  return ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const x = (inputs as {x: TensorInfo}).x;
    if (x.dtype === 'string' || x.dtype === 'complex64') {
      throw new Error(`${name}: mpsgpu does not take ${x.dtype} input 'x' (shape [${x.shape}])`);
    }
    const isInt = x.dtype !== 'float32';
    const dtype = outDtype(spec, x);
    let expr = exprs.get(x.dtype);
    if (!expr) {
      expr = unaryExpr(name, inputAs(0, x, isInt && spec.i32 !== undefined ? 'i32' : 'f32'), isInt);
      exprs.set(x.dtype, expr);
    }
    const values = spec.attrs ? spec.attrs(attrs ?? {}) : [];
    const uniforms = values.map((value, i) => ({name: `attr${i}`, type: 'f32' as const, value}));
    return runElementwise(b, name, expr, [x], dtype, x.shape, uniforms);
  };
}

const HYPOT_HELPER: Helper = {
  name: 'hypotF32',
  code: `fn hypotF32(a: f32, b: f32) -> f32 {
  // Math.hypot, as tfjs-backend-cpu: scaled so that tiny and huge parts neither underflow nor
  // overflow; an infinite part wins over NaN.
  if (isInf(a) || isInf(b)) { return infF32(); }
  if (isNan(a) || isNan(b)) { return nanF32(); }
  let x = abs(a); let y = abs(b);
  let m = max(x, y);
  if (m == 0.0) { return 0.0; }
  let r = min(x, y) / m;
  return m * sqrt(1.0 + r * r);
}`,
};

/** |x| of complex64 x: float32 (tf.abs on complex64 dispatches this kernel). */
export const complexAbsConfig: KernelConfig = {
  kernelName: ComplexAbs,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend}) => {
    const b = mpsgpuBackend(backend);
    const {x} = inputs as {x: TensorInfo};
    if (x.dtype !== 'complex64') {
      throw new Error(`ComplexAbs: input 'x' must be complex64, got dtype ${x.dtype} (shape [${x.shape}])`);
    }
    const {real, imag} = complexParts(b, x);
    const expr = op('hypotF32($0, $1)', 'f32', [input(0, 'f32'), input(1, 'f32')], HYPOT_HELPER);
    return runElementwise(b, ComplexAbs, expr, [real, imag], 'float32', x.shape);
  },
};

export const unaryKernelConfigs: KernelConfig[] = [
  ...Object.keys(UNARY).map(name => ({kernelName: name, backendName: 'mpsgpu', kernelFunc: unaryKernel(name)})),
  complexAbsConfig,
];
