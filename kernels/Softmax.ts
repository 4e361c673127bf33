// Softmax over the last axis, numerically stable: exp(x - max) / sum(exp(x - max)), as
// tfjs-backend-cpu computes it: a NaN in a row makes the row NaN, and so does +Infinity (its
// x - max is Infinity - Infinity, NaN). exp is Exp's expF32, NaN in, NaN out, said explicitly
// (the builtin's exp(NaN) is unspecified: +Infinity on SwiftShader).
// Rows of up to 32 elements: one invocation per row. Longer rows: one workgroup per row (max and sum
// as trees in workgroup memory), read as vec4 where the row length is a multiple of 4. Very long
// rows, few: composed of two-pass reductions. On a CPU adapter, a few rows of up to 1024 elements
// also take one invocation per row (see rowPerInvocation). The program is kept per device and
// shape (a training step records the same softmax every step).
import {KernelConfig, Softmax, SoftmaxAttrs, TensorInfo, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {Program} from '../src/codegen/program.js';
import {cacheSet, deviceRecords, dispatch1D, ShaderSpec, Uniform} from '../src/codegen/shader.js';
import {isCpuAdapter} from '../src/device.js';
import {input, mpsgpuBackend, op, runElementwise} from '../src/kernel_util.js';
import {reduce, treeSteps, workgroupFor} from './reduce.js';
import {EXP_HELPER} from './unary.js';

const SOFTMAX_HELPERS = `fn maxNan(a: f32, b: f32) -> f32 {
  if (isNan(a) || isNan(b)) { return nanF32(); }
  return max(a, b);
}
${EXP_HELPER.code}`;

/**
 * Whether one invocation per row beats a workgroup per row. On lavapipe a workgroup runs on one
 * CPU thread, 8 invocations to a SIMD step, and its barriers switch between them: the 64 rows an
 * invocation-per-row workgroup holds take one dispatch task with no barriers. Interleaved on
 * lavapipe (2 cores, loaded), time per call against the tree program: 8×1000 0.88-0.93× (four
 * runs), 32×1000 0.88×; but 8×4096 1.15× (longer sequential loops). GPUs: workgroup trees.
 */
function rowPerInvocation(cpu: boolean, rows: number, cols: number): boolean {
  return cols <= 32 || (cpu && rows <= 64 && cols <= 1024);
}

function softmaxProgram(rows: number, cols: number, cpu: boolean): Program {
  const uniforms: Uniform[] = [{name: 'rows', type: 'u32', value: rows}, {name: 'cols', type: 'u32', value: cols}];
  if (rowPerInvocation(cpu, rows, cols)) {
    const wg = 64;
    const shader = (): ShaderSpec => ({
      inputs: [{name: 'x', type: 'f32'}],
      outputs: [{name: 'out', type: 'f32'}],
      workgroupSize: [wg, 1, 1],
      declarations: SOFTMAX_HELPERS,
      body: `
  let row = flatId;
  if (row >= u.rows) { return; }
  let base = row * u.cols;
  var m = -infF32();
  for (var c = 0u; c < u.cols; c = c + 1u) { m = maxNan(m, x[base + c]); }
  var s = 0.0;
  for (var c = 0u; c < u.cols; c = c + 1u) { let e = expF32(x[base + c] - m); out[base + c] = e; s = s + e; }
  for (var c = 0u; c < u.cols; c = c + 1u) { out[base + c] = out[base + c] / s; }`,
    });
    return {name: Softmax, key: 'softmax1', shader, uniforms, dispatch: dispatch1D(rows, wg)};
  }
  // Rows of a multiple of 4: vec4 loads and stores (a quarter of the loop trips and loads).
  const vec = cols % 4 === 0 ? 4 : 1;
  const wg = workgroupFor(cols / vec);
  const lanes = vec === 4 ? ['x', 'y', 'z', 'w'] : [''];
  const lane = (v: string, k: number) => (vec === 4 ? `${v}.${lanes[k]}` : v);
  const fold = (f: (a: string, b: string) => string, v: string, init: string) =>
    lanes.reduce((acc, _, k) => f(acc, lane(v, k)), init);
  const expOf = (v: string) => (vec === 4 ? `vec4<f32>(${lanes.map((_, k) => `expF32(${lane(v, k)} - m)`).join(', ')})` : `expF32(${v} - m)`);
  const shader = (): ShaderSpec => ({
    inputs: [{name: 'x', type: 'f32', vec4: vec === 4}],
    outputs: [{name: 'out', type: 'f32', vec4: vec === 4}],
    workgroupSize: [wg, 1, 1],
    declarations: `${SOFTMAX_HELPERS}\nvar<workgroup> sh: array<f32, ${wg}>;`,
    body: `
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.rows) { return; }
  let n = u.cols / ${vec}u;
  let base = row * n;
  var m = -infF32();
  for (var c = lindex; c < n; c = c + ${wg}u) { let v = x[base + c]; m = ${fold((a, b) => `maxNan(${a}, ${b})`, 'v', 'm')}; }
  sh[lindex] = m;
  workgroupBarrier();
  ${treeSteps(wg, o => `sh[lindex] = maxNan(sh[lindex], sh[${o}]);`)}
  m = sh[0];
  workgroupBarrier();
  var s = 0.0;
  for (var c = lindex; c < n; c = c + ${wg}u) { let e = ${expOf('x[base + c]')}; out[base + c] = e; s = s + ${vec === 4 ? 'e.x + e.y + e.z + e.w' : 'e'}; }
  sh[lindex] = s;
  workgroupBarrier();
  ${treeSteps(wg, o => `sh[lindex] = sh[lindex] + sh[${o}];`)}
  s = sh[0];
  // Each invocation rescales the exponentials it stored itself: no barrier, no second exp.
  for (var c = lindex; c < n; c = c + ${wg}u) { out[base + c] = out[base + c] / s; }`,
  });
  return {name: Softmax, key: `softmaxT${wg}|${vec}`, shader, uniforms, dispatch: dispatch1D(rows, 1)};
}

/** Record softmax of `logits` (float32) over its last axis. */
export function softmax(backend: MpsgpuBackend, logits: TensorInfo): TensorInfo {
  const shape = logits.shape;
  const cols = shape.length === 0 ? 1 : shape[shape.length - 1];
  const size = util.sizeFromShape(shape);
  if (size === 0) return backend.makeTensorInfo(shape, 'float32');
  const rows = size / cols;
  if (cols > 65536 && rows < 16) {
    // Few very long rows: the reductions split each row over many workgroups.
    const axis = [shape.length - 1];
    const m = reduce(backend, logits, axis, 'Max', true);
    const e = runElementwise(backend, Softmax, op('expF32($0 - $1)', 'f32', [input(0, 'f32'), input(1, 'f32')], EXP_HELPER), [logits, m], 'float32', shape);
    const s = reduce(backend, e, axis, 'Sum', true);
    const out = runElementwise(backend, Softmax, op('$0 / $1', 'f32', [input(0, 'f32'), input(1, 'f32')]), [e, s], 'float32', shape);
    for (const t of [m, e, s]) backend.disposeIntermediateTensorInfo(t);
    return out;
  }
  const records = deviceRecords(softmaxRecords, backend.gpu);
  const key = rows + '|' + cols;
  const program = records.get(key) ?? cacheSet(records, key, softmaxProgram(rows, cols, isCpuAdapter(backend.gpu)));
  return backend.runProgram(program, [logits], shape, 'float32');
}

/** Softmax programs by device, then rows and columns (bounded with cacheSet). */
const softmaxRecords = new WeakMap<object, Map<string, Program>>();

export const softmaxConfig: KernelConfig = {
  kernelName: Softmax,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {logits} = inputs as {logits: TensorInfo};
    const {dim} = attrs as unknown as SoftmaxAttrs;
    const rank = logits.shape.length;
    const d = dim === -1 ? rank - 1 : dim;
    if (d !== rank - 1) {
      throw new Error(`Softmax: mpsgpu takes softmax over the last axis of 'logits' only (as tfjs); got dim ${dim} ` +
        `for shape [${logits.shape}] (dtype ${logits.dtype})`);
    }
    if (logits.dtype !== 'float32') {
      throw new Error(`Softmax: input 'logits' must be float32, got dtype ${logits.dtype} (shape [${logits.shape}])`);
    }
    // As tfjs-backend-cpu: a scalar has no axis to take softmax over.
    util.parseAxisParam([d], logits.shape);
    return softmax(b, logits);
  },
};
