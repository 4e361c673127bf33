// Reductions over any set of axes: Sum, Prod, Mean, Max, Min, Any, All.
//
// No transpose: the input is read in place through strides. The shape is split into kept and reduced
// dimensions; adjacent dimensions of the same kind merge (size-1 dimensions vanish), so a shader
// sees at most ⌈rank/2⌉ groups of each and, in the common cases, one reduced group of stride 1
// (innermost axes) or of stride s (outer axes).
//
// Ways to run a reduction of R elements into each of `outSize` outputs:
// - column layout (columnLayout below), where the innermost kept dimensions are contiguous (a
//   reduction over N·H·W keeping channels) and R is not tiny, or where rows are contiguous, a
//   multiple of 4 long and too long for one invocation each: x lanes over neighbouring columns, y
//   lanes and chunks over the rows, vec4 reads, partials and a second pass when the rows are long
//   (bounded by the number of invocations worth keeping busy, not by the output count);
// - rows of at most 64 elements, or rows over outer axes (R ≤ 4096, the innermost axis kept, at
//   least 128 outputs): one invocation per output, a short sequential loop;
// - otherwise one workgroup per output (32 or 64 invocations): invocations stride through the row,
//   then a tree in workgroup memory; rows so long and few that this leaves the device idle
//   (R ≥ 16384, fewer than 128 outputs): two passes, the first reducing chunks of each row into
//   partials, the second (the same program) the partials.
import {All, Any, backend_util, DataType, KernelConfig, KernelFunc, Max, Mean, Min, Prod, Sum, TensorInfo, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {LANES, prologueCode, prologueInline, ReadPrologue, ReadPrologues} from '../src/codegen/elementwise.js';
import {Program, SiblingReductionHook} from '../src/codegen/program.js';
import {arrayUniforms, BufferDecl, cacheSet, dispatch1D, ShaderSpec, shapeKey, stridesOf, tensorKey, Uniform, wgslType, WgslScalar} from
    '../src/codegen/shader.js';
import {ChainStep, fill, mpsgpuBackend, runChain} from '../src/kernel_util.js';

// ---- geometry ------------------------------------------------------------------------------------

/** Where the elements of output `o`'s row lie in the input. */
export interface ReduceGeometry {
  outSize: number;
  reduceSize: number;
  /** Merged kept dimensions (row-major order of the output) and their input strides. */
  keptShape: number[];
  keptStrides: number[];
  /** Merged reduced dimensions and their input strides. */
  redShape: number[];
  redStrides: number[];
}

/** The geometry of reducing `shape` over `axes` (normalized, any order, no duplicates). */
export function reduceGeometry(shape: number[], axes: number[]): ReduceGeometry {
  const strides = stridesOf(shape);
  const reduced = new Set(axes);
  const groups: Array<{red: boolean; size: number; stride: number}> = [];
  for (let d = 0; d < shape.length; ++d) {
    if (shape[d] === 1) continue;
    const red = reduced.has(d);
    const last = groups[groups.length - 1];
    if (last && last.red === red) {
      // Row-major: the outer dimension's stride is the inner one's stride times its size.
      last.size *= shape[d];
      last.stride = strides[d];
    } else {
      groups.push({red, size: shape[d], stride: strides[d]});
    }
  }
  const kept = groups.filter(g => !g.red), red = groups.filter(g => g.red);
  // Only size-1 reduced axes: a row of one element.
  if (red.length === 0) red.push({red: true, size: 1, stride: 1});
  let outSize = 1, reduceSize = 1;
  for (const d of axes) reduceSize *= shape[d];
  for (let d = 0; d < shape.length; ++d) if (!reduced.has(d)) outSize *= shape[d];
  return {
    outSize, reduceSize,
    keptShape: kept.map(g => g.size), keptStrides: kept.map(g => g.stride),
    redShape: red.map(g => g.size), redStrides: red.map(g => g.stride),
  };
}

/** The contiguous geometry of rows × cols (reduce the last axis). */
export function rowsGeometry(rows: number, cols: number): ReduceGeometry {
  return reduceGeometry([rows, cols], [1]);
}

/** How a shader addresses an element: a key part, uniforms, and WGSL for the offsets. */
export interface Addressing {
  key: string;
  uniforms: Uniform[];
  /** WGSL statements defining `${name}` (u32): the input offset of the row of output `row`. */
  base: (row: string, name: string) => string;
  /** WGSL expression: the input offset of element `r` of a row (relative to the row's base). */
  offset: (r: string) => string;
}

/** Statements splitting `flat` over a shape with row-major divisors in `u.${div}*` into strides `u.${str}*`. */
function offsetOf(flat: string, n: number, div: string, str: string, name: string): string {
  if (n === 0) return `let ${name} = 0u;`;
  if (n === 1) return `let ${name} = ${flat} * u.${str}0;`;
  const lines = [`var ${name}_rem = ${flat};`, `var ${name} = 0u;`];
  for (let d = 0; d < n; ++d) {
    if (d === n - 1) {
      lines.push(`${name} = ${name} + ${name}_rem * u.${str}${d};`);
    } else {
      lines.push(`{ let c = ${name}_rem / u.${div}${d}; ${name}_rem = ${name}_rem - c * u.${div}${d}; ${name} = ${name} + c * u.${str}${d}; }`);
    }
  }
  return lines.join('\n  ');
}

export function addressing(g: ReduceGeometry): Addressing {
  const nk = g.keptShape.length, nr = g.redShape.length;
  const contiguous = nr === 1 && g.redStrides[0] === 1;
  const uniforms: Uniform[] = [
    ...arrayUniforms('keptDiv', stridesOf(g.keptShape).slice(0, Math.max(nk - 1, 0))),
    ...arrayUniforms('keptStr', g.keptStrides),
  ];
  if (!contiguous) {
    uniforms.push(...arrayUniforms('redDiv', stridesOf(g.redShape).slice(0, Math.max(nr - 1, 0))),
                  ...arrayUniforms('redStr', g.redStrides));
  }
  const rKey = contiguous ? 'c' : `r${nr}`;
  return {
    key: `k${nk}${rKey}`,
    uniforms,
    base: (row, name) => offsetOf(row, nk, 'keptDiv', 'keptStr', name),
    offset: r => {
      if (contiguous) return r;
      if (nr === 1) return `(${r} * u.redStr0)`;
      return `redOffset(${r})`;
    },
  };
}

/** Module-scope helper `redOffset(r)` where addressing needs it (several reduced groups). */
export function addressingDecls(g: ReduceGeometry): string {
  const nr = g.redShape.length;
  if (nr <= 1) return '';
  return `fn redOffset(r: u32) -> u32 {
  ${offsetOf('r', nr, 'redDiv', 'redStr', 'o')}
  return o;
}`;
}

/**
 * Workgroup size for rows of `reduceSize` elements. Small: on lavapipe (invocations are SIMD lanes
 * of one CPU thread, barriers switch between them) 256 invocations per row run 3-5× slower than 32.
 */
export function workgroupFor(reduceSize: number): number {
  return reduceSize <= 4096 ? 32 : 64;
}

/**
 * When rows are long and few, the chunks each row is split into for the first of two passes (1: a
 * single pass).
 */
export function chunksFor(outSize: number, reduceSize: number): number {
  if (reduceSize < 16384 || outSize >= 128) return 1;
  return Math.max(1, Math.min(Math.ceil(reduceSize / 4096), Math.ceil(256 / outSize)));
}

/**
 * Whether one invocation per output (a sequential loop over a short row) fits best: rows of at most
 * 64 elements, or rows over outer axes (the innermost axis kept: neighbouring invocations read
 * neighbouring addresses) of at most 4096 elements when there are enough outputs to keep the
 * device busy.
 */
export function perInvocation(g: ReduceGeometry): boolean {
  if (g.reduceSize <= 64) return true;
  const nk = g.keptStrides.length;
  const innerKept = nk > 0 && g.keptStrides[nk - 1] === 1;
  return innerKept && g.outSize >= 128 && g.reduceSize <= 4096;
}

/** Tree steps over `sh` (and more arrays) in workgroup memory, WGSL. */
export function treeSteps(wg: number, step: (other: string) => string): string {
  const out: string[] = [];
  for (let s = wg / 2; s >= 1; s /= 2) {
    out.push(`if (lindex < ${s}u) { ${step(`lindex + ${s}u`)} }`);
    out.push('workgroupBarrier();');
  }
  return out.join('\n  ');
}

// ---- the reduction operators ---------------------------------------------------------------------

export type ReduceOpName = 'sum'|'prod'|'max'|'min'|'any'|'all';

const NAN_MAX = `fn maxNan(a: f32, b: f32) -> f32 {
  if (isNan(a) || isNan(b)) { return nanF32(); }
  return max(a, b);
}
fn minNan(a: f32, b: f32) -> f32 {
  if (isNan(a) || isNan(b)) { return nanF32(); }
  return min(a, b);
}`;

function identity(op: ReduceOpName, t: WgslScalar): string {
  switch (op) {
    case 'sum': return t === 'f32' ? '0.0' : '0';
    case 'prod': return t === 'f32' ? '1.0' : '1';
    case 'max': return t === 'f32' ? '(-infF32())' : '(-2147483647 - 1)';
    case 'min': return t === 'f32' ? 'infF32()' : '2147483647';
    case 'any': return '0';
    case 'all': return '1';
  }
}

function combine(op: ReduceOpName, t: WgslScalar, a: string, b: string): string {
  switch (op) {
    case 'sum': return `${a} + ${b}`;
    case 'prod': return `${a} * ${b}`;
    case 'max': return t === 'f32' ? `maxNan(${a}, ${b})` : `max(${a}, ${b})`;
    case 'min': return t === 'f32' ? `minNan(${a}, ${b})` : `min(${a}, ${b})`;
    case 'any': return `${a} | ${b}`;
    case 'all': return `${a} & ${b}`;
  }
}

export interface ReduceStage {
  op: ReduceOpName;
  /** Storage type of the input. */
  inType: WgslScalar;
  /** Type of the accumulator (and of the partials between passes). */
  accType: WgslScalar;
  outType: WgslScalar;
  /** WGSL turning input value `$v` (inType) into accType. */
  load: string;
  /** WGSL turning the accumulator `$v` into outType. */
  finish: string;
  /** Extra uniforms the load or finish read. */
  uniforms?: Uniform[];
}

function stageKey(s: ReduceStage): string {
  return `${s.op}|${s.inType}>${s.accType}>${s.outType}|${s.load}|${s.finish}|${(s.uniforms ?? []).map(u => u.name + u.type).join(',')}`;
}

/**
 * One dispatch reducing each row of `g` (split into `chunks` pieces; out[row * chunks + chunk]).
 */
export function reduceProgram(name: string, stage: ReduceStage, g: ReduceGeometry, chunks = 1, prologue?: ReadPrologue): Program {
  const addr = addressing(g);
  const load = (v: string) => stage.load.replace(/\$v/g, v);
  const finish = (v: string) => stage.finish.replace(/\$v/g, v);
  const acc = stage.accType;
  const input = inputRead(stage, 1, prologue);
  const declarations = [NAN_MAX, addressingDecls(g), input.declarations];
  const uniforms: Uniform[] = [
    {name: 'outSize', type: 'u32', value: g.outSize},
    {name: 'reduceSize', type: 'u32', value: g.reduceSize},
    ...addr.uniforms, ...(stage.uniforms ?? []), ...input.uniforms,
  ];
  if (chunks === 1 && perInvocation(g)) {
    const wg = 64;
    const shader = (): ShaderSpec => ({
      inputs: input.inputs,
      outputs: [{name: 'out', type: stage.outType}],
      workgroupSize: [wg, 1, 1],
      declarations: declarations.join('\n'),
      body: `
  let row = flatId;
  if (row >= u.outSize) { return; }
  ${addr.base('row', 'base')}
  var acc: ${acc} = ${identity(stage.op, acc)};
  for (var r = 0u; r < u.reduceSize; r = r + 1u) {
    acc = ${combine(stage.op, acc, 'acc', load(input.read(`base + ${addr.offset('r')}`)))};
  }
  out[row] = ${finish('acc')};`,
    });
    return {name, key: `reduce1|${stageKey(stage)}|${addr.key}${input.key}`, shader, uniforms, dispatch: dispatch1D(g.outSize, wg)};
  }
  const wg = workgroupFor(Math.ceil(g.reduceSize / chunks));
  const chunkLen = Math.ceil(g.reduceSize / chunks);
  const groups = g.outSize * chunks;
  uniforms.push({name: 'chunks', type: 'u32', value: chunks}, {name: 'chunkLen', type: 'u32', value: chunkLen},
                {name: 'groups', type: 'u32', value: groups});
  declarations.push(`var<workgroup> sh: array<${acc}, ${wg}>;`);
  const shader = (): ShaderSpec => ({
    inputs: input.inputs,
    outputs: [{name: 'out', type: chunks === 1 ? stage.outType : acc}],
    workgroupSize: [wg, 1, 1],
    declarations: declarations.join('\n'),
    body: `
  let group = wid.x + wid.y * nwg.x;
  if (group >= u.groups) { return; }
  let row = group / u.chunks;
  let chunk = group - row * u.chunks;
  ${addr.base('row', 'base')}
  let start = chunk * u.chunkLen;
  let end = min(start + u.chunkLen, u.reduceSize);
  var acc: ${acc} = ${identity(stage.op, acc)};
  for (var r = start + lindex; r < end; r = r + ${wg}u) {
    acc = ${combine(stage.op, acc, 'acc', load(input.read(`base + ${addr.offset('r')}`)))};
  }
  sh[lindex] = acc;
  workgroupBarrier();
  ${treeSteps(wg, other => `sh[lindex] = ${combine(stage.op, acc, 'sh[lindex]', `sh[${other}]`)};`)}
  if (lindex == 0u) { out[group] = ${chunks === 1 ? finish('sh[0]') : 'sh[0]'}; }`,
  });
  return {
    name, key: `reduceT${wg}|${chunks === 1 ? 1 : 'n'}|${stageKey(stage)}|${addr.key}${input.key}`, shader, uniforms,
    dispatch: dispatch1D(groups, 1),
  };
}

/**
 * How a reduction pass reads element(s) of its input at a flat index (in units of `vec`): from
 * the buffer x, or through a fused prologue computing them from its own inputs.
 */
function inputRead(stage: ReduceStage, vec: 1|4, prologue?: ReadPrologue):
    {inputs: BufferDecl[]; read: (idx: string) => string; declarations: string; uniforms: Uniform[]; key: string} {
  if (!prologue) {
    return {inputs: [{name: 'x', type: stage.inType, vec4: vec === 4}], read: idx => `x[${idx}]`, declarations: '', uniforms: [], key: ''};
  }
  const code = prologueCode(prologue, vec, 'readX');
  return {inputs: code.inputs, read: idx => `readX(${idx})`, declarations: code.declarations, uniforms: code.uniforms, key: `|${code.key}`};
}

/** `program` with the hook through which fusion rebuilds it reading a prologue. */
function withReductionHook(program: Program, vec: 1|4, inType: WgslScalar, rebuild: (p: ReadPrologue) => Program): Program {
  return {...program, reduction: {vec, inType, withPrologue: rebuild}};
}

// ---- column reductions --------------------------------------------------------------------------

/**
 * A reduction laid out for coalesced reads: outputs are (outer, col) with `col` the innermost kept
 * dimensions (contiguous in memory: channels, for a reduction over N·H·W), read `vec` (1 or 4)
 * elements at a time. A workgroup is wx × wy invocations: x lanes over neighbouring columns (a warp
 * reads whole 32-byte sectors), y lanes over the reduced rows; workgroups span column blocks ×
 * outer × chunks of the rows. Each invocation loops over its rows, the y lanes then combine in
 * workgroup memory; with several chunks the results are partials [chunks, outSize], reduced by the
 * same layout again. Where the innermost dimension is reduced (a row reduction), cols is 1 and the
 * y lanes read neighbouring elements of the row.
 */
export interface ColumnLayout {
  /** Elements per read: vec4 across columns or, with rowVec, along the rows. */
  vec: 1|4;
  /** vec4 reads along contiguous reduced rows (cols is 1); `reduceSize` counts vec4s. */
  rowVec: boolean;
  wx: number;
  wy: number;
  /** Product of the kept dimensions outside the columns. */
  outer: number;
  /** Column lanes per outer index: the innermost kept size / vec (1 for a row reduction). */
  cols: number;
  /** Workgroups across the columns: ⌈cols / wx⌉. */
  nbx: number;
  reduceSize: number;
  /** Outer kept and reduced dimensions, strides in units of `vec` elements. */
  geometry: ReduceGeometry;
}

/**
 * Invocations per workgroup: 64 for the pass over the input (many workgroups); 256 for passes over
 * partials (few rows, few workgroups: more y lanes so that one more pass suffices).
 */
const COLUMN_WORKGROUP = 64;
const COLUMN_PARTIALS_WORKGROUP = 256;
/** Invocations a reduction should keep busy (a large GPU: ~132 units × several warps in flight). */
const COLUMN_TARGET_INVOCATIONS = 65536;
/** Rows each invocation reads at least before more chunks are worth a partial each. */
const COLUMN_MIN_ROWS = 32;
const COLUMN_MAX_CHUNKS = 1024;

/** Whether the innermost kept dimensions are contiguous (stride 1): a column reduction. */
function innerKept(g: ReduceGeometry): boolean {
  const nk = g.keptShape.length;
  return nk > 0 && g.keptStrides[nk - 1] === 1;
}

/**
 * The layout of `g`. `partials`: a pass over partials (bigger workgroups). `rowVec4`: where the
 * innermost dimension is reduced, contiguous and a multiple of 4 long, read rows as vec4 too (the
 * program folds the four lanes before the tree; moments does not take this).
 */
export function columnLayout(g: ReduceGeometry, partials = false, rowVec4 = false): ColumnLayout {
  const nk = g.keptShape.length, nr = g.redShape.length;
  const inner = innerKept(g) && g.reduceSize > 1;
  const c = inner ? g.keptShape[nk - 1] : 1;
  const rowVec = !inner && rowVec4 && g.reduceSize > 1 && g.redStrides[nr - 1] === 1 && g.redShape[nr - 1] % 4 === 0;
  // Every other dimension's stride is a multiple of the innermost group's size, so of 4 too.
  const vec: 1|4 = (inner && c % 4 === 0) || rowVec ? 4 : 1;
  const cols = inner ? c / vec : 1;
  let wx: number;
  if (cols <= 32) {
    wx = 1;
    while (wx < cols) wx *= 2;
  } else {
    // The widest of 32, 16, 8 lanes that wastes fewest (8 lanes still read whole sectors).
    wx = [32, 16, 8].reduce((best, w) => (Math.ceil(cols / w) * w < Math.ceil(cols / best) * best ? w : best));
  }
  const reduceSize = rowVec ? g.reduceSize / 4 : g.reduceSize;
  // Row reductions over the input: 32 lanes up to 4096 elements a row (lavapipe runs small
  // workgroups' barriers much faster; see workgroupFor).
  const wg = partials ? COLUMN_PARTIALS_WORKGROUP : inner ? COLUMN_WORKGROUP : workgroupFor(reduceSize);
  const wy = wg / wx;
  const keptShape = inner ? g.keptShape.slice(0, -1) : g.keptShape;
  const keptStrides = (inner ? g.keptStrides.slice(0, -1) : g.keptStrides).map(s => s / vec);
  const redShape = rowVec ? g.redShape.map((d, i) => (i === nr - 1 ? d / 4 : d)) : g.redShape;
  const redStrides = g.redStrides.map((s, i) => (rowVec && i === nr - 1 ? 1 : g.reduceSize > 1 ? s / vec : s));
  const outer = keptShape.reduce((a, b) => a * b, 1);
  return {
    vec, rowVec, wx, wy, outer, cols, nbx: Math.ceil(cols / wx), reduceSize,
    geometry: {outSize: outer, reduceSize, keptShape, keptStrides, redShape, redStrides},
  };
}

/**
 * Whether a reduction goes through the column layout: contiguous kept columns with rows enough
 * for the y lanes, or rows too long for one invocation each that are read as vec4.
 */
export function columnFits(g: ReduceGeometry): boolean {
  if (innerKept(g)) return g.reduceSize >= 2 * columnLayout(g).wy;
  return !perInvocation(g) && columnLayout(g, false, true).rowVec;
}

/** Chunks of the rows for the first pass (1: one pass), each invocation reading ≥ COLUMN_MIN_ROWS rows. */
export function columnChunks(l: ColumnLayout): number {
  const perChunk = l.nbx * l.outer * l.wx * l.wy;
  const byTarget = Math.ceil(COLUMN_TARGET_INVOCATIONS / perChunk);
  const byWork = Math.floor(l.reduceSize / (l.wy * COLUMN_MIN_ROWS));
  const chunks = Math.max(1, Math.min(byTarget, byWork, COLUMN_MAX_CHUNKS));
  // No empty chunks.
  return Math.ceil(l.reduceSize / Math.ceil(l.reduceSize / chunks));
}

/** What a column program does per lane: the accumulators, a step per value read, the tree merge, the store. */
export interface ColumnBody {
  /** Module-scope declarations (workgroup arrays of wx × wy entries). */
  declarations: string;
  /** Statements declaring the lane's accumulators. */
  init: string;
  /**
   * Statements consuming the element(s) at index `idx` (lane units: a vec4 where vec is 4) of the
   * inputs; the row `r` is in scope.
   */
  step: (idx: string) => string;
  /** Statements saving the accumulators in workgroup slot `lindex`. */
  save: string;
  /** Statements merging workgroup slot `other` into slot `lindex`. */
  merge: (other: string) => string;
  /** Statements storing slot `lindex`'s result at output index `o` (lane units). */
  write: (o: string) => string;
}

/**
 * The uniforms and WGSL body of a column program over `l` with `chunks` chunks; output index `o` = chunk × outer × cols + outer index × cols + column (lane units).
 */
export function columnShader(l: ColumnLayout, chunks: number, body: ColumnBody):
    {uniforms: Uniform[]; key: string; declarations: string; main: string; dispatch: [number, number, number]} {
  const addr = addressing(l.geometry);
  const chunkLen = Math.ceil(l.reduceSize / chunks);
  const groups = l.nbx * l.outer * chunks;
  const uniforms: Uniform[] = [
    {name: 'groups', type: 'u32', value: groups}, {name: 'nbx', type: 'u32', value: l.nbx},
    {name: 'outer', type: 'u32', value: l.outer}, {name: 'cols', type: 'u32', value: l.cols},
    {name: 'reduceSize', type: 'u32', value: l.reduceSize}, {name: 'chunkLen', type: 'u32', value: chunkLen},
    ...addr.uniforms,
  ];
  const tree: string[] = [];
  for (let s = l.wy / 2; s >= 1; s /= 2) {
    tree.push(`if (lid.y < ${s}u) { ${body.merge(`lindex + ${s * l.wx}u`)} }`, 'workgroupBarrier();');
  }
  const main = `
  let gidx = wid.x + wid.y * nwg.x;
  if (gidx >= u.groups) { return; }
  let bx = gidx % u.nbx;
  let rest = gidx / u.nbx;
  let b = rest % u.outer;
  let chunk = rest / u.outer;
  let col = bx * ${l.wx}u + lid.x;
  let inCols = col < u.cols;
  ${addr.base('b', 'base')}
  let start = chunk * u.chunkLen;
  let end = min(start + u.chunkLen, u.reduceSize);
  ${body.init}
  if (inCols) {
    for (var r = start + lid.y; r < end; r = r + ${l.wy}u) {
      let idx = base + ${addr.offset('r')} + col;
      ${body.step('idx')}
    }
  }
  ${body.save}
  workgroupBarrier();
  ${tree.join('\n  ')}
  if (lid.y == 0u && inCols) {
    let o = (chunk * u.outer + b) * u.cols + col;
    ${body.write('o')}
  }`;
  return {
    uniforms, main, dispatch: dispatch1D(groups, 1),
    key: `col${l.vec}${l.rowVec ? 'r' : 'c'}|${l.wx}x${l.wy}|${addr.key}`,
    declarations: [addressingDecls(l.geometry), body.declarations].join('\n'),
  };
}

/** Output k's binding name: out, out1, out2 … */
const outName = (k: number) => (k === 0 ? 'out' : `out${k}`);

/**
 * The ColumnBody of reductions `stages` over one column layout, each of its own value: `values(idx)`
 * gives statements and, per stage, the WGSL value read at `idx` (a vec4 where `l.vec` is 4). Stage
 * k has accumulators acc{k}_…, workgroup array sh{k} and output outName(k) (partials when
 * chunks > 1). Also the output types and whether outputs are vec4.
 */
function columnStagesBody(stages: ReduceStage[], l: ColumnLayout, chunks: number,
                          values: (idx: string) => {stmts: string; values: string[]}): {body: ColumnBody; outTypes: WgslScalar[]; wide: boolean} {
  const lanes = l.vec === 4 ? LANES : [''];
  const lane = (v: string, j: number) => (l.vec === 4 ? `${v}.${lanes[j]}` : v);
  // Columns as vec4: four results per lane down to the store. Rows as vec4: the four partial
  // results of a lane fold into one before the tree.
  const wide = l.vec === 4 && !l.rowVec;
  const slots = wide ? lanes : [''];
  const slot = (v: string, j: number) => (wide ? `${v}.${lanes[j]}` : v);
  const parts = stages.map((stage, k) => {
    const acc = stage.accType;
    const op = (a: string, b: string) => combine(stage.op, acc, a, b);
    const accName = (j: number) => `acc${k}_${j}`;
    const pack = (t: WgslScalar, items: string[]) => (wide ? `vec4<${t}>(${items.join(', ')})` : items[0]);
    const saved = l.rowVec ? op(op(accName(0), accName(1)), op(accName(2), accName(3))) : pack(acc, lanes.map((_, j) => accName(j)));
    const outT = chunks === 1 ? stage.outType : acc;
    const finish = (v: string) => stage.finish.replace(/\$v/g, v);
    const load = (v: string) => stage.load.replace(/\$v/g, v);
    return {
      outT,
      declaration: `var<workgroup> sh${k}: array<${wide ? `vec4<${acc}>` : acc}, ${l.wx * l.wy}>;`,
      init: lanes.map((_, j) => `var ${accName(j)}: ${acc} = ${identity(stage.op, acc)};`).join('\n  '),
      step: (value: string) => lanes.map((_, j) => `${accName(j)} = ${op(accName(j), load(lane(value, j)))};`).join('\n      '),
      save: `sh${k}[lindex] = ${saved};`,
      merge: (other: string) => `{ let a = sh${k}[lindex]; let c = sh${k}[${other}]; sh${k}[lindex] = ${pack(acc, slots.map((_, j) => op(slot('a', j), slot('c', j))))}; }`,
      write: (o: string) => (chunks === 1 ?
        `{ let a = sh${k}[lindex]; ${outName(k)}[${o}] = ${pack(outT, slots.map((_, j) => finish(slot('a', j))))}; }` :
        `${outName(k)}[${o}] = sh${k}[lindex];`),
    };
  });
  const body: ColumnBody = {
    declarations: [NAN_MAX, ...parts.map(p => p.declaration)].join('\n'),
    init: parts.map(p => p.init).join('\n  '),
    step: idx => {
      const v = values(idx);
      return [v.stmts, ...parts.map((p, k) => p.step(v.values[k]))].join('\n      ');
    },
    save: parts.map(p => p.save).join('\n  '),
    merge: other => parts.map(p => p.merge(other)).join(' '),
    write: o => parts.map(p => p.write(o)).join('\n    '),
  };
  return {body, outTypes: parts.map(p => p.outT), wide};
}

/** Stage uniforms of several stages, once each (equal names carry equal values: one geometry). */
function stageUniforms(stages: ReduceStage[]): Uniform[] {
  const byName = new Map<string, Uniform>();
  for (const st of stages) for (const u of st.uniforms ?? []) byName.set(u.name, u);
  return [...byName.values()];
}

/** A ReduceStage over a column layout (partials when chunks > 1). */
export function columnReduceProgram(name: string, stage: ReduceStage, l: ColumnLayout, chunks: number, prologue?: ReadPrologue): Program {
  const input = inputRead(stage, l.vec, prologue);
  const {body, outTypes, wide} = columnStagesBody([stage], l, chunks, idx => ({stmts: `let v = ${input.read(idx)};`, values: ['v']}));
  const cs = columnShader(l, chunks, body);
  const shader = (): ShaderSpec => ({
    inputs: input.inputs,
    outputs: [{name: 'out', type: outTypes[0], vec4: wide}],
    workgroupSize: [l.wx, l.wy, 1],
    declarations: `${cs.declarations}\n${input.declarations}`,
    body: cs.main,
  });
  return {
    name, key: `reduceC|${chunks === 1 ? 1 : 'n'}|${stageKey(stage)}|${cs.key}${input.key}`, shader,
    uniforms: [...cs.uniforms, ...(stage.uniforms ?? []), ...input.uniforms], dispatch: cs.dispatch,
  };
}

/**
 * Several column reductions of one layout in one pass (fusion: sibling reductions): stage k
 * reduces expression k of `values`, all over the same inputs, into output k.
 */
function columnSiblingsProgram(name: string, stages: ReduceStage[], l: ColumnLayout, chunks: number, values: ReadPrologues): Program {
  const inline = prologueInline(values, l.vec);
  const {body, outTypes, wide} = columnStagesBody(stages, l, chunks, idx => inline.code(idx));
  const cs = columnShader(l, chunks, body);
  const shader = (): ShaderSpec => ({
    inputs: inline.inputs,
    outputs: outTypes.map((type, k) => ({name: outName(k), type, vec4: wide})),
    workgroupSize: [l.wx, l.wy, 1],
    declarations: `${cs.declarations}\n${inline.helpers}`,
    body: cs.main,
  });
  return {
    name, key: `reduceCs|${chunks === 1 ? 1 : 'n'}|${stages.map(stageKey).join(';')}|${cs.key}|${inline.key}`, shader,
    uniforms: [...cs.uniforms, ...stageUniforms(stages), ...inline.uniforms], dispatch: cs.dispatch,
  };
}

/** The hook through which fusion merges column passes of one layout (src/fusion/sibling_reductions.ts). */
function siblingHook(stage: ReduceStage, l: ColumnLayout, chunks: number, values: ReadPrologue): SiblingReductionHook {
  const g = l.geometry;
  return {
    key: `col${l.vec}${l.rowVec ? 'r' : 'c'}|${l.wx}x${l.wy}|${l.nbx}|${l.cols}|${chunks}|${g.outSize}/${g.reduceSize}|` +
         `${g.keptShape}/${g.keptStrides}|${g.redShape}/${g.redStrides}`,
    values, stage,
    combine: (stages, all) => columnSiblingsProgram('', stages as ReduceStage[], l, chunks, all),
  };
}

/**
 * The steps of a column reduction of an input of `xShape` (geometry `g`): one pass, or a first pass
 * into partials and the `second` stage over them (itself split again where the partials are many).
 */
function columnReduceSteps(name: string, xShape: number[], g: ReduceGeometry, first: ReduceStage, second: ReduceStage,
                           outShape: number[], dtype: DataType, steps: ChainStep[], overPartials = false): void {
  const l = columnLayout(g, overPartials, true);
  const chunks = columnChunks(l);
  // The pass over x (not over partials) may read a fused prologue instead, and share its dispatch
  // with sibling passes.
  const pass = (c: number) => {
    const program = columnReduceProgram(name, first, l, c);
    if (overPartials) return program;
    const own: ReadPrologue = {expr: {kind: 'input', index: 0, type: first.inType}, inputs: [{shape: xShape, type: first.inType}], shape: xShape, uniforms: []};
    return withReductionHook({...program, siblingReduction: siblingHook(first, l, c, own)}, l.vec, first.inType,
                             p => ({...columnReduceProgram(name, first, l, c, p), siblingReduction: siblingHook(first, l, c, p)}));
  };
  if (chunks === 1) {
    steps.push({program: pass(1), shape: outShape, dtype});
    return;
  }
  const partialShape = [chunks, g.outSize];
  steps.push({program: pass(chunks), shape: partialShape, dtype: first.accType === 'f32' ? 'float32' : 'int32'});
  columnReduceSteps(name, partialShape, reduceGeometry(partialShape, [0]), second, second, outShape, dtype, steps, true);
}

// ---- recording a reduction -----------------------------------------------------------------------

export type ReduceKind = 'Sum'|'Prod'|'Mean'|'Max'|'Min'|'Any'|'All';

/** tfjs-backend-cpu's output dtype of a reduction. */
export function reduceDtype(kind: ReduceKind, x: DataType): DataType {
  switch (kind) {
    case 'Sum': case 'Prod': return x === 'float32' ? 'float32' : 'int32';
    case 'Mean': return 'float32';
    default: return x;
  }
}

/** What tfjs-backend-cpu gives for a row of no elements. */
function emptyValue(kind: ReduceKind, dtype: DataType): number {
  switch (kind) {
    case 'Prod': return 1;
    case 'Max': case 'Min': return dtype === 'float32' ? NaN : 0;
    default: return 0;
  }
}

function stagesFor(kind: ReduceKind, x: DataType, out: DataType, reduceSize: number): [ReduceStage, ReduceStage] {
  const inType = wgslType(x), outType = wgslType(out);
  const same = (op: ReduceOpName, t: WgslScalar): ReduceStage => ({op, inType: t, accType: t, outType: t, load: '$v', finish: '$v'});
  switch (kind) {
    case 'Sum': case 'Prod': {
      const op = kind === 'Sum' ? 'sum' : 'prod';
      return [{...same(op, inType), outType}, same(op, outType)];
    }
    case 'Mean': {
      // As tfjs-backend-cpu: each element divided by the count, then summed.
      const load = inType === 'f32' ? '($v / u.count)' : '(f32($v) / u.count)';
      return [{op: 'sum', inType, accType: 'f32', outType: 'f32', load, finish: '$v',
               uniforms: [{name: 'count', type: 'f32', value: reduceSize}]}, same('sum', 'f32')];
    }
    case 'Max': case 'Min': {
      const op = kind === 'Max' ? 'max' : 'min';
      return [same(op, inType), same(op, inType)];
    }
    case 'Any': case 'All': {
      const op = kind === 'Any' ? 'any' : 'all';
      const load = inType === 'f32' ? 'i32($v != 0.0)' : 'i32($v != 0)';
      const finish = outType === 'f32' ? 'f32($v)' : '$v';
      return [{op, inType, accType: 'i32', outType, load, finish}, {op, inType: 'i32', accType: 'i32', outType, load: '$v', finish}];
    }
  }
}

/** A reduction as recorded: a pure function of its kind, the input's dtype and shape, the axes and keepDims. */
type ReduceRecord =
  | {kind: 'empty'|'fill'; shape: number[]; dtype: DataType; value: number}
  | {kind: 'chain'; steps: ChainStep[]};

/** ReduceRecords by kind, keepDims, dtype, shape and axes (bounded: cleared past 1024 reductions). */
const reduceRecords = new Map<string, ReduceRecord>();

function reduceRecord(shape: number[], xDtype: DataType, axes: number[], kind: ReduceKind, keepDims: boolean): ReduceRecord {
  const [outShape0] = backend_util.computeOutAndReduceShapes(shape, [...axes].sort((a, b) => a - b));
  const outShape = keepDims ? backend_util.expandShapeToKeepDim(outShape0, axes) : outShape0;
  const dtype = reduceDtype(kind, xDtype);
  const g = reduceGeometry(shape, axes);
  if (g.outSize === 0) return {kind: 'empty', shape: outShape, dtype, value: 0};
  if (g.reduceSize === 0) return {kind: 'fill', shape: outShape, dtype, value: emptyValue(kind, dtype)};
  const [first, second] = stagesFor(kind, xDtype, dtype, g.reduceSize);
  const steps: ChainStep[] = [];
  if (columnFits(g)) {
    columnReduceSteps(kind, shape, g, first, second, outShape, dtype, steps);
    return {kind: 'chain', steps};
  }
  const chunks = perInvocation(g) ? 1 : chunksFor(g.outSize, g.reduceSize);
  const pass = withReductionHook(reduceProgram(kind, first, g, chunks), 1, first.inType, p => reduceProgram(kind, first, g, chunks, p));
  if (chunks === 1) {
    steps.push({program: pass, shape: outShape, dtype});
  } else {
    steps.push({program: pass, shape: [g.outSize, chunks], dtype: first.accType === 'f32' ? 'float32' : 'int32'},
               {program: reduceProgram(kind, second, rowsGeometry(g.outSize, chunks)), shape: outShape, dtype});
  }
  return {kind: 'chain', steps};
}

/**
 * Record the reduction of `x` over `axes` (normalized); the result has the kept dimensions
 * (`keepDims`: size-1 dimensions in place of the reduced ones). The programs of a reduction seen
 * before (same kind, dtype, shape, axes and keepDims) are reused.
 */
export function reduce(backend: MpsgpuBackend, x: TensorInfo, axes: number[], kind: ReduceKind, keepDims: boolean): TensorInfo {
  const key = kind + (keepDims ? '|k|' : '|d|') + tensorKey(x) + '|' + shapeKey(axes);
  let rec = reduceRecords.get(key);
  if (rec === undefined) rec = cacheSet(reduceRecords, key, reduceRecord(x.shape.slice(), x.dtype, axes.slice(), kind, keepDims));
  switch (rec.kind) {
    case 'empty': return backend.makeTensorInfo(rec.shape.slice(), rec.dtype);
    case 'fill': return fill(backend, rec.shape.slice(), rec.value, rec.dtype);
    case 'chain': return runChain(backend, rec.steps, x);
  }
}

// ---- kernels -------------------------------------------------------------------------------------

function checkInput(kernel: string, x: TensorInfo) {
  if (x.dtype === 'string' || x.dtype === 'complex64') {
    throw new Error(`${kernel}: mpsgpu does not take ${x.dtype} input 'x' (shape [${x.shape}])`);
  }
}

function reduceKernel(kind: ReduceKind): KernelFunc {
  return ({inputs, backend, attrs}) => {
    const {x} = inputs as {x: TensorInfo};
    checkInput(kind, x);
    const a = attrs as {axis?: number|number[]; reductionIndices?: number|number[]; keepDims?: boolean};
    const axis = kind === 'Max' ? a.reductionIndices : a.axis;
    const axes = util.parseAxisParam(axis as number|number[], x.shape);
    if (new Set(axes).size !== axes.length) {
      throw new Error(`${kind}: the axes [${axes}] of input 'x' (shape [${x.shape}], dtype ${x.dtype}) repeat an axis`);
    }
    return reduce(mpsgpuBackend(backend), x, axes, kind, a.keepDims ?? false);
  };
}

export const reduceKernelConfigs: KernelConfig[] = ([
  [Sum, 'Sum'], [Prod, 'Prod'], [Mean, 'Mean'], [Max, 'Max'], [Min, 'Min'], [Any, 'Any'], [All, 'All'],
] as Array<[string, ReduceKind]>).map(([kernelName, kind]) => ({kernelName, backendName: 'mpsgpu', kernelFunc: reduceKernel(kind)}));
