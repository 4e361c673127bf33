// TopK along the last axis: values and int32 indices, always sorted (largest first; equal values
// by lower index first, as tfjs-backend-cpu; NaN counts as the largest value).
//
// Each element's rank in its group is the number of group members that come before it; the element
// of rank r < k is written to slot r. A row longer than a chunk (64 elements, or the power of two
// >= 4k) is first cut into chunks whose top k (with their original indices) become the next, 4×
// shorter row, so the work is about n·chunk per pass instead of n² for the whole row.
import {DataType, KernelConfig, TensorInfo, TopK, TopKAttrs, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {Program} from '../src/codegen/program.js';
import {dispatch1D, ShaderSpec, Uniform} from '../src/codegen/shader.js';
import {mpsgpuBackend, reshapeView} from '../src/kernel_util.js';

import {check, storageType, WORKGROUP} from './array_common.js';

/** Chunks hold at least 4k elements (so each pass shrinks the rows 4×), and at least 64. */
function chunkFor(k: number): number {
  let chunk = 64;
  while (chunk < 4 * k) chunk *= 2;
  return chunk;
}

/**
 * One pass over `rows` rows of `n` elements cut into chunks of `chunk`: the top `kk` of each chunk
 * (fewer for a shorter last chunk) go, in order, to [rows, outN] values and indices.
 */
function topkProgram(rows: number, n: number, chunk: number, kk: number, outN: number, type: 'f32'|'i32',
                     withIndices: boolean): Program {
  const size = rows * n;
  const uniforms: Uniform[] = [
    {name: 'size', type: 'u32', value: size},
    {name: 'n', type: 'u32', value: n},
    {name: 'chunk', type: 'u32', value: chunk},
    {name: 'kk', type: 'u32', value: kk},
    {name: 'outN', type: 'u32', value: outN},
  ];
  const index = (p: string) => (withIndices ? `idx[row * u.n + ${p}]` : `i32(${p})`);
  const nanCheck = type === 'f32';
  const shader = (): ShaderSpec => ({
    inputs: [{name: 'vals', type}, ...(withIndices ? [{name: 'idx', type: 'i32' as const}] : [])],
    outputs: [{name: 'outV', type}, {name: 'outI', type: 'i32'}],
    workgroupSize: [WORKGROUP, 1, 1],
    declarations: `
// Whether (a, ia) comes before (b, ib): larger first, NaN largest, ties by lower index.
fn before(a: ${type}, ia: i32, b: ${type}, ib: i32) -> bool {
  ${nanCheck ? `let na = isNan(a); let nb = isNan(b);
  if (na != nb) { return na; }
  if (na) { return ia < ib; }` : ''}
  if (a != b) { return a > b; }
  return ia < ib;
}`,
    body: `
  let i = flatId;
  if (i >= u.size) { return; }
  let row = i / u.n;
  let p = i - row * u.n;
  let c = p / u.chunk;
  let start = c * u.chunk;
  let end = min(start + u.chunk, u.n);
  let v = vals[i];
  let iv = ${index('p')};
  var rank = 0u;
  for (var q = start; q < end; q = q + 1u) {
    if (before(vals[row * u.n + q], ${index('q')}, v, iv)) { rank = rank + 1u; }
  }
  if (rank < u.kk) {
    let o = row * u.outN + c * u.kk + rank;
    outV[o] = v;
    outI[o] = iv;
  }`,
  });
  return {name: TopK, key: `topk|${type}|${withIndices}`, shader, uniforms, dispatch: dispatch1D(size, WORKGROUP)};
}

function topk(b: MpsgpuBackend, x: TensorInfo, k: number): [TensorInfo, TensorInfo] {
  const n = x.shape[x.shape.length - 1];
  const rows = util.sizeFromShape(x.shape) / Math.max(n, 1);
  const outShape = [...x.shape.slice(0, -1), k];
  const dtype: DataType = x.dtype === 'bool' ? 'bool' : x.dtype;
  if (util.sizeFromShape(outShape) === 0) return [b.makeTensorInfo(outShape, dtype), b.makeTensorInfo(outShape, 'int32')];
  const type = storageType(x.dtype);
  let values = reshapeView(b, x, [rows, n]);
  let indices: TensorInfo|null = null;
  let len = n;
  for (;;) {
    const final = len <= chunkFor(k);
    const chunk = final ? len : chunkFor(k);
    const chunks = Math.ceil(len / chunk);
    const outN = final ? k : (chunks - 1) * k + Math.min(k, len - (chunks - 1) * chunk);
    const program = topkProgram(rows, len, chunk, k, outN, type, indices !== null);
    const [v, i] = b.runProgramMulti(program, indices === null ? [values] : [values, indices],
                                     [{shape: [rows, outN], dtype}, {shape: [rows, outN], dtype: 'int32'}]);
    b.disposeIntermediateTensorInfo(values);
    if (indices) b.disposeIntermediateTensorInfo(indices);
    values = v;
    indices = i;
    len = outN;
    if (final) break;
  }
  const result: [TensorInfo, TensorInfo] = [reshapeView(b, values, outShape), reshapeView(b, indices!, outShape)];
  b.disposeIntermediateTensorInfo(values);
  b.disposeIntermediateTensorInfo(indices!);
  return result;
}

export const topKConfig: KernelConfig = {
  kernelName: TopK,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x} = inputs as {x: TensorInfo};
    const {k} = attrs as unknown as TopKAttrs;
    check(x.dtype === 'float32' || x.dtype === 'int32' || x.dtype === 'bool',
          () => `TopK: input 'x' has dtype ${x.dtype} (shape [${x.shape}]); TopK takes float32, int32 or bool`);
    check(x.shape.length >= 1, () => `TopK: input 'x' must be rank 1 or higher, got a scalar (dtype ${x.dtype})`);
    const n = x.shape[x.shape.length - 1];
    check(Number.isInteger(k) && k >= 0 && k <= n,
          () => `TopK: k must be an integer in [0, ${n}] (the last dimension of input 'x', shape [${x.shape}]), got ${k}`);
    // Sorted or not, the result is sorted (a valid order for sorted = false).
    return topk(b, x, k);
  },
};
