// UnsortedSegmentSum, and the segment reduction ScatterNd, TensorScatterUpdate and the bincounts
// are built on: out[s, n] = reduction over the rows j with ids[j] == s of values[j, n], rows taken
// in increasing j (ids outside [0, numSegments) are ignored, as tfjs-backend-cpu ignores them).
//
// Ids already on the CPU (uploaded from JavaScript, as the indices of a gather usually are): the
// segments are listed there as CSR (segment ends, and the rows of each segment in order) and each
// output element reads only its own rows. Ids computed on the GPU: narrow rows scan every id per
// output element; wide rows first build the same CSR on the GPU (count per segment, inclusive
// cumsum of the counts, the rows of each segment in order).
import {DataType, KernelConfig, TensorInfo, UnsortedSegmentSum, UnsortedSegmentSumAttrs, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {BufferDecl} from '../src/codegen/shader.js';
import {fill, mpsgpuBackend, reshapeView} from '../src/kernel_util.js';

import {perElementProgram, storageType} from './array_common.js';
import {cumulative} from './Cumsum.js';

/**
 * 'sum': Σ values; 'mean': Σ values / count (0 when empty; truncated for int32); 'count': the number
 * of rows (no values); 'any': 1 if any row (no values); 'last': values of the last row, or
 * `base[s, n]` when the segment is empty.
 */
export type SegmentMode = 'sum'|'mean'|'count'|'any'|'last';

/** Row widths below this use the direct scan (no CSR). */
const CSR_MIN_INNER = 4;

export interface SegmentArgs {
  name: string;
  /** [rows, inner] (any shape of that size); null for 'count' and 'any'. */
  values: TensorInfo|null;
  /** int32 ids of the rows, `rows` of them (any shape). */
  ids: TensorInfo;
  numSegments: number;
  inner: number;
  dtype: DataType;
  mode: SegmentMode;
  /** 'last' only: [numSegments, inner], the value where a segment is empty. */
  base?: TensorInfo;
  /**
   * Segment lists already known (computed on the CPU): `ends[s]` one past segment s's last entry
   * in `perm`, whose entries are rows of `values`. `ids` is then unused.
   */
  csr?: {ends: TensorInfo; perm: TensorInfo};
}

/** The ids' values when they are already on the CPU (uploaded from JavaScript), else null. */
export function cpuValues(b: MpsgpuBackend, t: TensorInfo): ArrayLike<number>|null {
  const values = b.data.get(t.dataId).values;
  return values == null ? null : values as unknown as ArrayLike<number>;
}

/** Segment lists built on the CPU from known ids (rows in increasing order within a segment). */
export function csrOnCpu(b: MpsgpuBackend, ids: ArrayLike<number>, numSegments: number) {
  const ends = new Int32Array(numSegments);
  for (let j = 0; j < ids.length; ++j) {
    const s = ids[j];
    if (s >= 0 && s < numSegments) ends[s]++;
  }
  for (let s = 1; s < numSegments; ++s) ends[s] += ends[s - 1];
  const next = new Int32Array(numSegments);
  for (let s = 1; s < numSegments; ++s) next[s] = ends[s - 1];
  const perm = new Int32Array(numSegments > 0 ? ends[numSegments - 1] : 0);
  for (let j = 0; j < ids.length; ++j) {
    const s = ids[j];
    if (s >= 0 && s < numSegments) perm[next[s]++] = j;
  }
  return {ends: b.makeTensorInfo([numSegments], 'int32', ends), perm: b.makeTensorInfo([perm.length], 'int32', perm)};
}

function accumulate(mode: SegmentMode, type: 'f32'|'i32', valuesType: 'f32'|'i32'|null): string {
  const one = type === 'f32' ? '1.0' : '1';
  const value = valuesType === type ? 'vals[j * u.inner + n]' : `${type}(vals[j * u.inner + n])`;
  switch (mode) {
    case 'sum':
    case 'mean': return `acc = acc + ${value};`;
    case 'count': return `acc = acc + ${one};`;
    case 'any': return `acc = ${one};`;
    case 'last': return `acc = ${value};`;
  }
}

/** The reduction as a [numSegments · inner] tensor of `dtype`. */
export function segmentReduce(b: MpsgpuBackend, a: SegmentArgs): TensorInfo {
  const {numSegments: S, inner, dtype, mode} = a;
  const rows = util.sizeFromShape(a.ids.shape);
  const outShape = [S * inner];
  if (S * inner === 0) return b.makeTensorInfo(outShape, dtype);
  if (rows === 0) {
    if (mode === 'last') return reshapeView(b, a.base!, outShape);
    return fill(b, outShape, 0, dtype);
  }
  const type = storageType(dtype);
  const inputs: TensorInfo[] = [];
  const decls: BufferDecl[] = [];
  const valuesType = a.values === null ? null : storageType(a.values.dtype);
  if (a.values !== null) {
    inputs.push(a.values);
    decls.push({name: 'vals', type: storageType(a.values.dtype)});
  }
  const init = mode === 'last' ? 'base[s * u.inner + n]' : (type === 'f32' ? '0.0' : '0');
  if (mode === 'last') {
    inputs.push(a.base!);
    decls.push({name: 'base', type: storageType(a.base!.dtype)});
  }
  const step = accumulate(mode, type, valuesType);
  const uniforms = [{name: 'rows', type: 'u32' as const, value: rows}, {name: 'inner', type: 'u32' as const, value: inner}];
  const head = `
  let s = i / u.inner;
  let n = i - s * u.inner;
  var acc: ${type} = ${init};`;
  // Ids already on the CPU: their lists cost nothing to build there.
  const known = a.csr === undefined ? cpuValues(b, a.ids) : null;
  const csr = a.csr ?? (known !== null ? csrOnCpu(b, known, S) : undefined);
  if (inner < CSR_MIN_INNER && csr === undefined) {
    const body = `${head}
  for (var j = 0u; j < u.rows; j = j + 1u) {
    if (ids[j] == i32(s)) { ${step} }
  }
  out[i] = acc;`;
    const program = perElementProgram(a.name, `segment|scan|${mode}`, S * inner,
                                      [...decls, {name: 'ids', type: 'i32'}], type, body, uniforms);
    return b.runProgram(program, [...inputs, a.ids], outShape, dtype);
  }
  const {ends, perm} = csr ?? segmentLists(b, a.name, a.ids, rows, S);
  const count = type === 'f32' ? 'f32(end - start)' : 'i32(end - start)';
  const body = `${head}
  let start = select(0u, u32(ends[s - 1u]), s > 0u);
  let end = u32(ends[s]);
  for (var q = start; q < end; q = q + 1u) {
    let j = u32(perm[q]);
    ${step}
  }
  ${mode === 'mean' ? `if (end > start) { acc = acc / ${count}; }` : ''}
  out[i] = acc;`;
  const program = perElementProgram(a.name, `segment|csr|${mode}`, S * inner,
                                    [...decls, {name: 'ends', type: 'i32'}, {name: 'perm', type: 'i32'}], type, body,
                                    uniforms);
  const out = b.runProgram(program, [...inputs, ends, perm], outShape, dtype);
  if (a.csr === undefined) {
    // Lists this call made (on the CPU or the GPU).
    b.disposeIntermediateTensorInfo(ends);
    b.disposeIntermediateTensorInfo(perm);
  }
  return out;
}

/**
 * CSR lists of the segments: `ends[s]` is one past the last entry of segment s in `perm`, which
 * holds the rows of each segment in increasing order.
 */
function segmentLists(b: MpsgpuBackend, name: string, ids: TensorInfo, rows: number, S: number) {
  const uniforms = [{name: 'rows', type: 'u32' as const, value: rows}];
  const countBody = `
  var c = 0;
  for (var j = 0u; j < u.rows; j = j + 1u) { c = c + i32(ids[j] == i32(i)); }
  out[i] = c;`;
  const counts = b.runProgram(perElementProgram(name, 'segment|count', S, [{name: 'ids', type: 'i32'}], 'i32', countBody, uniforms),
                              [ids], [S], 'int32');
  const ends = cumulative(b, name, counts, 0, false, false, 'sum');
  b.disposeIntermediateTensorInfo(counts);
  const listBody = `
  var q = select(0u, u32(ends[i - 1u]), i > 0u);
  for (var j = 0u; j < u.rows; j = j + 1u) {
    if (ids[j] == i32(i)) { out[q] = i32(j); q = q + 1u; }
  }`;
  const perm = b.runProgram(perElementProgram(name, 'segment|list', S, [{name: 'ids', type: 'i32'}, {name: 'ends', type: 'i32'}],
                                              'i32', listBody, uniforms),
                            [ids, ends], [rows], 'int32');
  return {ends, perm};
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x, segmentIds} = inputs as {x: TensorInfo; segmentIds: TensorInfo};
    const {numSegments} = attrs as unknown as UnsortedSegmentSumAttrs;
    if (x.dtype === 'string' || x.dtype === 'complex64') {
      throw new Error(`UnsortedSegmentSum: input 'x' has dtype ${x.dtype} (shape [${x.shape}]); it takes float32, int32 or bool`);
    }
    if (segmentIds.dtype !== 'int32') {
      throw new Error(`UnsortedSegmentSum: input 'segmentIds' must be int32, got dtype ${segmentIds.dtype} (shape [${segmentIds.shape}])`);
    }
    const idRank = segmentIds.shape.length;
    if (idRank > x.shape.length || segmentIds.shape.some((d, i) => d !== x.shape[i])) {
      throw new Error(`UnsortedSegmentSum: the shape of 'segmentIds' [${segmentIds.shape}] must be a prefix of ` +
        `the shape of 'x' [${x.shape}] (dtype ${x.dtype})`);
    }
    if (!Number.isInteger(numSegments) || numSegments < 0) {
      throw new Error(`UnsortedSegmentSum: numSegments must be a non-negative integer, got ${numSegments}`);
    }
    const innerShape = x.shape.slice(idRank);
    const inner = util.sizeFromShape(innerShape);
    // tfjs-backend-cpu sums float32 masks times x: the result is float32 whatever x's dtype.
    const flat = segmentReduce(b, {name: UnsortedSegmentSum, values: x, ids: segmentIds, numSegments, inner,
                                   dtype: 'float32', mode: 'sum'});
    const out = reshapeView(b, flat, [numSegments, ...innerShape]);
    b.disposeIntermediateTensorInfo(flat);
    return out;
  },
};
