// Mean and variance over any axes in one read of x, numerically stable: the batch-norm statistics
// that graph fusion uses in place of tf.moments' Mean → SquaredDifference → Mean (three passes
// over x, one more tensor of x's size).
//
// Laid out as a column reduction (kernels/reduce.ts: columnLayout): each invocation runs Welford's
// update over its rows (count n, mean m, sum of squared deviations q), the lanes of a workgroup
// and then the chunks merge with Chan's formula
//   n = na + nb,  m = ma + (mb - ma)·nb/n,  q = qa + qb + (mb - ma)²·na·nb/n,
// and variance = q / n. A chunk's count is not stored: chunk c of a pass whose chunks span `span`
// rows of x counts min(span, R - c·span).
//
// Differences from tf.moments: a value of ±Infinity gives a NaN mean (tf.moments: ±Infinity) and
// NaN variance (as tf.moments); NaN gives NaN for both (as tf.moments).
import * as tf from '@tensorflow/tfjs-core';
import {backend_util, DataType, engine, getKernel, GradConfig, KernelConfig, NamedAttrMap, registerGradient, registerKernel, Tensor, TensorInfo, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {Program} from '../src/codegen/program.js';
import {ShaderSpec, wgslType} from '../src/codegen/shader.js';
import {fill, mpsgpuBackend} from '../src/kernel_util.js';
import {ColumnBody, columnChunks, ColumnLayout, columnLayout, columnShader, reduceGeometry, ReduceGeometry} from './reduce.js';

/** The kernel behind mpsgpu.moments (a name of mpsgpu's own: tfjs has no single moments kernel). */
export const MOMENTS_KERNEL = 'MpsgpuMoments';


/**
 * One pass of the moments: 'welford' reads x, 'merge' reads the partial means and q of the pass
 * before (whose chunks each span `span` rows of x). chunks > 1: writes partial means and q;
 * chunks = 1: writes mean and variance.
 */
function momentsProgram(kind: 'welford'|'merge', xType: DataType, l: ColumnLayout, chunks: number, span: number,
                        total: number): Program {
  const T = l.vec === 4 ? 'vec4<f32>' : 'f32';
  const toF32 = (v: string) => (xType === 'float32' ? v : l.vec === 4 ? `vec4<f32>(${v})` : `f32(${v})`);
  const final = chunks === 1;
  const body: ColumnBody = {
    declarations: `var<workgroup> shN: array<f32, ${l.wx * l.wy}>;
var<workgroup> shM: array<${T}, ${l.wx * l.wy}>;
var<workgroup> shQ: array<${T}, ${l.wx * l.wy}>;`,
    init: `var n = 0.0;\n  var m = ${T}(0.0);\n  var q = ${T}(0.0);`,
    // Welford: one reciprocal per row, shared by the four columns of a vec4.
    step: kind === 'welford' ?
      idx => `let v = ${toF32(`x[${idx}]`)};
      n = n + 1.0;
      let d = v - m;
      m = m + d * (1.0 / n);
      q = q + d * (v - m);` :
      idx => `let nb = f32(min(u.span, u.total - r * u.span));
      let nn = n + nb;
      let d = x[${idx}] - m;
      let w = nb / nn;
      m = m + d * w;
      q = q + x2[${idx}] + d * d * (n * w);
      n = nn;`,
    save: 'shN[lindex] = n;\n  shM[lindex] = m;\n  shQ[lindex] = q;',
    merge: o => `let na = shN[lindex]; let nb = shN[${o}]; let nn = na + nb;
    if (nn > 0.0) {
      let w = nb / nn;
      let d = shM[${o}] - shM[lindex];
      shM[lindex] = shM[lindex] + d * w;
      shQ[lindex] = shQ[lindex] + shQ[${o}] + d * d * (na * w);
      shN[lindex] = nn;
    }`,
    write: o => (final ?
      `mean[${o}] = shM[lindex];\n    variance[${o}] = shQ[lindex] / shN[lindex];` :
      `mean[${o}] = shM[lindex];\n    variance[${o}] = shQ[lindex];`),
  };
  const cs = columnShader(l, chunks, body);
  const inType = kind === 'welford' ? wgslType(xType) : 'f32';
  const vec4 = l.vec === 4;
  const shader = (): ShaderSpec => ({
    inputs: kind === 'welford' ? [{name: 'x', type: inType, vec4}] : [{name: 'x', type: 'f32', vec4}, {name: 'x2', type: 'f32', vec4}],
    outputs: [{name: 'mean', type: 'f32', vec4}, {name: 'variance', type: 'f32', vec4}],
    workgroupSize: [l.wx, l.wy, 1],
    declarations: cs.declarations,
    body: cs.main,
  });
  const uniforms = [...cs.uniforms];
  if (kind === 'merge') uniforms.push({name: 'span', type: 'u32', value: span}, {name: 'total', type: 'u32', value: total});
  return {name: MOMENTS_KERNEL, key: `moments|${kind}|${inType}|${final ? 1 : 'n'}|${cs.key}`, shader, uniforms, dispatch: cs.dispatch};
}

/**
 * Record mean and variance of `x` over `axes` (normalized, no repeats): float32 tensors of the kept
 * dimensions (`keepDims`: size-1 dimensions in place of the reduced ones).
 */
export function moments(backend: MpsgpuBackend, x: TensorInfo, axes: number[], keepDims: boolean): [TensorInfo, TensorInfo] {
  const [outShape0] = backend_util.computeOutAndReduceShapes(x.shape, [...axes].sort((a, b) => a - b));
  const outShape = keepDims ? backend_util.expandShapeToKeepDim(outShape0, axes) : outShape0;
  const g = reduceGeometry(x.shape, axes);
  if (g.outSize === 0) return [backend.makeTensorInfo(outShape, 'float32'), backend.makeTensorInfo(outShape, 'float32')];
  // As tfjs-backend-cpu's Mean of no elements (each element divided by 0, summed: 0).
  if (g.reduceSize === 0) return [fill(backend, outShape, 0, 'float32'), fill(backend, outShape, 0, 'float32')];
  return momentsPass(backend, 'welford', x, x, g, 1, g.reduceSize, outShape);
}

function momentsPass(backend: MpsgpuBackend, kind: 'welford'|'merge', a: TensorInfo, b: TensorInfo, g: ReduceGeometry,
                     span: number, total: number, outShape: number[]): [TensorInfo, TensorInfo] {
  const l = columnLayout(g, kind === 'merge');
  const chunks = columnChunks(l);
  const inputs = kind === 'welford' ? [a] : [a, b];
  const shape = chunks === 1 ? outShape : [chunks, g.outSize];
  const [m, q] = backend.runProgramMulti(momentsProgram(kind, a.dtype, l, chunks, span, total), inputs,
                                         [{shape, dtype: 'float32'}, {shape, dtype: 'float32'}]);
  if (chunks === 1) return [m, q];
  const chunkLen = Math.ceil(g.reduceSize / chunks);
  const result = momentsPass(backend, 'merge', m, q, reduceGeometry([chunks, g.outSize], [0]), span * chunkLen, total, outShape);
  backend.disposeIntermediateTensorInfo(m);
  backend.disposeIntermediateTensorInfo(q);
  return result;
}

interface MomentsAttrs {
  axes: number[];
  keepDims: boolean;
}

export const momentsConfig: KernelConfig = {
  kernelName: MOMENTS_KERNEL,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const {x} = inputs as {x: TensorInfo};
    const {axes, keepDims} = attrs as unknown as MomentsAttrs;
    if (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') {
      throw new Error(`${MOMENTS_KERNEL}: input 'x' must be float32, int32 or bool, got dtype ${x.dtype} (shape [${x.shape}])`);
    }
    return moments(mpsgpuBackend(backend), x, axes, keepDims);
  },
};

/** d mean / dx = dmean / R; d variance / dx = dvariance · 2 (x - mean) / R. */
const momentsGradient: GradConfig = {
  kernelName: MOMENTS_KERNEL,
  inputsToSave: ['x'],
  outputsToSave: [true, false],
  gradFunc: (dy: Tensor|Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const dys = dy as Tensor[];
    const [x, mean] = saved;
    const {axes} = attrs as unknown as MomentsAttrs;
    const count = axes.reduce((p, a) => p * x.shape[a], 1);
    const keep = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    return {
      x: () => tf.tidy(() => {
        const dm = tf.reshape(dys[0], keep), dv = tf.reshape(dys[1], keep);
        const centered = tf.sub(tf.cast(x, 'float32'), tf.reshape(mean, keep));
        return tf.div(tf.add(dm, tf.mul(tf.mul(dv, 2), centered)), count);
      }),
    };
  },
};

let registered = false;

/**
 * mpsgpu.moments: {mean, variance} of `x` over `axes` (default: all) in one pass, as float32
 * tensors. Differentiable with respect to x.
 */
export function momentsOp(x: Tensor, axes?: number|number[], keepDims = false): {mean: Tensor; variance: Tensor} {
  if (!registered) {
    if (getKernel(MOMENTS_KERNEL, 'mpsgpu') == null) {
      registerKernel(momentsConfig);
      registerGradient(momentsGradient);
    }
    registered = true;
  }
  if (engine().backendName !== 'mpsgpu') {
    throw new Error(`mpsgpu.moments: the active backend is '${engine().backendName}'; await tf.setBackend('mpsgpu') first`);
  }
  const parsed = util.parseAxisParam(axes ?? x.shape.map((_, i) => i), x.shape);
  if (new Set(parsed).size !== parsed.length) {
    throw new Error(`mpsgpu.moments: the axes [${parsed}] of input 'x' (shape [${x.shape}], dtype ${x.dtype}) repeat an axis`);
  }
  const attrs: MomentsAttrs = {axes: parsed, keepDims};
  const [mean, variance] = engine().runKernel(MOMENTS_KERNEL, {x}, attrs as unknown as NamedAttrMap) as Tensor[];
  return {mean, variance};
}
