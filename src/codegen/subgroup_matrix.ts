// Tensor-core matmul through Dawn's experimental subgroup matrices: WebGPU feature
// `chromium-experimental-subgroup-matrix`, WGSL `enable chromium_experimental_subgroup_matrix;`.
//
// The API, as Dawn defines it (google/dawn: docs/dawn/features/subgroup_matrix.md,
// src/tint/lang/wgsl/wgsl.def, src/dawn/tests/end2end/SubgroupMatrixTests.cpp):
//   subgroup_matrix_left<T, K, M>    M rows × K columns (A operand)
//   subgroup_matrix_right<T, N, K>   K rows × N columns (B operand)
//   subgroup_matrix_result<R, N, M>  M rows × N columns (accumulator)
//   subgroupMatrixLoad<Type, row_major|col_major>(&arr, offset, stride) -> Type
//   subgroupMatrixStore<row_major|col_major>(&arr, offset, value, stride)
//   subgroupMatrixMultiplyAccumulate(left, right, acc) -> acc'   (left·right + acc)
// `arr` is a storage or workgroup array of the component type; offset and stride count its
// elements; row-major entry [r, c] is arr[offset + r·stride + c]. The older spelling
// subgroupMatrixLoad<Type>(&arr, offset, col_major: bool, stride) is deprecated but still parsed.
// Calls must be in subgroup-uniform control flow with subgroup-uniform arguments, and the
// workgroup's x size must be a multiple of the adapter's subgroupMaxSize.
//
// Which (componentType, resultComponentType, M, N, K) exist is the adapter's list
// `adapter.info.subgroupMatrixConfigs`. On Vulkan, Dawn copies the driver's cooperative-matrix
// list and drops f16 entries unless the adapter offers `shader-f16` (PhysicalDeviceVk.cpp,
// EnumerateSubgroupMatrixConfigs); on NVIDIA, Dawn offers `shader-f16` only with the adapter
// toggle `vulkan_enable_f16_on_nvidia`, so without it an NVIDIA adapter lists only integer configs.
import {Program} from './program.js';
import {ShaderSpec, Uniform} from './shader.js';

export const SUBGROUP_MATRIX_FEATURE = 'chromium-experimental-subgroup-matrix';

/**
 * Dawn toggles (Node: create([`enable-dawn-features=${toggles.join(',')}`])) that expose the
 * feature (experimental, behind allow_unsafe_apis) and its f16 configs on NVIDIA.
 */
export const SUBGROUP_MATRIX_DAWN_TOGGLES = ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia'];

export type SubgroupMatrixComponentType = 'f32'|'f16'|'u32'|'i32'|'u8'|'i8';

/** One entry of GPUAdapterInfo.subgroupMatrixConfigs. */
export interface SubgroupMatrixConfig {
  componentType: SubgroupMatrixComponentType;
  resultComponentType: SubgroupMatrixComponentType;
  M: number;
  N: number;
  K: number;
}

export interface SubgroupMatrixSupport {
  /** The adapter or device has the feature. */
  feature: boolean;
  subgroups: boolean;
  f16: boolean;
  /** Workgroup x sizes must be a multiple of this where subgroup matrices are used. */
  subgroupMaxSize: number;
  /** Every config the adapter lists. */
  configs: SubgroupMatrixConfig[];
  /** Configs this matmul can use (f16 or f32 inputs, f32 results), preferred first. */
  usable: SubgroupMatrixConfig[];
  /** Why `usable` is empty; null when it is not. */
  reason: string|null;
}

interface FeatureHolder {
  features: ReadonlySet<string>|GPUSupportedFeatures;
}

function adapterInfoOf(gpu: object): Record<string, unknown> {
  const g = gpu as {info?: object; adapterInfo?: object};
  return (g.info ?? g.adapterInfo ?? {}) as Record<string, unknown>;
}

/** The subgroup-matrix configs an adapter (or a device, from its adapterInfo) offers. */
export function subgroupMatrixSupport(gpu: FeatureHolder): SubgroupMatrixSupport {
  const info = adapterInfoOf(gpu);
  const has = (name: string) => (gpu.features as ReadonlySet<string>).has(name);
  const listed = (info.subgroupMatrixConfigs ?? []) as ArrayLike<SubgroupMatrixConfig>;
  const configs: SubgroupMatrixConfig[] = Array.from(listed, c => ({
    componentType: c.componentType, resultComponentType: c.resultComponentType, M: c.M, N: c.N, K: c.K,
  }));
  const feature = has(SUBGROUP_MATRIX_FEATURE);
  const subgroups = has('subgroups');
  const f16 = has('shader-f16');
  const usable = configs.filter(c => c.resultComponentType === 'f32' &&
      (c.componentType === 'f32' || (c.componentType === 'f16' && f16)));
  // Fewer, larger fragments first: fewer instructions per flop; f16 inputs run on tensor cores.
  usable.sort((a, b) => (a.componentType === 'f16' ? 0 : 1) - (b.componentType === 'f16' ? 0 : 1) ||
      b.M * b.N * b.K - a.M * a.N * a.K);
  let reason: string|null = null;
  if (!feature) reason = `adapter lacks '${SUBGROUP_MATRIX_FEATURE}' (Dawn offers it only with toggle allow_unsafe_apis, on Vulkan only with VK_KHR_cooperative_matrix)`;
  else if (!subgroups) reason = `adapter lacks 'subgroups'`;
  else if (configs.length === 0) reason = 'adapter lists no subgroup matrix configs';
  else if (usable.length === 0) {
    reason = 'no config has f16/f32 inputs and f32 results' +
        (f16 ? '' : ` (no 'shader-f16': Dawn drops f16 configs; on NVIDIA add toggle vulkan_enable_f16_on_nvidia)`);
  }
  const subgroupMaxSize = Number(info.subgroupMaxSize ?? 0) || 32;
  return {feature, subgroups, f16, subgroupMaxSize, configs, usable: reason ? [] : usable, reason};
}

export function configName(c: SubgroupMatrixConfig): string {
  return `${c.componentType}->${c.resultComponentType} ${c.M}x${c.N}x${c.K}`;
}

/**
 * How a workgroup splits its C tile: sgRows × sgCols subgroups, each computing fragRows ×
 * fragCols result matrices; kTile columns of A (rows of B) are staged per step.
 */
export interface SgmTiling {
  sgRows: number;
  sgCols: number;
  fragRows: number;
  fragCols: number;
  kTile: number;
}

/** Tilings worth timing on a GPU (for 16×16 fragments: 64², 128² and 64×128 workgroup tiles). */
export const SGM_TILINGS: readonly SgmTiling[] = [
  {sgRows: 2, sgCols: 2, fragRows: 2, fragCols: 2, kTile: 32},
  {sgRows: 2, sgCols: 4, fragRows: 4, fragCols: 2, kTile: 32},
  {sgRows: 2, sgCols: 2, fragRows: 4, fragCols: 4, kTile: 32},
  {sgRows: 2, sgCols: 4, fragRows: 4, fragCols: 2, kTile: 16},
  {sgRows: 2, sgCols: 2, fragRows: 2, fragCols: 4, kTile: 32},
];

export interface SgmMatmulOptions {
  /** Must have f16 or f32 components and f32 results. */
  config: SubgroupMatrixConfig;
  tiling: SgmTiling;
  /** The adapter's subgroupMaxSize: invocations per subgroup the tiling assumes. */
  subgroupSize: number;
  /** A is read as vec4 (needs K % 4 == 0). */
  vec4A?: boolean;
  /** B is read as vec4 (needs N % 4 == 0). */
  vec4B?: boolean;
  /**
   * Replace the subgroup-matrix types and builtins by plain WGSL with the same semantics (each
   * of `subgroupSize` consecutive invocations holds part of each result): runs on any adapter,
   * to check the tiling, staging and edge handling without tensor cores.
   */
  emulate?: boolean;
  /** `template`: subgroupMatrixLoad<T, row_major>(…) (current); `argument`: the deprecated bool. */
  majorness?: 'template'|'argument';
}

export interface SgmLayout {
  /** Workgroup tile of C: BM × BN; BK of the reduction per step. */
  BM: number;
  BN: number;
  BK: number;
  numSubgroups: number;
  threads: number;
  /** Row strides (elements) of the staged A (BM × BK) and B (BK × BN) tiles, padded. */
  aStride: number;
  bStride: number;
  aSize: number;
  bSize: number;
  /** vec4 (or scalar) global loads per invocation per step. */
  loadsA: number;
  loadsB: number;
  workgroupStorageBytes: number;
}

/** Tile geometry; throws where the tiling does not fit the config. */
export function sgmLayout(opts: SgmMatmulOptions): SgmLayout {
  const {config: c, tiling: t, subgroupSize: sg} = opts;
  if (c.resultComponentType !== 'f32' || (c.componentType !== 'f16' && c.componentType !== 'f32')) {
    throw new Error(`subgroup matrix matmul: config ${configName(c)} is not f16/f32 -> f32`);
  }
  const BM = t.sgRows * t.fragRows * c.M;
  const BN = t.sgCols * t.fragCols * c.N;
  const BK = t.kTile;
  if (BK % c.K !== 0) throw new Error(`subgroup matrix matmul: kTile ${BK} is not a multiple of K=${c.K}`);
  const numSubgroups = t.sgRows * t.sgCols;
  const threads = numSubgroups * sg;
  // 16 bytes of padding per row: keeps rows 16-byte aligned (cooperative-matrix loads need it)
  // and shifts successive rows across shared-memory banks.
  const elemBytes = c.componentType === 'f16' ? 2 : 4;
  const pad = 16 / elemBytes;
  const aStride = BK + pad;
  const bStride = BN + pad;
  const aSize = BM * aStride;
  const bSize = BK * bStride;
  const perA = opts.vec4A ? 4 : 1;
  const perB = opts.vec4B ? 4 : 1;
  const loadsA = BM * BK / perA / threads;
  const loadsB = BK * BN / perB / threads;
  if (!Number.isInteger(loadsA) || !Number.isInteger(loadsB) || loadsA < 1 || loadsB < 1) {
    throw new Error(`subgroup matrix matmul: ${threads} invocations do not split a ${BM}x${BK} / ${BK}x${BN} tile evenly`);
  }
  if (opts.emulate && (c.M * c.N) % sg !== 0) {
    throw new Error(`subgroup matrix matmul: emulation needs ${sg} to divide ${c.M}x${c.N}`);
  }
  const workgroupStorageBytes = 2 * (aSize + bSize) * elemBytes + numSubgroups * c.M * c.N * 4;
  return {BM, BN, BK, numSubgroups, threads, aStride, bStride, aSize, bSize, loadsA, loadsB,
    workgroupStorageBytes};
}

export function tilingName(opts: SgmMatmulOptions): string {
  const l = sgmLayout(opts);
  const t = opts.tiling;
  return `${l.BM}x${l.BN}x${l.BK} sg${t.sgRows}x${t.sgCols} frag${t.fragRows}x${t.fragCols}`;
}

/**
 * Bound on |C − C_exact| / Σ_k |a_ik·b_kj| for this path: each input rounded to f16 (or tf32,
 * which hardware may use for f32 configs) within one ulp, 2^-10 relative (WGSL lets f32→f16 round
 * either way), products exact, K terms summed in f32 with truncation at worst (2^-23 each).
 */
export function sgmErrorBound(k: number): number {
  const uIn = 2 ** -10;
  const gamma = k * 2 ** -23;
  return (1 + uIn) ** 2 * (1 + gamma) - 1;
}

/** The primitive operations, as WGSL text: tensor-core builtins or their emulation. */
interface SgmOps {
  decls: string;
  loadA(offset: string, stride: string): string;
  loadB(offset: string, stride: string): string;
  mma(a: string, b: string, acc: string): string;
  /** Statement storing `value` row-major into C (global) or sgmC (workgroup scratch). */
  store(target: 'C'|'sgmC', offset: string, value: string, stride: string): string;
}

function nativeOps(c: SubgroupMatrixConfig, majorness: 'template'|'argument'): SgmOps {
  const load = (type: string, arr: string, offset: string, stride: string) => majorness === 'template' ?
      `subgroupMatrixLoad<${type}, row_major>(&${arr}, ${offset}, ${stride})` :
      `subgroupMatrixLoad<${type}>(&${arr}, ${offset}, false, ${stride})`;
  return {
    decls: `
alias SgmLeft = subgroup_matrix_left<SgmT, ${c.K}, ${c.M}>;
alias SgmRight = subgroup_matrix_right<SgmT, ${c.N}, ${c.K}>;
alias SgmAcc = subgroup_matrix_result<f32, ${c.N}, ${c.M}>;`,
    loadA: (offset, stride) => load('SgmLeft', 'sgmA', offset, stride),
    loadB: (offset, stride) => load('SgmRight', 'sgmB', offset, stride),
    mma: (a, b, acc) => `subgroupMatrixMultiplyAccumulate(${a}, ${b}, ${acc})`,
    store: (target, offset, value, stride) => majorness === 'template' ?
        `subgroupMatrixStore<row_major>(&${target}, ${offset}, ${value}, ${stride});` :
        `subgroupMatrixStore(&${target}, ${offset}, ${value}, false, ${stride});`,
  };
}

/**
 * Plain-WGSL stand-ins: a left/right matrix is a reference into the staged tile (valid until the
 * next barrier, as the kernel uses them); a result keeps elements lane, lane + SG, … of its
 * row-major M×N values in the invocation `lane` of the virtual subgroup.
 */
function emulatedOps(c: SubgroupMatrixConfig, sg: number): SgmOps {
  const perLane = c.M * c.N / sg;
  const storeFn = (name: string, target: string) => `
fn ${name}(offset: u32, value: SgmAcc, stride: u32) {
  for (var e = 0u; e < ${perLane}u; e++) {
    let i = sgmLane + e * ${sg}u;
    ${target}[offset + (i / ${c.N}u) * stride + i % ${c.N}u] = value.v[e];
  }
}`;
  return {
    decls: `
struct SgmLeft { offset: u32, stride: u32 }
struct SgmRight { offset: u32, stride: u32 }
struct SgmAcc { v: array<f32, ${perLane}> }
var<private> sgmLane: u32;
fn sgmMma(a: SgmLeft, b: SgmRight, acc: SgmAcc) -> SgmAcc {
  var r = acc;
  for (var e = 0u; e < ${perLane}u; e++) {
    let i = sgmLane + e * ${sg}u;
    let row = i / ${c.N}u;
    let col = i % ${c.N}u;
    var s = 0.0;
    for (var k = 0u; k < ${c.K}u; k++) {
      s += f32(sgmA[a.offset + row * a.stride + k]) * f32(sgmB[b.offset + k * b.stride + col]);
    }
    r.v[e] += s;
  }
  return r;
}${storeFn('sgmStoreC', 'C')}${storeFn('sgmStoreScratch', 'sgmC')}`,
    loadA: (offset, stride) => `SgmLeft(${offset}, ${stride})`,
    loadB: (offset, stride) => `SgmRight(${offset}, ${stride})`,
    mma: (a, b, acc) => `sgmMma(${a}, ${b}, ${acc})`,
    store: (target, offset, value, stride) =>
      `${target === 'C' ? 'sgmStoreC' : 'sgmStoreScratch'}(${offset}, ${value}, ${stride});`,
  };
}

/** Global → register loads of one operand tile (zero outside the matrix), then register → workgroup. */
function stagingCode(which: 'A'|'B', l: SgmLayout, vec4: boolean): {load: (kBase: string) => string, store: (buf: string) => string} {
  const loads = which === 'A' ? l.loadsA : l.loadsB;
  const cols = which === 'A' ? l.BK : l.BN;
  const per = vec4 ? 4 : 1;
  const reg = `sgmReg${which}`;
  const zero = vec4 ? 'vec4<f32>(0.0)' : '0.0';
  // Tile element (r, c) → global (row, col) and the guard that keeps it inside the matrix.
  const coords = (kBase: string) => which === 'A' ?
      {row: `rowBase + r`, col: `${kBase} + c`, rows: 'u.M', cols: 'u.K'} :
      {row: `${kBase} + r`, col: `colBase + c`, rows: 'u.K', cols: 'u.N'};
  const index = `let idx = lindex + i * ${l.threads}u;
      let r = idx / ${cols / per}u;
      let c = (idx % ${cols / per}u) * ${per}u;`;
  const load = (kBase: string) => {
    const {row, col, rows, cols: ncols} = coords(kBase);
    const flat = `(${row}) * ${ncols} + ${col}`;
    return `for (var i = 0u; i < ${loads}u; i++) {
      ${index}
      ${reg}[i] = ${zero};
      if (${row} < ${rows} && ${col} < ${ncols}) { ${reg}[i] = ${which}[${vec4 ? `(${flat}) / 4u` : flat}]; }
    }`;
  };
  const arr = which === 'A' ? 'sgmA' : 'sgmB';
  const stride = which === 'A' ? l.aStride : l.bStride;
  const size = which === 'A' ? l.aSize : l.bSize;
  const store = (buf: string) => {
    const writes = vec4 ?
        ['x', 'y', 'z', 'w'].map((q, j) => `${arr}[o + ${j}u] = SgmT(${reg}[i].${q});`).join(' ') :
        `${arr}[o] = SgmT(${reg}[i]);`;
    return `for (var i = 0u; i < ${loads}u; i++) {
      ${index}
      let o = ${buf} * ${size}u + r * ${stride}u + c;
      ${writes}
    }`;
  };
  return {load, store};
}

/**
 * C[M×N] = A[M×K]·B[K×N], row-major f32 buffers, any sizes. Each workgroup stages BM×BK of A and
 * BK×BN of B in workgroup memory (converted to the config's component type, zero outside the
 * matrices; double-buffered so one barrier per step suffices, the next step's global loads held
 * in registers while this step multiplies); each subgroup accumulates fragRows × fragCols result
 * matrices in f32. Full tiles store straight to C; edge tiles go through workgroup scratch and
 * are copied with bounds checks.
 */
export function sgmMatmulShader(opts: SgmMatmulOptions): ShaderSpec {
  const c = opts.config;
  const t = opts.tiling;
  const sg = opts.subgroupSize;
  const l = sgmLayout(opts);
  const ops = opts.emulate ? emulatedOps(c, sg) : nativeOps(c, opts.majorness ?? 'template');
  const f16 = c.componentType === 'f16';
  const stageA = stagingCode('A', l, !!opts.vec4A);
  const stageB = stagingCode('B', l, !!opts.vec4B);
  const fragSize = c.M * c.N;

  // The multiply of one staged step, unrolled: fragments are separate variables so that no
  // compiler has to index an array of subgroup matrices dynamically.
  const accName = (i: number, j: number) => `acc_${i}_${j}`;
  const compute: string[] = [];
  for (let kk = 0; kk < l.BK / c.K; ++kk) {
    const step: string[] = [];
    for (let i = 0; i < t.fragRows; ++i) {
      step.push(`let a${i} = ${ops.loadA(`aBase + ${(i * c.M * l.aStride + kk * c.K)}u`, `${l.aStride}u`)};`);
    }
    for (let j = 0; j < t.fragCols; ++j) {
      step.push(`let b${j} = ${ops.loadB(`bBase + ${(kk * c.K * l.bStride + j * c.N)}u`, `${l.bStride}u`)};`);
    }
    for (let i = 0; i < t.fragRows; ++i) {
      for (let j = 0; j < t.fragCols; ++j) step.push(`${accName(i, j)} = ${ops.mma(`a${i}`, `b${j}`, accName(i, j))};`);
    }
    compute.push(`{\n      ${step.join('\n      ')}\n    }`);
  }

  const accDecls: string[] = [];
  const storeFull: string[] = [];
  const storeEdge: string[] = [];
  for (let i = 0; i < t.fragRows; ++i) {
    for (let j = 0; j < t.fragCols; ++j) {
      accDecls.push(`var ${accName(i, j)} = SgmAcc();`);
      storeFull.push(ops.store('C', `(rowBase + aRow0 + ${i * c.M}u) * u.N + colBase + bCol0 + ${j * c.N}u`,
          accName(i, j), 'u.N'));
      // Every subgroup parks fragment (i, j) in its scratch slot; then the whole workgroup copies
      // all slots out with bounds checks (no assumption on which invocations form a subgroup).
      storeEdge.push(`${ops.store('sgmC', `sgid * ${fragSize}u`, accName(i, j), `${c.N}u`)}
    workgroupBarrier();
    for (var e = lindex; e < ${l.numSubgroups * fragSize}u; e += ${l.threads}u) {
      let s = e / ${fragSize}u;
      let w = e % ${fragSize}u;
      let gr = rowBase + (s / ${t.sgCols}u) * ${t.fragRows * c.M}u + ${i * c.M}u + w / ${c.N}u;
      let gc = colBase + (s % ${t.sgCols}u) * ${t.fragCols * c.N}u + ${j * c.N}u + w % ${c.N}u;
      if (gr < u.M && gc < u.N) { C[gr * u.N + gc] = sgmC[e]; }
    }
    workgroupBarrier();`);
    }
  }

  const regType = (vec4: boolean) => vec4 ? 'vec4<f32>' : 'f32';
  // The subgroup's index: from the first invocation of the (real) subgroup, so the compiler knows
  // it is subgroup-uniform; the emulation just groups consecutive invocations.
  const sgidExpr = opts.emulate ? `lindex / ${sg}u` : `subgroupBroadcastFirst(lindex / ${sg}u)`;
  const declarations = `
alias SgmT = ${c.componentType};${ops.decls}
var<workgroup> sgmA: array<SgmT, ${2 * l.aSize}>;
var<workgroup> sgmB: array<SgmT, ${2 * l.bSize}>;
var<workgroup> sgmC: array<f32, ${l.numSubgroups * fragSize}>;

// Subgroup-uniformity of the subgroup-matrix calls holds by construction (subgroup index from
// subgroupBroadcastFirst, trip counts from uniforms); the diagnostic is off so that Dawn versions
// without the subgroup_uniformity language feature, which demand workgroup uniformity, accept it.
@diagnostic(off, chromium.subgroup_matrix_uniformity)
fn sgmMatmul(lindex: u32, wid: vec3<u32>) {
  let sgid = ${sgidExpr};${opts.emulate ? `\n  sgmLane = lindex % ${sg}u;` : ''}
  let rowBase = wid.y * ${l.BM}u;
  let colBase = wid.x * ${l.BN}u;
  let aRow0 = (sgid / ${t.sgCols}u) * ${t.fragRows * c.M}u;
  let bCol0 = (sgid % ${t.sgCols}u) * ${t.fragCols * c.N}u;
  ${accDecls.join('\n  ')}
  var sgmRegA: array<${regType(!!opts.vec4A)}, ${l.loadsA}>;
  var sgmRegB: array<${regType(!!opts.vec4B)}, ${l.loadsB}>;
  let steps = (u.K + ${l.BK - 1}u) / ${l.BK}u;
  ${stageA.load('0u')}
  ${stageB.load('0u')}
  ${stageA.store('0u')}
  ${stageB.store('0u')}
  workgroupBarrier();
  for (var kStep = 0u; kStep < steps; kStep++) {
    let cur = kStep & 1u;
    // Next step's tile into registers (zeros past K), while this step multiplies.
    let kNext = (kStep + 1u) * ${l.BK}u;
    ${stageA.load('kNext')}
    ${stageB.load('kNext')}
    let aBase = cur * ${l.aSize}u + aRow0 * ${l.aStride}u;
    let bBase = cur * ${l.bSize}u + bCol0;
    ${compute.join('\n    ')}
    // The other buffer was last read in the previous step, before the barrier that ended it.
    ${stageA.store('(cur ^ 1u)')}
    ${stageB.store('(cur ^ 1u)')}
    workgroupBarrier();
  }
  // Direct stores need the whole tile inside C and 16-byte aligned rows.
  let full = rowBase + ${l.BM}u <= u.M && colBase + ${l.BN}u <= u.N && (u.N & 3u) == 0u;
  if (full) {
    ${storeFull.join('\n    ')}
  } else {
    ${storeEdge.join('\n    ')}
  }
}`;
  return {
    outputs: [{name: 'C', type: 'f32'}],
    inputs: [{name: 'A', type: 'f32', vec4: opts.vec4A}, {name: 'B', type: 'f32', vec4: opts.vec4B}],
    workgroupSize: [l.threads, 1, 1],
    declarations,
    body: '  sgmMatmul(lindex, wid);',
    f16,
    extensions: opts.emulate ? [] : ['subgroups', 'chromium_experimental_subgroup_matrix'],
  };
}

/** A dispatch of the matmul for C[m×n] = A[m×k]·B[k×n]; vec4 loads chosen where sizes allow. */
export function sgmMatmulProgram(base: SgmMatmulOptions, m: number, n: number, k: number): Program {
  if (!(m >= 1 && n >= 1 && k >= 1)) throw new Error(`subgroup matrix matmul: bad sizes ${m}x${n}x${k}`);
  const opts: SgmMatmulOptions = {...base, vec4A: k % 4 === 0, vec4B: n % 4 === 0};
  const l = sgmLayout(opts);
  const uniforms: Uniform[] = [
    {name: 'M', type: 'u32', value: m}, {name: 'N', type: 'u32', value: n}, {name: 'K', type: 'u32', value: k},
  ];
  const c = opts.config;
  const t = opts.tiling;
  return {
    name: 'SubgroupMatrixMatMul',
    key: `sgm:${c.componentType}:${c.M}x${c.N}x${c.K}:${t.sgRows}x${t.sgCols}:${t.fragRows}x${t.fragCols}:` +
        `${t.kTile}:${opts.subgroupSize}:${opts.vec4A ? 4 : 1}${opts.vec4B ? 4 : 1}:` +
        `${opts.emulate ? 'emu' : opts.majorness ?? 'template'}`,
    shader: () => sgmMatmulShader(opts),
    uniforms,
    dispatch: [Math.ceil(n / l.BN), Math.ceil(m / l.BM), 1],
  };
}
