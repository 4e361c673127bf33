// FusedBatchNorm: offset + (x - mean) * scale / sqrt(variance + varianceEpsilon).
// tfjs-backend-cpu reads every parameter cyclically over x's flat index (parameter i % length),
// which is numpy broadcasting whenever the parameter's length is the size of a trailing block of
// x's shape (a [depth] vector on the last axis, or a same-rank tensor with leading 1s): then the
// work is one elementwise node. Any other length gets a dispatch that indexes cyclically.
import {FusedBatchNorm, FusedBatchNormAttrs, KernelConfig, TensorInfo, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {constant, Expr, input, op} from '../src/codegen/elementwise.js';
import {dispatch1D, ShaderSpec, wgslType} from '../src/codegen/shader.js';
import {mpsgpuBackend, reshapeView, runElementwise} from '../src/kernel_util.js';

const PARAMS = ['mean', 'variance', 'offset', 'scale'] as const;

/** The trailing block of `shape` with `size` elements (shortest), or null. */
function trailingShape(shape: number[], size: number): number[]|null {
  if (size === 1) return [];
  let p = 1;
  for (let k = shape.length - 1; k >= 0; --k) {
    p *= shape[k];
    if (p === size) return shape.slice(k);
    if (p > size) return null;
  }
  return null;
}

function asF32(e: Expr): Expr {
  return e.type === 'f32' ? e : op('f32($0)', 'f32', [e]);
}

function cyclicProgram(b: MpsgpuBackend, x: TensorInfo, params: TensorInfo[], present: boolean[], eps: number): TensorInfo {
  const size = util.sizeFromShape(x.shape);
  const names = PARAMS.filter((_, i) => present[i]);
  const read = (name: string, fallback: string) =>
    present[PARAMS.indexOf(name as typeof PARAMS[number])] ? `f32(${name}[i % u.${name}Len])` : fallback;
  const outType = wgslType(x.dtype);
  const value = `${read('offset', '0.0')} + (f32(x[i]) - ${read('mean', '0.0')}) * ${read('scale', '1.0')} / sqrt(${read('variance', '1.0')} + u.eps)`;
  const key = `batchnorm|cyclic|${present.map(p => (p ? 1 : 0)).join('')}|${[x, ...params].map(t => t.dtype).join(',')}`;
  const shader = (): ShaderSpec => ({
    inputs: [{name: 'x', type: wgslType(x.dtype)}, ...names.map((n, k) => ({name: n, type: wgslType(params[k].dtype)}))],
    outputs: [{name: 'y', type: outType}],
    workgroupSize: [64, 1, 1],
    body: `
  if (flatId >= u.size) { return; }
  let i = flatId;
  let v = ${value};
  y[i] = ${outType === 'f32' ? 'v' : 'i32(v)'};`,
  });
  return b.runProgram({
    name: FusedBatchNorm, key, shader,
    uniforms: [{name: 'size', type: 'u32', value: size}, {name: 'eps', type: 'f32', value: eps},
               ...names.map((n, k) => ({name: `${n}Len`, type: 'u32' as const, value: util.sizeFromShape(params[k].shape)}))],
    dispatch: dispatch1D(size, 64),
  }, [x, ...params], x.shape, x.dtype);
}

export const fusedBatchNormConfig: KernelConfig = {
  kernelName: FusedBatchNorm,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const ins = inputs as Record<string, TensorInfo|undefined|null>;
    const x = ins.x!;
    const eps = (attrs as unknown as FusedBatchNormAttrs).varianceEpsilon ?? 0.001;
    const all = [x, ...PARAMS.map(n => ins[n])];
    for (const [i, t] of all.entries()) {
      if (t != null && t.dtype !== 'float32' && t.dtype !== 'int32') {
        throw new Error(`${FusedBatchNorm}: input '${['x', ...PARAMS][i]}' has dtype ${t.dtype} (shape [${t.shape}]); ` +
          `mpsgpu's FusedBatchNorm takes float32 or int32.`);
      }
    }
    for (const n of ['mean', 'variance']) {
      if (ins[n] == null) throw new Error(`${FusedBatchNorm}: input '${n}' is required`);
    }
    const present = PARAMS.map(n => ins[n] != null);
    const params = PARAMS.map(n => ins[n]).filter((t): t is TensorInfo => t != null);
    for (const [k, t] of params.entries()) {
      if (util.sizeFromShape(t.shape) === 0 && util.sizeFromShape(x.shape) > 0) {
        const name = PARAMS.filter((_, i) => present[i])[k];
        throw new Error(`${FusedBatchNorm}: input '${name}' is empty (shape [${t.shape}]) but x has shape [${x.shape}]`);
      }
    }
    if (util.sizeFromShape(x.shape) === 0) return b.makeTensorInfo(x.shape, x.dtype);

    const shapes = params.map(t => trailingShape(x.shape, util.sizeFromShape(t.shape)));
    if (shapes.some(s => s === null)) return cyclicProgram(b, x, params, present, eps);

    // Elementwise: views of the parameters on x's trailing axes.
    const views = params.map((t, k) => reshapeView(b, t, shapes[k]!));
    const leaves = new Map<string, Expr>();
    PARAMS.filter((_, i) => present[i]).forEach((n, k) => {
      leaves.set(n, asF32(input(k + 1, wgslType(params[k].dtype))));
    });
    const xe = asF32(input(0, wgslType(x.dtype)));
    const epsE: Expr = {kind: 'uniform', name: 'eps', type: 'f32'};
    const centered = op('$0 - $1', 'f32', [xe, leaves.get('mean')!]);
    const scaled = leaves.has('scale') ? op('$0 * $1', 'f32', [centered, leaves.get('scale')!]) : centered;
    const normed = op('$0 / sqrt($1 + $2)', 'f32', [scaled, leaves.get('variance')!, epsE]);
    let e = leaves.has('offset') ? op('$0 + $1', 'f32', [leaves.get('offset')!, normed]) : op('$0 + $1', 'f32', [constant(0, 'f32'), normed]);
    if (x.dtype === 'int32') e = op('i32($0)', 'i32', [e]);
    const out = runElementwise(b, FusedBatchNorm, e, [x, ...views], x.dtype, x.shape, [{name: 'eps', type: 'f32', value: eps}]);
    views.forEach(v => b.disposeIntermediateTensorInfo(v));
    return out;
  },
};
