// LRN (local response normalization across channels, NHWC) and LRNGrad, as tfjs-backend-cpu:
//   y[c] = x[c] · (bias + alpha · Σ_{j ∈ win(c)} x[j]²)^-beta,  win(c) = [max(0, c - r), min(C - 1, c + r)].
// LRNGrad gathers instead of scattering: with norm(o) = bias + alpha · Σ_{win(o)} x² and the window
// symmetric (k ∈ win(o) ⇔ o ∈ win(k)),
//   dx[k] = -2·alpha·beta · x[k] · Σ_{o ∈ win(k)} y[o]·dy[o]/norm(o) + norm(k)^-beta · dy[k]   (r >= 0),
// computed in two passes: s = y·dy/norm, then dx.
import {KernelConfig, LRN, LRNAttrs, LRNGrad, TensorInfo, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {wgslType} from '../src/codegen/shader.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {asF32, check, checkDtype, checkNumber, checkRank4, describeTensor, floats, fromF32, image4DProgram, ints} from './image_common.js';

/** Math.pow for a positive-or-not base: NaN for a negative base and a fractional exponent. */
const JS_POW = `
fn jsPow(a: f32, e: f32) -> f32 {
  if (e == 0.0) { return 1.0; }
  if (isNan(a) || isNan(e)) { return nanF32(); }
  if (a == 0.0) { return select(0.0, infF32(), e < 0.0); }
  let p = pow(abs(a), e);
  if (a < 0.0) {
    if (floor(e) != e) { return nanF32(); }
    if (abs(e % 2.0) == 1.0) { return -p; }
  }
  return p;
}`;

interface LrnParams {
  radius: number;
  bias: number;
  alpha: number;
  beta: number;
}

function params(kernel: string, attrs: LRNAttrs, channels: number): LrnParams {
  const {depthRadius, bias, alpha, beta} = attrs;
  check(Number.isInteger(depthRadius), () => `${kernel}: attribute 'depthRadius' must be an integer, got ${JSON.stringify(depthRadius)}`);
  checkNumber(kernel, 'bias', bias);
  checkNumber(kernel, 'alpha', alpha);
  checkNumber(kernel, 'beta', beta);
  // Radii past the channel count change nothing; clamped so the shader's int math cannot overflow.
  return {radius: Math.max(-channels - 1, Math.min(channels + 1, depthRadius)), bias, alpha, beta};
}

/** `sum` = Σ x² over the window of channel `ch` of the pixel starting at `base`. */
function windowSum(x: string, type: 'f32'|'i32', ch: string, base: string): string {
  return `var sum = 0.0;
  for (var j = max(0, ${ch} - u.radius); j <= min(${ch} + u.radius, u.outC - 1); j = j + 1) {
    let z = ${asF32(`${x}[${base} + j]`, type)};
    sum = sum + z * z;
  }`;
}

function lrnUniforms(p: LrnParams) {
  return [...ints({radius: p.radius}), ...floats({bias: p.bias, alpha: p.alpha, negBeta: -p.beta})];
}

export const lrnConfig: KernelConfig = {
  kernelName: LRN,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x} = inputs as {x: TensorInfo};
    checkRank4(LRN, 'x', x);
    checkDtype(LRN, 'x', x, ['float32', 'int32']);
    const p = params(LRN, attrs as unknown as LRNAttrs, x.shape[3]);
    if (util.sizeFromShape(x.shape) === 0) return b.makeTensorInfo(x.shape, x.dtype);
    const type = wgslType(x.dtype) as 'f32'|'i32';
    const body = `
  let base = i32(i) - d;
  ${windowSum('x', type, 'd', 'base')}
  out[i] = ${fromF32(`${asF32('x[i]', type)} * jsPow(u.bias + u.alpha * sum, u.negBeta)`, type)};`;
    const program = image4DProgram(LRN, 'lrn', x.shape, [{name: 'x', type}], type, body, lrnUniforms(p), JS_POW);
    return b.runProgram(program, [x], x.shape, x.dtype);
  },
};

function lrnGrad(b: MpsgpuBackend, x: TensorInfo, y: TensorInfo, dy: TensorInfo, p: LrnParams): TensorInfo {
  const shape = x.shape;
  const [tx, ty, tdy] = [x, y, dy].map(t => wgslType(t.dtype) as 'f32'|'i32');
  // Pass 1: s[o] = y[o] · dy[o] / norm(o).
  const sBody = `
  let base = i32(i) - d;
  ${windowSum('x', tx, 'd', 'base')}
  out[i] = ${asF32('y[i]', ty)} * ${asF32('dy[i]', tdy)} / (u.alpha * sum + u.bias);`;
  const sProgram = image4DProgram(LRNGrad, 'lrnGrad|s', shape, [{name: 'x', type: tx}, {name: 'y', type: ty}, {name: 'dy', type: tdy}],
                                  'f32', sBody, lrnUniforms(p));
  const s = b.runProgram(sProgram, [x, y, dy], shape, 'float32');
  // Pass 2: dx[k] = m2ab · x[k] · Σ_{win(k)} s + norm(k)^-beta · dy[k].
  const body = `
  let base = i32(i) - d;
  ${windowSum('x', tx, 'd', 'base')}
  var sSum = 0.0;
  for (var j = max(0, d - u.radius); j <= min(d + u.radius, u.outC - 1); j = j + 1) {
    sSum = sSum + s[base + j];
  }
  // A negative radius leaves every window empty: no term at all (not even 0 · x).
  var g = 0.0;
  if (u.radius >= 0) {
    g = u.m2ab * ${asF32('x[i]', tx)} * sSum + jsPow(u.alpha * sum + u.bias, u.negBeta) * ${asF32('dy[i]', tdy)};
  }
  out[i] = ${fromF32('g', tx)};`;
  const program = image4DProgram(LRNGrad, 'lrnGrad|dx', shape,
                                 [{name: 'x', type: tx}, {name: 'dy', type: tdy}, {name: 's', type: 'f32'}], tx, body,
                                 [...lrnUniforms(p), ...floats({m2ab: -2 * p.alpha * p.beta})], JS_POW);
  const dx = b.runProgram(program, [x, dy, s], shape, x.dtype);
  b.disposeIntermediateTensorInfo(s);
  return dx;
}

export const lrnGradConfig: KernelConfig = {
  kernelName: LRNGrad,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x, y, dy} = inputs as {x: TensorInfo; y: TensorInfo; dy: TensorInfo};
    for (const [name, t] of [['x', x], ['y', y], ['dy', dy]] as const) {
      checkRank4(LRNGrad, name, t);
      checkDtype(LRNGrad, name, t, ['float32', 'int32']);
    }
    check(util.arraysEqual(x.shape, y.shape) && util.arraysEqual(x.shape, dy.shape),
          () => `${LRNGrad}: inputs 'x', 'y' and 'dy' must have the same shape, got x ${describeTensor(x)}, y ${describeTensor(y)}, dy ${describeTensor(dy)}`);
    const p = params(LRNGrad, attrs as unknown as LRNAttrs, x.shape[3]);
    if (util.sizeFromShape(x.shape) === 0) return b.makeTensorInfo(x.shape, x.dtype);
    return lrnGrad(b, x, y, dy, p);
  },
};
