// One GEMM engine for every matrix product of the backend: BatchMatMul/_FusedMatMul and the three
// dense convolutions as implicit GEMMs (forward: im2col of x times the filter; backprop input: the
// gathered dy times the transposed filter; backprop filter: the gathered x times dy, reducing over
// N·H·W). A kernel describes its two operands by how to load 4 consecutive elements of them
// (`GemmOperand`), its epilogue and its store; this file owns the tiling, workgroup staging, register
// blocking, split-K and the shader text.
//
// Scheme. A workgroup computes a BM × BN tile of C = A · B. Per step of BK along K it stages a
// BM × BK block of A and a BK × BN block of B in workgroup memory, as vec4 along m (n): As[k][m/4],
// Bs[k][n/4]. The global loads of the next step are issued into registers before the current step's
// multiply-adds (software pipelining with one register stage). Invocation (tx, ty) accumulates
// TM × TN outputs: rows 4·(ty + i·BM/TM) + r and columns 4·(tx + j·BN/TN) + c, so that neighbouring
// invocations read neighbouring vec4s of workgroup memory (no bank conflicts) and store neighbouring
// vec4s of the output. Split-K: with `splits` > 1 each split covers a multiple of BK of the K range
// and writes raw partial sums; a second program adds the splits and applies the epilogue.
// The direct variant (DIRECT_TILE; small and thin products on CPU adapters) skips the staging:
// each invocation computes a 4 × 4 block from the operands' loads.
import {adapterMatches, isCpuAdapter, MpsgpuDevice} from '../device.js';

import {emitExpr, Expr, exprKey} from './elementwise.js';
import {EpilogueHook, Program} from './program.js';
import {BufferDecl, dispatch1D, ShaderSpec, Uniform, WgslScalar} from './shader.js';

export interface GemmTile {
  bm: number;
  bn: number;
  bk: number;
  tm: number;
  tn: number;
  /**
   * No workgroup staging: each invocation computes a 4 × 4 block straight from the operands' loads
   * (tiny products on CPU adapters, where caches do the staging and barriers cost most).
   */
  direct?: boolean;
}

/** The direct variant's tile (4 × 4 per invocation, K in steps of 4). */
export const DIRECT_TILE: GemmTile = {bm: 4, bn: 4, bk: 4, tm: 4, tn: 4, direct: true};

/**
 * The direct tile lavapipe runs: 8 rows and 8 columns per invocation where the product has more
 * than 4. llvmpipe loads every value lane by lane behind a branch (Mesa 25.0), ~10× the cost of a
 * multiply-add, and an 8 × 8 block does 64 multiply-adds per 16 vec4 loads, twice a 4 × 4 block's
 * 16 per 8. Products of fewer than 16 such blocks keep 4 × 4: their few invocations would leave
 * most of llvmpipe's 8 lanes idle (the 27 × 5 filter gradient of the odd-size bench case: 0.37 →
 * 0.43 ms). (SwiftShader keeps 4 × 4: its compiles of the loads in loops grow with the block.)
 */
function directTile(m: number, n: number, batch: number): GemmTile {
  if (Math.ceil(m / 8) * Math.ceil(n / 8) * batch < 16) return DIRECT_TILE;
  const bm = m > 4 ? 8 : 4, bn = n > 4 ? 8 : 4;
  return {bm, bn, bk: 4, tm: bm, tn: bn, direct: true};
}

/**
 * How a GEMM reads one operand (A is M × K, B is K × N; "outer" is m for A, n for B). A load slot
 * reads 4 consecutive elements along `along`: (row, k..k+3) or (row..row+3, k).
 */
export interface GemmOperand {
  /** Buffer binding. `vec4` binds it as array<vec4<type>> (for aligned vector loads). */
  buffer: BufferDecl;
  along: 'k'|'outer';
  /**
   * WGSL statements run once per load slot before the K loop, given the slot's outer index `row`
   * (u32; may lie past the matrix): declare per-slot lets suffixed with `s`.
   */
  setup: (row: string, s: string) => string;
  /** WGSL expression: vec4<acc> of the 4 elements at (row, k), zero outside the matrix. */
  load: (row: string, k: string, s: string) => string;
  /**
   * Incremental addressing (optional): statements declaring per-slot state for the slot's first
   * k (run once), and statements advancing it by `step` along k (run before each later load), so
   * that `load` need not decompose k with divisions every step.
   */
  kInit?: (k: string, s: string) => string;
  kAdvance?: (step: number, s: string) => string;
  /** Module-scope WGSL the loads call. */
  decls?: string;
  /** The load without incremental state (CPU adapters' loop form); defaults to `load`. */
  loadDirect?: (row: string, k: string, s: string) => string;
  /** Distinguishes operand codes in the shader cache key. */
  key: string;
  /** A plain strided matrix (denseOperand): cheap loads, no index arithmetic per element. */
  dense?: boolean;
}

/** The output: where element (m, n) of GEMM `batch` goes, and what is applied before the store. */
export interface GemmOutput {
  type: WgslScalar;
  /** Bind the output as vec4 and store 4 columns at once (needs N % 4 == 0 and `index` linear in n). */
  vec4: boolean;
  /** WGSL u32 expression of the output index of (m, n), with `outOff` (the batch's offset) in scope. */
  index: (m: string, n: string) => string;
  /** Over input(0) = the accumulator and input(i ≥ 1) = extra inputs. */
  epilogue: Expr;
  /** WGSL loads of extra input i (1-based) at (m, n). */
  loadExtra: (i: number, m: string, n: string) => string;
  extraInputs: BufferDecl[];
  /** u32 lets of the prologue the epilogue's loads use (passed into the store function). */
  params?: string[];
  /** WGSL bool: whether row m is stored at all (rows past a batch's own extent; default all < M). */
  rowValid?: (m: string) => string;
  key: string;
}

export interface GemmSpec {
  name: string;
  m: number;
  n: number;
  k: number;
  /** Independent products (BatchMatMul's batch); each has its own offsets (see `prologue`). */
  batch: number;
  acc: WgslScalar;
  a: GemmOperand;
  b: GemmOperand;
  out: GemmOutput;
  /**
   * WGSL run first with `batch` (u32) in scope: declares the lets operands and the output use,
   * at least `outOff` (the output's element offset of this batch).
   */
  prologue: string;
  prologueKey: string;
  /**
   * WGSL u32: where this batch's reduction ends, if before K (a let of the prologue). Loads past
   * it must give zeros: the last staged step may extend beyond it.
   */
  kEnd?: string;
  /** Module-scope WGSL (helper functions the operands' loads call), named by a short cache key. */
  declarations?: {key: string; text: string};
  uniforms: Uniform[];
  tile?: GemmTile;
  splits?: number;
  /**
   * The adapter runs on the CPU (lavapipe, SwiftShader): tiles and split-K chosen for that. Set by
   * runGemm from the backend's adapter.
   */
  cpuAdapter?: boolean;
  /**
   * Keep the shader small at some speed (SwiftShader, whose compiles of unrolled operand loads
   * ran for minutes): the direct variant loads in a loop (3× slower on lavapipe). Set by runGemm.
   */
  compactLoads?: boolean;
  /**
   * 'f16': stage and multiply-accumulate in half precision (needs shader-f16; f32 accumulators
   * only): twice the values per register and per byte of workgroup memory, as MPS's accumulator
   * precision option. Results are stored as f32; split-K partials are summed in f32.
   */
  precision?: 'f32'|'f16';
}

/** Debugging and tuning hooks (bench/): force a tile or a split count. */
export const gemmTuning: {tile: GemmTile|null; splits: number; unroll: boolean|null} = {tile: null, splits: 0, unroll: null};

/**
 * Tiles by output shape (`batch` independent products count as more tiles). Large outputs: 64 × 128
 * tiles of 128 invocations, 8 × 8 each (4 workgroup-memory vec4 reads per 64 multiply-adds).
 * Narrow outputs (convolutions with 64 channels): 128 × 64. Small ones: 64 × 64, or 32 × 32 of
 * 4 × 4 so enough workgroups exist. Matrix × vector shapes: 16 × 64 strips of 4 × 4. CPU adapters:
 * the direct variant for small or thin products, else 64 × 64 (64 × 32, 32 × 64) of 8 × 8.
 */
export function chooseTile(m: number, n: number, k: number, cpuAdapter = false, batch = 1): GemmTile {
  if (gemmTuning.tile) return gemmTuning.tile;
  const tiles = (bm: number, bn: number) => Math.ceil(m / bm) * Math.ceil(n / bn) * batch;
  if (cpuAdapter) {
    // Products that give fewer than 4 workgroups of 64 × 64, or with a side of at most 16, run
    // direct (lavapipe: the 64 × 16 strip took 0.8–1.9 ms for a 45 × 3 × 273 filter gradient, and
    // computed half zeros for the MNIST conv2 input gradient, N = 8: 26 ms against 8 ms direct).
    if (tiles(64, 64) < 4 || m <= 16 || n <= 16) return DIRECT_TILE;
    // 32 columns (rows): a 64-wide tile would compute as many zeros as values (lavapipe: the
    // batch-1 3×3 32→32 conv 12 → 7 ms, the 37×37 one 17 → 9.5 ms; direct was no better).
    // A workgroup runs as SIMD loops over its invocations: 8 × 8 outputs per invocation halve the
    // workgroup-memory traffic per multiply-add (twice 4 × 4's throughput on lavapipe).
    const tile: GemmTile = n <= 32 ? {bm: 64, bn: 32, bk: 16, tm: 8, tn: 8}
      : m <= 32 ? {bm: 32, bn: 64, bk: 16, tm: 8, tn: 8} : {bm: 64, bn: 64, bk: 16, tm: 8, tn: 8};
    // Tiles under 60% full: direct, which runs at about 70% of a full tile's rate there
    // (lavapipe, InceptionV3's 3×3 80→192 dx at 18², 324 × 80 × 1728, 53% full: 69 → 48 ms).
    const used = (m * n * batch) / (tiles(tile.bm, tile.bn) * tile.bm * tile.bn);
    return used < 0.6 ? DIRECT_TILE : tile;
  }
  if (m <= 16) return {bm: 16, bn: 64, bk: 32, tm: 4, tn: 4};
  if (n <= 16) return {bm: 64, bn: 16, bk: 32, tm: 4, tn: 4};
  // Small outputs with short reductions (batch-1 convolutions): 32 × 32 tiles give the GPU more
  // workgroups in one dispatch; long reductions split K instead.
  if (tiles(64, 64) < 128 && k <= 4096) return {bm: 32, bn: 32, bk: 16, tm: 4, tn: 4};
  // H200 sweep (bench/gemm_tune.ts, BENCHMARKS.md): conv 100352×64×576 best at 128×64 or 64×64;
  // matmul 2048² best at 64×128 (29 TFLOP/s) ahead of 128×128 (27.6), 64×64 of 4×4 (25) and
  // 64×64 of 8×8 (22). Fewer tiles than that: 64×64 of 4×4, 256 invocations a workgroup, so that a
  // few hundred workgroups still keep enough warps per compute unit (the InceptionV3 1×1
  // 4096×320×2048 conv ran at 16 TFLOP/s with 8×8, 2 warps a workgroup).
  const mid: GemmTile = {bm: 64, bn: 64, bk: 16, tm: 4, tn: 4};
  if (n <= 64) return tiles(128, 64) >= 256 ? {bm: 128, bn: 64, bk: 16, tm: 8, tn: 8} : mid;
  if (tiles(64, 128) >= 256) return {bm: 64, bn: 128, bk: 16, tm: 8, tn: 8};
  return mid;
}

/** Whether the engine computes this product with the direct variant (no workgroup staging). */
export function gemmIsDirect(m: number, n: number, k: number, cpuAdapter: boolean, batch = 1): boolean {
  return chooseTile(m, n, k, cpuAdapter, batch).direct === true;
}

/**
 * Split-K count: about 600 workgroups (4–5 per compute unit of a 132-unit GPU) when the output
 * alone gives fewer, each split at least 4 steps of BK long. The H200 sweep of the filter gradient
 * (576 × 64 outputs, K = 100352) ran 3.3× faster at 64 splits than at 8.
 */
export function chooseSplits(spec: {m: number; n: number; k: number; batch: number; cpuAdapter?: boolean; a?: GemmOperand; b?: GemmOperand},
                             tile: GemmTile): number {
  if (gemmTuning.splits) return gemmTuning.splits;
  // Tiles of the output: workgroups, or the direct variant's invocations.
  const groups = Math.ceil(spec.m / tile.bm) * Math.ceil(spec.n / tile.bn) * spec.batch;
  if (tile.direct) {
    // About 8 workgroups of 64 invocations (a CPU's threads), each split at least 1024 long (the
    // summing dispatch costs more than it saves below that on lavapipe).
    return Math.max(1, Math.min(Math.ceil(512 / groups), Math.floor(spec.k / 1024), 64));
  }
  // A CPU adapter has a few cores: split only so that there are a handful of workgroups.
  if (spec.cpuAdapter) return spec.k < 2048 || groups >= 8 ? 1 : Math.min(Math.ceil(8 / groups), Math.floor(spec.k / (4 * tile.bk)));
  // A handful of workgroups each walking the whole reduction through gathers (the 45 × 3 × 273
  // filter gradient of the odd-size bench case: one workgroup, ~0.1 ms on the H200, its integer
  // divisions in series): split into at most 8, each at least 2 steps long. Dense operands load
  // cheaply, and the summing dispatch cost more than it saved (H200: the MNIST dense layer,
  // 16 × 256 × 128, 2 workgroups, split 4 ways: 45 µs against webgpu's 38).
  const gathers = !(spec.a?.dense && spec.b?.dense);
  if (gathers && groups <= 4 && spec.k >= 4 * tile.bk && spec.k < 2048) return Math.min(8, Math.floor(spec.k / (2 * tile.bk)));
  // Short reductions, or enough workgroups already: the summing dispatch would cost more.
  // (Measured on the H200: a second dispatch costs about as much as a small GEMM, so only long
  // reductions split.)
  if (spec.k < 2048 || groups >= 300) return 1;
  const want = Math.ceil(600 / groups);
  const maxByK = Math.floor(spec.k / (4 * tile.bk));
  return Math.max(1, Math.min(want, maxByK, 128));
}

/** The GEMM as one or two programs. A second program (split-K sum + epilogue) when splits > 1. */
export function gemmPrograms(spec: GemmSpec): {main: Program; sum: Program|null; splits: number; partialSize: number} {
  const chosen = spec.tile ?? chooseTile(spec.m, spec.n, spec.k, spec.cpuAdapter, spec.batch);
  const t = chosen.direct && !spec.compactLoads && !gemmTuning.tile ? directTile(spec.m, spec.n, spec.batch) : chosen;
  const splits = spec.splits ?? chooseSplits(spec, t);
  const kTiles = Math.max(1, Math.ceil(spec.k / t.bk));
  const kPerSplit = Math.ceil(kTiles / splits) * t.bk;
  const realSplits = Math.max(1, Math.ceil(spec.k / kPerSplit));
  const main = t.direct ? directProgram(spec, t, realSplits, kPerSplit) : mainProgram(spec, t, realSplits, kPerSplit);
  if (realSplits === 1) return {main, sum: null, splits: 1, partialSize: 0};
  return {main, sum: sumProgram(spec, realSplits), splits: realSplits, partialSize: realSplits * spec.batch * spec.m * spec.n};
}

function zeroOf(t: WgslScalar): string {
  return t === 'f32' ? '0.0' : t === 'i32' ? '0' : '0u';
}

function geometryUniforms(spec: GemmSpec, t: GemmTile, splits: number, kPerSplit: number): Uniform[] {
  const tilesM = Math.ceil(spec.m / t.bm), tilesN = Math.ceil(spec.n / t.bn);
  return [
    {name: 'M', type: 'u32', value: spec.m}, {name: 'N', type: 'u32', value: spec.n}, {name: 'K', type: 'u32', value: spec.k},
    {name: 'tilesM', type: 'u32', value: tilesM}, {name: 'tilesN', type: 'u32', value: tilesN},
    {name: 'splits', type: 'u32', value: splits}, {name: 'kPerSplit', type: 'u32', value: kPerSplit},
    {name: 'batches', type: 'u32', value: spec.batch},
    {name: 'groups', type: 'u32', value: tilesM * tilesN * spec.batch * splits},
  ];
}

/** Epilogue + store of 4 columns (n..n+3) of row m; `v` a vec4 of accumulators. */
function storeFunction(spec: GemmSpec, helpers: Map<string, string>): string {
  const o = spec.out;
  const stmts: string[] = [];
  const result = emitExpr(o.epilogue, i => (i === 0 ? 'x' : o.loadExtra(i, 'm', 'n')), helpers, stmts);
  const acc = spec.acc;
  const params = (o.params ?? []).map(p => `, ${p}: u32`).join('');
  const args = (o.params ?? []).map(p => `, ${p}`).join('');
  const epi = `fn epilogue(x: ${acc}, m: u32, n: u32, outOff: u32${params}) -> ${o.type} {
  ${stmts.join('\n  ')}
  return ${result};
}`;
  const rowOk = o.rowValid ? `m < u.M && ${o.rowValid('m')}` : 'm < u.M';
  const store = o.vec4
    ? `if (${rowOk} && n < u.N) {
    out[(${o.index('m', 'n')}) / 4u] = vec4<${o.type}>(epilogue(v.x, m, n, outOff${args}), epilogue(v.y, m, n + 1u, outOff${args}),
        epilogue(v.z, m, n + 2u, outOff${args}), epilogue(v.w, m, n + 3u, outOff${args}));
  }`
    // Unrolled, constant component indices: SwiftShader hung on the loop with v[c].
    : `let e = vec4<${o.type}>(epilogue(v.x, m, n, outOff${args}), epilogue(v.y, m, n + 1u, outOff${args}),
      epilogue(v.z, m, n + 2u, outOff${args}), epilogue(v.w, m, n + 3u, outOff${args}));
  if (${rowOk}) {
    ${['x', 'y', 'z', 'w'].map((comp, c) =>
      `if (n + ${c}u < u.N) { out[${o.index('m', `n + ${c}u`)}] = e.${comp}; }`).join('\n    ')}
  }`;
  return `${epi}
fn storeOut(m: u32, n: u32, v: vec4<${acc}>, outOff: u32${params}) {
  ${store}
}`;
}

/** Split-K: raw partial sums of 4 columns of row m into the split's slice at `pOff`. */
function storePartialFunction(spec: GemmSpec): string {
  const vecN = spec.n % 4 === 0;
  return `fn storePartial(m: u32, n: u32, v: vec4<${spec.acc}>, pOff: u32) {
  if (m >= u.M) { return; }
  ${vecN
    ? `if (n < u.N) { out[(pOff + m * u.N + n) / 4u] = v; }`
    : ['x', 'y', 'z', 'w'].map((comp, c) => `if (n + ${c}u < u.N) { out[pOff + m * u.N + n + ${c}u] = v.${comp}; }`).join('\n  ')}
}`;
}

/**
 * WGSL placing tile `g` (a workgroup's, or a direct invocation's): its batch, split, first row m0
 * and column n0, the prologue, the partials' offset and the K range.
 */
function tilePlacement(spec: GemmSpec, g: string, t: GemmTile): string {
  return `if (${g} >= u.groups) { return; }
  let tnIdx = ${g} % u.tilesN;
  var rest = ${g} / u.tilesN;
  let tmIdx = rest % u.tilesM;
  rest = rest / u.tilesM;
  let split = rest % u.splits;
  let batch = rest / u.splits;
  ${spec.prologue}
  let pOff = (split * u.batches + batch) * u.M * u.N;
  let m0 = tmIdx * ${t.bm}u;
  let n0 = tnIdx * ${t.bn}u;
  let kBegin = split * u.kPerSplit;
  let kEnd = min(${spec.kEnd ?? 'u.K'}, kBegin + u.kPerSplit);`;
}

/** Buffers of the main program: the operands (and the epilogue's inputs), the output or partials. */
function mainBuffers(spec: GemmSpec, partial: boolean): {inputs: BufferDecl[]; outputs: BufferDecl[]} {
  return {
    inputs: [spec.a.buffer, spec.b.buffer, ...(partial ? [] : spec.out.extraInputs)],
    outputs: partial ? [{name: 'out', type: spec.acc, vec4: spec.n % 4 === 0}] : [{name: 'out', type: spec.out.type, vec4: spec.out.vec4}],
  };
}

/**
 * The direct variant: invocation i computes the block of t.bm × t.bn (4 or 8 each) at (m0, n0) of
 * one split, as 4 × 4 sub-blocks, with no workgroup memory and no barriers. Per step of 4 along K
 * it loads a 4 × 4 block of each operand per row group and per column group (4 loads along k, or 4
 * loads of 4 rows) and does 16 vec4 multiply-adds per sub-block: the groups share their loads.
 */
function directProgram(spec: GemmSpec, t: GemmTile, splits: number, kPerSplit: number): Program {
  const partial = splits > 1;
  const acc = spec.acc;
  // Half precision as in the tiled program: f16 operands and accumulators, f32 at the store.
  const half = spec.precision === 'f16' && acc === 'f32';
  const v4 = half ? 'vec4<f16>' : `vec4<${acc}>`;
  const toCompute = (v: string) => (half ? `vec4<f16>(${v})` : v);
  const toAcc = (v: string) => (half ? `vec4<f32>(${v})` : v);
  const groupsM = t.bm / 4, groupsN = t.bn / 4;
  const key = `gemmDirect|${t.bm}x${t.bn}|${spec.compactLoads ? 'loop' : 'unrolled'}|${acc}|${half ? 'f16' : ''}|${partial ? 'partial' : extraKey(spec.out)}|A:${spec.a.key}|B:${spec.b.key}|${spec.prologueKey}|${spec.kEnd ?? ''}|` +
    `${spec.declarations?.key ?? ''}|${spec.uniforms.map(u => u.name + u.type).join(',')}`;
  const uniforms = geometryUniforms(spec, t, splits, kPerSplit);
  const shader = (): ShaderSpec => {
    const helpers = new Map<string, string>();
    const decls = [partial ? storePartialFunction(spec) : storeFunction(spec, helpers)];
    const setup: string[] = [], loads: string[] = [], step: string[] = [], unrolledLoads: string[] = [], advance: string[] = [];
    const arrays: string[] = [];
    // Along outer: Xv[i] = the group's 4 rows at k0 + i. Along k: Xv[i] = row i's 4 elements from
    // k0. at(c): vec4 over the rows (columns for B) of element k0 + c. The loads are unrolled
    // (i = 0..3, each its own slot) or, with compactLoads, a loop with a uniform bound (u.four):
    // SwiftShader did not finish compiling them unrolled (32 inlined, branching scalar loads) in
    // 2 minutes; the loop (setups in the loop, no incremental state) ran 2-3× slower on lavapipe.
    const operand = (which: 'A'|'B', group: number): ((c: number) => string) => {
      const op = which === 'A' ? spec.a : spec.b;
      const base = `(${which === 'A' ? 'm0' : 'n0'} + ${4 * group}u)`;
      if (op.kInit && !op.loadDirect) throw new Error(`gemm: operand ${op.key} has incremental loads but no loadDirect`);
      const load = op.loadDirect ?? op.load;
      const v = `${which}v${group}`;
      arrays.push(`var ${v}: array<${v4}, 4>;`);
      if (!spec.compactLoads) {
        // Unrolled: slot i has its own setup and, where the operand has it, incremental k state
        // advanced by 4 per step (no divisions per load; llvmpipe runs integer division per lane).
        const incremental = op.kInit !== undefined && op.kAdvance !== undefined;
        for (let i = 0; i < 4; ++i) {
          const s = `${which}${group}_${i}`;
          const row = op.along === 'outer' ? base : `(${base} + ${i}u)`;
          const k = op.along === 'outer' ? `(k0 + ${i}u)` : 'k0';
          setup.push(op.setup(row, s));
          if (incremental) {
            setup.push(op.kInit!(op.along === 'outer' ? `(kBegin + ${i}u)` : 'kBegin', s));
            advance.push(op.kAdvance!(4, s));
          }
          unrolledLoads.push(`${v}[${i}] = ${toCompute((incremental ? op.load : load)(row, k, s))};`);
        }
        return op.along === 'outer' ? c => `${v}[${c}]` : c => `${v4}(${[0, 1, 2, 3].map(r => `${v}[${r}][${c}]`).join(', ')})`;
      }
      const s = `${which}${group}`;
      if (op.along === 'outer') {
        setup.push(op.setup(base, s));
        loads.push(`${v}[i] = ${toCompute(load(base, '(k0 + i)', s))};`);
        return c => `${v}[${c}]`;
      }
      const row = `(${base} + i)`;
      loads.push(`{
        ${op.setup(row, s)}
        ${v}[i] = ${toCompute(load(row, 'k0', s))};
      }`);
      return c => `${v4}(${[0, 1, 2, 3].map(r => `${v}[${r}][${c}]`).join(', ')})`;
    };
    const range = (n: number) => Array.from({length: n}, (_, i) => i);
    const aAt = range(groupsM).map(g => operand('A', g)), bAt = range(groupsN).map(g => operand('B', g));
    // Accumulator c{gm}_{r}_{gn}: row 4·gm + r, columns 4·gn.. of the block.
    const accs: string[] = [], finish: string[] = [];
    const storeArgs = (spec.out.params ?? []).map(p => `, ${p}`).join('');
    for (const gm of range(groupsM)) {
      for (let r = 0; r < 4; ++r) {
        for (const gn of range(groupsN)) {
          const c = `c${gm}_${r}_${gn}`, m = `m0 + ${4 * gm + r}u`, n = `n0 + ${4 * gn}u`;
          accs.push(`var ${c} = ${v4}();`);
          finish.push(partial ? `storePartial(${m}, ${n}, ${toAcc(c)}, pOff);` : `storeOut(${m}, ${n}, ${toAcc(c)}, outOff${storeArgs});`);
        }
      }
    }
    for (let kc = 0; kc < 4; ++kc) {
      for (const gn of range(groupsN)) step.push(`let b${gn}_${kc} = ${bAt[gn](kc)};`);
      for (const gm of range(groupsM)) step.push(`let a${gm}_${kc} = ${aAt[gm](kc)};`);
      for (const gm of range(groupsM)) {
        for (let r = 0; r < 4; ++r) {
          for (const gn of range(groupsN)) {
            const c = `c${gm}_${r}_${gn}`, a = `${v4}(a${gm}_${kc}[${r}])`, b = `b${gn}_${kc}`;
            step.push(acc === 'f32' || half ? `${c} = fma(${a}, ${b}, ${c});` : `${c} = ${c} + ${a} * ${b};`);
          }
        }
      }
    }
    return {
      f16: half,
      ...mainBuffers(spec, partial),
      workgroupSize: [64, 1, 1],
      declarations: [...helpers.values(), spec.declarations?.text ?? '', spec.a.decls ?? '', spec.b.decls ?? '', ...decls].join('\n'),
      body: `
  ${tilePlacement(spec, 'flatId', t)}
  ${setup.join('\n  ')}
  ${accs.join('\n  ')}
  ${arrays.join('\n  ')}
  for (var k0 = kBegin; k0 < kEnd; k0 = k0 + 4u) {
    ${spec.compactLoads
      ? `for (var i = 0u; i < u.four; i = i + 1u) {
      ${loads.join('\n      ')}
    }`
      : unrolledLoads.join('\n    ')}
    ${step.join('\n    ')}
    ${advance.join('\n    ')}
  }
  ${finish.join('\n  ')}`,
    };
  };
  const count = Math.ceil(spec.m / t.bm) * Math.ceil(spec.n / t.bn) * spec.batch * splits;
  const loopBound: Uniform[] = spec.compactLoads ? [{name: 'four', type: 'u32', value: 4}] : [];
  return {name: spec.name, key, shader, uniforms: [...uniforms, ...loopBound, ...spec.uniforms], dispatch: dispatch1D(count, 64)};
}

function extraKey(o: GemmOutput): string {
  return `${o.type}|${o.vec4 ? 'v4' : 's'}|${o.key}|${o.rowValid?.('m') ?? ''}|${(o.params ?? []).join(',')}|${exprKey(o.epilogue)}|${o.extraInputs.map(e => e.name + e.type).join(',')}`;
}

function mainProgram(spec: GemmSpec, t: GemmTile, splits: number, kPerSplit: number): Program {
  const threads = (t.bm / t.tm) * (t.bn / t.tn);
  const txCount = t.bn / t.tn, tyCount = t.bm / t.tm;
  const slotsA = (t.bm * t.bk) / 4 / threads, slotsB = (t.bn * t.bk) / 4 / threads;
  if (!Number.isInteger(slotsA) || !Number.isInteger(slotsB) || t.tm % 4 !== 0 || t.tn % 4 !== 0) {
    throw new Error(`gemm: tile ${JSON.stringify(t)} does not divide into vec4 load slots`);
  }
  const partial = splits > 1;
  // GPUs want the k-step loop unrolled (register-indexed operands); on CPU adapters a constant
  // bound lets SwiftShader unroll it into code that took minutes and gigabytes to compile, so the
  // bound is a uniform there.
  const unroll = gemmTuning.unroll ?? !spec.cpuAdapter;
  const uniforms = [...geometryUniforms(spec, t, splits, kPerSplit), ...spec.uniforms];
  const key = `gemm2|${t.bm},${t.bn},${t.bk},${t.tm},${t.tn}|${spec.acc}|${partial ? 'partial' : extraKey(spec.out)}|` +
    `A:${spec.a.key}|B:${spec.b.key}|${spec.prologueKey}|${spec.kEnd ?? ''}|${unroll ? 'u' : 'l'}|${spec.cpuAdapter ? 'cpu' : 'gpu'}|${spec.precision ?? 'f32'}|${spec.declarations?.key ?? ''}|` +
    spec.uniforms.map(u => u.name + u.type).join(',');
  const acc = spec.acc;
  const half = spec.precision === 'f16' && acc === 'f32';
  // The type of staged values and accumulators; loads and stores convert at the edges.
  const v4 = half ? 'vec4<f16>' : `vec4<${acc}>`;
  const toCompute = (v: string) => (half ? `vec4<f16>(${v})` : v);
  const toAcc = (v: string) => (half ? `vec4<f32>(${v})` : v);

  const shader = (): ShaderSpec => {
    const helpers = new Map<string, string>();
    const decls: string[] = [];
    if (!partial) decls.push(storeFunction(spec, helpers));
    // Load slots: slot s = lindex + i · threads of the operand's BM·BK/4 (BN·BK/4) vec4s. Along k,
    // neighbouring invocations take neighbouring k (coalesced when the operand is contiguous in k);
    // along outer, neighbouring rows.
    const setup: string[] = [], loads: string[] = [], stores: string[] = [], advance: string[] = [];
    // Where a slot's vec4 lies in the tile (kk, row) and how it goes to workgroup memory.
    const slotParts = (which: 'A'|'B', slot: string, s: string) => {
      const op = which === 'A' ? spec.a : spec.b;
      const outer = which === 'A' ? t.bm : t.bn;
      const sh = which === 'A' ? 'As' : 'Bs';
      const row = `(${which === 'A' ? 'm0' : 'n0'} + row${s})`;
      const place = op.along === 'k'
        ? [`let kk${s} = (${slot} % ${t.bk / 4}u) * 4u;`, `let row${s} = ${slot} / ${t.bk / 4}u;`]
        : [`let kk${s} = ${slot} / ${outer / 4}u;`, `let row${s} = (${slot} % ${outer / 4}u) * 4u;`];
      const store = op.along === 'k'
        ? [0, 1, 2, 3].map(c => `${sh}[(kk${s} + ${c}u) * ${outer / 4}u + row${s} / 4u][row${s} % 4u] = r${s}[${c}];`)
        : [`${sh}[kk${s} * ${outer / 4}u + row${s} / 4u] = r${s};`];
      return {op, row, place, store};
    };
    const slots = (which: 'A'|'B') => {
      const count = which === 'A' ? slotsA : slotsB;
      for (let i = 0; i < count; ++i) {
        const s = `${which}${i}`;
        const {op, row, place, store} = slotParts(which, `(lindex + ${i * threads}u)`, s);
        setup.push(...place, op.setup(row, s));
        loads.push(`r${s} = ${toCompute(op.load(row, `(k0 + kk${s})`, s))};`);
        stores.push(...store);
        setup.push(`var r${s}: ${v4};`);
        if (op.kInit && op.kAdvance) {
          setup.push(op.kInit(`(kBegin + kk${s})`, s));
          advance.push(op.kAdvance(t.bk, s));
        }
      }
    };
    // CPU adapters: the slots as a loop with a uniform bound (one copy of the load code) —
    // SwiftShader's compiles of unrolled slots of scalar loads ran for minutes and gigabytes.
    const slotLoop = (which: 'A'|'B') => {
      const s = which;
      const {op, row, place, store} = slotParts(which, 'slot', s);
      const load = (op.loadDirect ?? op.load)(row, `(k0 + kk${s})`, s);
      return `for (var it = 0u; it < u.slots${which}; it = it + 1u) {
      let slot = lindex + it * ${threads}u;
      ${place.join('\n      ')}
      ${op.setup(row, s)}
      let r${s} = ${toCompute(load)};
      ${store.join('\n      ')}
    }`;
    };
    if (spec.cpuAdapter) {
      loads.push(slotLoop('A'), slotLoop('B'));
    } else {
      slots('A');
      slots('B');
    }
    const accDecl: string[] = [], inner: string[] = [], finish: string[] = [];
    const storeArgs = (spec.out.params ?? []).map(p => `, ${p}`).join('');
    for (let i = 0; i < t.tm / 4; ++i) inner.push(`let a${i} = As[kk * ${t.bm / 4}u + ty + ${i * tyCount}u];`);
    for (let j = 0; j < t.tn / 4; ++j) inner.push(`let b${j} = Bs[kk * ${t.bn / 4}u + tx + ${j * txCount}u];`);
    for (let i = 0; i < t.tm / 4; ++i) {
      for (let r = 0; r < 4; ++r) {
        for (let j = 0; j < t.tn / 4; ++j) {
          const c = `c${i}_${r}_${j}`;
          accDecl.push(`var ${c} = ${v4}();`);
          const a = `${v4}(a${i}[${r}])`;
          inner.push(acc === 'f32' ? `${c} = fma(${a}, b${j}, ${c});` : `${c} = ${c} + ${a} * b${j};`);
          const m = `m0 + (ty + ${i * tyCount}u) * 4u + ${r}u`;
          const n = `n0 + (tx + ${j * txCount}u) * 4u`;
          finish.push(partial ? `storePartial(${m}, ${n}, ${toAcc(c)}, pOff);` : `storeOut(${m}, ${n}, ${toAcc(c)}, outOff${storeArgs});`);
        }
      }
    }
    if (partial) decls.push(storePartialFunction(spec));
    const kLoop = unroll ? `${t.bk}u` : 'u.bk';
    const compute = `for (var kk = 0u; kk < ${kLoop}; kk = kk + 1u) {
      ${inner.join('\n      ')}
    }`;
    // GPUs: the next step's global loads are issued before this step's multiply-adds (one
    // register stage of prefetch). CPU adapters: load and store in one phase — SwiftShader runs
    // barriers as coroutine splits, and values live across them made its compiles blow up.
    const mainLoop = spec.cpuAdapter
      ? `var k0 = kBegin;
  loop {
    if (k0 >= kEnd) { break; }
    ${loads.join('\n    ')}
    workgroupBarrier();
    ${compute}
    workgroupBarrier();
    k0 = k0 + ${t.bk}u;
  }`
      : `var k0 = kBegin;
  if (k0 < kEnd) {
    ${loads.join('\n    ')}
  }
  loop {
    if (k0 >= kEnd) { break; }
    ${stores.join('\n    ')}
    workgroupBarrier();
    k0 = k0 + ${t.bk}u;
    if (k0 < kEnd) {
      ${advance.join('\n      ')}
      ${loads.join('\n      ')}
    }
    ${compute}
    workgroupBarrier();
  }`;
    return {
      f16: half,
      ...mainBuffers(spec, partial),
      workgroupSize: [threads, 1, 1],
      declarations: [
        ...helpers.values(),
        `var<workgroup> As: array<${v4}, ${(t.bm * t.bk) / 4}>;`,
        `var<workgroup> Bs: array<${v4}, ${(t.bn * t.bk) / 4}>;`,
        spec.declarations?.text ?? '',
        spec.a.decls ?? '',
        spec.b.decls ?? '',
        ...decls,
      ].join('\n'),
      body: `
  let g = wid.x + wid.y * nwg.x;
  ${tilePlacement(spec, 'g', t)}
  let tx = lindex % ${txCount}u;
  let ty = lindex / ${txCount}u;
  ${setup.join('\n  ')}
  ${accDecl.join('\n  ')}
  ${mainLoop}
  ${finish.join('\n  ')}`,
    };
  };
  const uni = [...uniforms, ...(unroll ? [] : [{name: 'bk', type: 'u32' as const, value: t.bk}]),
               ...(spec.cpuAdapter ? [{name: 'slotsA', type: 'u32' as const, value: slotsA}, {name: 'slotsB', type: 'u32' as const, value: slotsB}] : [])];
  const groups = Math.ceil(spec.m / t.bm) * Math.ceil(spec.n / t.bn) * spec.batch * splits;
  return {name: spec.name, key, shader, uniforms: uni, dispatch: dispatch1D(groups, 1)};
}

/** Split-K: out = epilogue(Σ over splits of the partials), 4 columns per invocation. */
function sumProgram(spec: GemmSpec, splits: number): Program {
  const acc = spec.acc;
  const nq = Math.ceil(spec.n / 4);
  const count = spec.batch * spec.m * nq;
  const wg = 64;
  const vecN = spec.n % 4 === 0;
  const uniforms: Uniform[] = [
    {name: 'M', type: 'u32', value: spec.m}, {name: 'N', type: 'u32', value: spec.n},
    {name: 'nq', type: 'u32', value: nq}, {name: 'count', type: 'u32', value: count},
    {name: 'splits', type: 'u32', value: splits}, {name: 'batches', type: 'u32', value: spec.batch},
    ...spec.uniforms,
  ];
  const key = `gemm2sum|${acc}|${vecN}|${extraKey(spec.out)}|${spec.prologueKey}|${spec.uniforms.map(u => u.name + u.type).join(',')}`;
  const shader = (): ShaderSpec => {
    const helpers = new Map<string, string>();
    const store = storeFunction(spec, helpers);
    const read = vecN
      ? 'part[(s * u.batches * u.M * u.N + base) / 4u]'
      : `vec4<${acc}>(${[0, 1, 2, 3].map(c => `select(${zeroOf(acc)}, part[s * u.batches * u.M * u.N + base + ${c}u], n + ${c}u < u.N)`).join(', ')})`;
    return {
      inputs: [{name: 'part', type: acc, vec4: vecN}, ...spec.out.extraInputs],
      outputs: [{name: 'out', type: spec.out.type, vec4: spec.out.vec4}],
      workgroupSize: [wg, 1, 1],
      declarations: [...helpers.values(), store].join('\n'),
      body: `
  if (flatId >= u.count) { return; }
  let q = flatId % u.nq;
  let row = flatId / u.nq;
  let m = row % u.M;
  let batch = row / u.M;
  ${spec.prologue}
  let n = q * 4u;
  let base = (batch * u.M + m) * u.N + n;
  var v = vec4<${acc}>();
  for (var s = 0u; s < u.splits; s = s + 1u) {
    v = v + ${read};
  }
  storeOut(m, n, v, outOff${(spec.out.params ?? []).map(p => `, ${p}`).join('')});`,
    };
  };
  return {name: spec.name, key, shader, uniforms, dispatch: dispatch1D(count, wg)};
}

/**
 * A dense row-major matrix operand: element (row, k) at `offset + row·ld + k` (contiguous in k) or
 * `offset + k·ld + row` (contiguous in row), zero outside rows × K. `vec4` (aligned vector loads)
 * needs the contiguous extent and `ld` and `offset` to be multiples of 4.
 */
export function denseOperand(o: {name: string; type: WgslScalar; acc: WgslScalar; contiguous: 'k'|'outer'; vec4: boolean;
                                 offset: string; ld: string; rows: string}): GemmOperand {
  const conv = (v: string) => (o.type === o.acc ? v : `vec4<${o.acc}>(${v})`);
  const conv1 = (v: string) => (o.type === o.acc ? v : `${o.acc}(${v})`);
  const zero = `vec4<${o.acc}>()`;
  const at = (row: string, k: string) => (o.contiguous === 'k' ? `${o.offset} + ${row} * ${o.ld} + ${k}` : `${o.offset} + ${k} * ${o.ld} + ${row}`);
  const load = (row: string, k: string): string => {
    if (o.vec4) return `select(${zero}, ${conv(`${o.name}[(${at(row, k)}) / 4u]`)}, ${row} < ${o.rows} && ${k} < u.K)`;
    const comps = [0, 1, 2, 3].map(c => {
      const [r, kc] = o.contiguous === 'k' ? [row, `${k} + ${c}u`] : [`${row} + ${c}u`, k];
      return conv1(`load1_${o.name}(${at(r, kc)}, ${r} < ${o.rows} && ${kc} < u.K)`);
    });
    return `vec4<${o.acc}>(${comps.join(', ')})`;
  };
  // Scalar loads branch instead of select(): a select evaluates its out-of-range load too.
  const decls = o.vec4 ? undefined : `fn load1_${o.name}(i: u32, ok: bool) -> ${o.type} {
  if (ok) { return ${o.name}[i]; }
  return ${zeroOf(o.type)};
}`;
  return {
    buffer: {name: o.name, type: o.type, vec4: o.vec4},
    along: o.contiguous,
    setup: () => '',
    load: (row, k) => load(row, k),
    decls,
    dense: true,
    key: `dense:${o.name}:${o.type}:${o.contiguous}:${o.vec4 ? 4 : 1}:${o.offset}:${o.ld}:${o.rows}`,
  };
}

/** What runGemm needs of the backend (kept structural: codegen does not import the backend). */
interface GemmBackend {
  gpu: MpsgpuDevice;
  runProgram(program: Program, inputs: TensorLike[], shape: number[], dtype: 'float32'|'int32'|'bool'): TensorLike;
  disposeIntermediateTensorInfo(t: TensorLike): void;
}
type TensorLike = {dataId: object; shape: number[]; dtype: string};

/** The programs of a GEMM as recorded: the main one, the split-K sum (or null), the partials' size. */
export interface GemmRecord {
  main: Program;
  sum: Program|null;
  partialSize: number;
  partialDtype: 'float32'|'int32';
}

/** Whether gemmTuning forces a tile, splits or unrolling (bench/, specs): records must not be reused then. */
export function gemmTuned(): boolean {
  return gemmTuning.tile !== null || gemmTuning.splits !== 0 || gemmTuning.unroll !== null;
}

/** runGemm's adapter answers per device (adapterMatches builds a key string per call). */
const adapterKinds = new WeakMap<MpsgpuDevice, {cpuAdapter: boolean; compactLoads: boolean}>();

function adapterKind(gpu: MpsgpuDevice): {cpuAdapter: boolean; compactLoads: boolean} {
  let kind = adapterKinds.get(gpu);
  if (kind === undefined) {
    const cpuAdapter = isCpuAdapter(gpu);
    kind = {cpuAdapter, compactLoads: cpuAdapter && adapterMatches(gpu, /swiftshader/i)};
    adapterKinds.set(gpu, kind);
  }
  return kind;
}

/**
 * The programs recording `spec` on `gpu`'s adapter takes, `extras` the number of the epilogue's
 * extra tensors: a pure function of the spec and the adapter (kernels may keep it for equal specs).
 */
export function gemmRecord(gpu: MpsgpuDevice, spec: GemmSpec, extras: number): GemmRecord {
  const {cpuAdapter, compactLoads} = adapterKind(gpu);
  const full: GemmSpec = {...spec, cpuAdapter, compactLoads};
  const {main, sum, partialSize} = gemmPrograms(full);
  // The storing program (the only one, or the split-K sum) may take an elementwise reader in.
  const storing = (p: Program, inputs: number): Program => ({...p, epilogue: epilogueHook(full, inputs)});
  if (!sum) return {main: storing(main, 2 + extras), sum: null, partialSize: 0, partialDtype: 'float32'};
  return {main, sum: storing(sum, 1 + extras), partialSize, partialDtype: spec.acc === 'f32' ? 'float32' : 'int32'};
}

/** Record `rec` (gemmRecord's): inputs a, b and the epilogue's extra tensors; returns the output of `shape`. */
export function recordGemm<T extends TensorLike>(backend: GemmBackend, rec: GemmRecord, operands: [T, T], extras: T[], shape: number[],
                                                 dtype: 'float32'|'int32'|'bool'): T {
  if (!rec.sum) return backend.runProgram(rec.main, extras.length === 0 ? operands : [...operands, ...extras], shape, dtype) as T;
  const partial = backend.runProgram(rec.main, operands, [rec.partialSize], rec.partialDtype);
  const out = backend.runProgram(rec.sum, extras.length === 0 ? [partial] : [partial, ...extras], shape, dtype) as T;
  backend.disposeIntermediateTensorInfo(partial);
  return out;
}

/**
 * Record the GEMM: inputs a, b (the operands' tensors) and the epilogue's extra tensors; returns
 * the output tensor of `shape`. Split-K records the partial sums and their sum as two nodes.
 */
export function runGemm<T extends TensorLike>(backend: GemmBackend, spec: GemmSpec, operands: [T, T], extras: T[], shape: number[],
                                              dtype: 'float32'|'int32'|'bool'): T {
  return recordGemm(backend, gemmRecord(backend.gpu, spec, extras.length), operands, extras, shape, dtype);
}

/**
 * The hook through which fusion (src/fusion/epilogues.ts) applies an elementwise reader of the
 * GEMM's output before the store: its expression over the GEMM's own epilogue, its further inputs
 * bound after the GEMM's, its uniforms after the GEMM's. `inputs`: the buffers the storing
 * program reads.
 */
function epilogueHook(spec: GemmSpec, inputs: number): EpilogueHook {
  const own = spec.out.extraInputs.length;
  return {
    n: spec.n,
    buffers: inputs + 1,
    withEpilogue: e => {
      const loads = e.inputs.map((inp, j) => ({name: `epi${j}`, ...inp}));
      const expr = substituteInputs(e.expr, j => (j === 0 ? spec.out.epilogue : {kind: 'input', index: own + j, type: e.inputs[j - 1].type}));
      const out: GemmOutput = {
        ...spec.out,
        type: e.outType,
        epilogue: expr,
        extraInputs: [...spec.out.extraInputs, ...loads.map(l => ({name: l.name, type: l.type}))],
        loadExtra: (i, m, n) => {
          if (i <= own) return spec.out.loadExtra(i, m, n);
          const l = loads[i - own - 1];
          return l.load === 'same' ? `${l.name}[${spec.out.index(m, n)}]` : l.load === 'channel' ? `${l.name}[${n}]` : `${l.name}[0]`;
        },
        key: `${spec.out.key}|epi:${loads.map(l => l.type + l.load).join(',')}`,
      };
      const {main, sum} = gemmPrograms({...spec, out, uniforms: [...spec.uniforms, ...e.uniforms]});
      return sum ?? main;
    },
  };
}

/** `e` with each input leaf replaced (shared subtrees stay shared). */
function substituteInputs(e: Expr, leaf: (index: number) => Expr, memo = new Map<Expr, Expr>()): Expr {
  const done = memo.get(e);
  if (done) return done;
  let out: Expr;
  switch (e.kind) {
    case 'input': out = leaf(e.index); break;
    case 'op': out = {...e, args: e.args.map(a => substituteInputs(a, leaf, memo))}; break;
    default: out = e;
  }
  memo.set(e, out);
  return out;
}
