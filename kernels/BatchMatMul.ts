// BatchMatMul and _FusedMatMul: a tiled GEMM with workgroup memory and a register block per
// invocation, batch dimensions broadcast numpy-style, and the fused epilogue (bias, activation)
// applied before the store.
//
// A tile of tileM × tileN outputs per workgroup; per step of TK along K the workgroup stages a
// tileM × TK block of A and a TK × tileN block of B in workgroup memory (as vec4s), and each
// invocation accumulates its TM × TN block (rows ty·TM + r, columns tx·TN + c) in vec4 registers.
// The finished tile goes back through workgroup memory, so the epilogue appears once in the shader
// and neighbouring invocations store neighbouring addresses. Transposes, strides and sizes are
// uniforms (one pipeline per tile shape, dtype and epilogue); edges are guarded, so any M, N, K
// (K = 0 included) works.
import {_FusedMatMul, _FusedMatMulAttrs, backend_util, BatchMatMul, BatchMatMulAttrs, DataType, KernelConfig, TensorInfo, upcastType, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {emitExpr, Expr, exprKey} from '../src/codegen/elementwise.js';
import {Program} from '../src/codegen/program.js';
import {arrayUniforms, dispatch1D, ShaderSpec, stridesOf, Uniform, wgslType, WgslScalar} from '../src/codegen/shader.js';
import {input, inputAs, mpsgpuBackend, op, runElementwise} from '../src/kernel_util.js';
import {binaryExpr} from './binary.js';
import {unaryExpr} from './unary.js';

export type Activation = 'linear'|'relu'|'relu6'|'elu'|'leakyrelu'|'prelu'|'sigmoid';

const UNARY_ACTIVATION: Partial<Record<Activation, string>> = {
  relu: 'Relu', relu6: 'Relu6', elu: 'Elu', leakyrelu: 'LeakyRelu', sigmoid: 'Sigmoid',
};

/** The bias and activation applied to each output, in that order (tfjs-backend-cpu's order). */
export interface MatMulEpilogue {
  bias?: TensorInfo|null;
  activation?: Activation;
  preluActivationWeights?: TensorInfo|null;
  leakyreluAlpha?: number;
}

interface Tile {
  wx: number;
  wy: number;
  tm: number;
  tn: number;
  tk: number;
}

/**
 * Tile shape for an M × N output. Few shapes, as each is a pipeline to compile (seconds on lavapipe):
 * 64 × 64 tiles of 8 × 8 invocations owning 8 × 8 outputs each (twice the throughput of 16 × 16
 * invocations owning 4 × 4 on lavapipe: fewer workgroup-memory reads per multiply-add), and strips
 * for M ≤ 4 (matrix × vector) and N ≤ 4.
 */
function tileFor(m: number, n: number): Tile {
  if (m <= 4) return {wx: 32, wy: 1, tm: 4, tn: 4, tk: 16};
  if (n <= 4) return {wx: 1, wy: 32, tm: 4, tn: 4, tk: 16};
  return {wx: 8, wy: 8, tm: 8, tn: 8, tk: 16};
}

/** A batch dimension of the output and the strides (elements; 0: broadcast) of each operand along it. */
interface BatchDim {
  size: number;
  strides: number[];
}

/** Drop size-1 dimensions and merge neighbours every operand walks contiguously. */
function mergeBatchDims(dims: BatchDim[]): BatchDim[] {
  const out: BatchDim[] = [];
  for (const d of dims) {
    if (d.size === 1) continue;
    const last = out[out.length - 1];
    if (last && last.strides.every((s, i) => s === d.strides[i] * d.size)) {
      last.size *= d.size;
      last.strides = d.strides.slice();
    } else {
      out.push({size: d.size, strides: d.strides.slice()});
    }
  }
  return out;
}

/** Strides of `inShape` broadcast against `outShape` (0 where broadcast), per output dimension. */
function broadcastStridesOf(inShape: number[], outShape: number[]): number[] {
  const strides = stridesOf(inShape);
  const offset = outShape.length - inShape.length;
  return outShape.map((_, d) => {
    const id = d - offset;
    return id < 0 || inShape[id] === 1 ? 0 : strides[id];
  });
}

interface GemmSpec {
  m: number;
  n: number;
  k: number;
  batch: number;
  transposeA: boolean;
  transposeB: boolean;
  aType: WgslScalar;
  bType: WgslScalar;
  accType: WgslScalar;
  /** The epilogue over input(0) = the accumulator, input(1) = bias, input(2) = prelu weights. */
  epilogue: Expr;
  extraInputs: Array<{name: string; type: WgslScalar}>;
  uniforms: Uniform[];
  /** Merged batch dimensions: strides for a, b, then each extra input. */
  batchDims: BatchDim[];
}

function convert(v: string, from: WgslScalar, to: WgslScalar): string {
  return from === to ? v : `${to}(${v})`;
}

function gemmProgram(name: string, s: GemmSpec): Program {
  const t = tileFor(s.m, s.n);
  const tileM = t.wy * t.tm, tileN = t.wx * t.tn;
  const threads = t.wx * t.wy;
  const tilesM = Math.ceil(s.m / tileM), tilesN = Math.ceil(s.n / tileN);
  const groups = tilesM * tilesN * s.batch;
  const nb = s.batchDims.length;
  const operands = ['a', 'b', ...s.extraInputs.map(e => e.name)];
  const uniforms: Uniform[] = [
    {name: 'M', type: 'u32', value: s.m}, {name: 'N', type: 'u32', value: s.n}, {name: 'K', type: 'u32', value: s.k},
    {name: 'tilesM', type: 'u32', value: tilesM}, {name: 'tilesN', type: 'u32', value: tilesN},
    {name: 'groups', type: 'u32', value: groups},
    {name: 'aStrideM', type: 'u32', value: s.transposeA ? 1 : s.k},
    {name: 'aStrideK', type: 'u32', value: s.transposeA ? s.m : 1},
    {name: 'bStrideK', type: 'u32', value: s.transposeB ? 1 : s.n},
    {name: 'bStrideN', type: 'u32', value: s.transposeB ? s.k : 1},
    {name: 'transposeA', type: 'u32', value: s.transposeA ? 1 : 0},
    {name: 'transposeB', type: 'u32', value: s.transposeB ? 1 : 0},
    {name: 'itersA', type: 'u32', value: Math.ceil(tileM * t.tk / 4 / threads)},
    {name: 'itersB', type: 'u32', value: Math.ceil(tileN * t.tk / 4 / threads)},
    {name: 'tk', type: 'u32', value: t.tk},
    {name: 'itersOut', type: 'u32', value: Math.ceil(tileM * tileN / threads)},
    ...arrayUniforms('batchDiv', stridesOf(s.batchDims.map(d => d.size)).slice(0, Math.max(nb - 1, 0))),
    ...operands.flatMap((o, i) => arrayUniforms(`${o}Batch`, s.batchDims.map(d => d.strides[i]))),
    ...s.uniforms,
  ];
  const acc = s.accType;
  const zero = acc === 'f32' ? '0.0' : '0';
  const key = `gemm|${t.wx},${t.wy},${t.tm},${t.tn},${t.tk}|` +
    `${s.aType},${s.bType},${acc}|${nb}|${s.extraInputs.map(e => e.name + e.type).join(',')}|` +
    `${s.uniforms.map(u => u.name + u.type).join(',')}|${exprKey(s.epilogue)}`;

  const shader = (): ShaderSpec => {
    const helpers = new Map<string, string>();
    const stmts: string[] = [];
    const load = (i: number) => {
      if (i === 0) return 'v';
      const e = s.extraInputs[i - 1];
      return `${e.name}[${e.name}Off + m * u.${e.name}StrideM + n * u.${e.name}StrideN]`;
    };
    const result = emitExpr(s.epilogue, load, helpers, stmts);
    const outType = s.epilogue.type;
    const extraParams = s.extraInputs.map(e => `, ${e.name}Off: u32`).join('');
    const lines: string[] = [];
    // Batch offsets of every operand.
    lines.push('var brem = batch;');
    for (const o of operands) lines.push(`var ${o}Off = 0u;`);
    for (let d = 0; d < nb; ++d) {
      if (d === nb - 1) {
        lines.push('{ let c = brem;');
      } else {
        lines.push(`{ let c = brem / u.batchDiv${d}; brem = brem - c * u.batchDiv${d};`);
      }
      for (const o of operands) lines.push(`  ${o}Off = ${o}Off + c * u.${o}Batch${d};`);
      lines.push('}');
    }
    const v4 = `vec4<${acc}>`;
    // Tile loads, a vec4 of workgroup memory at a time (4 consecutive rows of A, 4 consecutive
    // columns of B). Slots are numbered so that neighbouring invocations read neighbouring
    // addresses: along k where the operand is contiguous in k, else along m (n). Transposes are
    // uniforms (one pipeline serves all four), divisors are constants (shifts), and loop bounds
    // are uniforms so that the compiler does not unroll: lavapipe's compile time grows fast with
    // code size.
    const tileLoad = (which: 'A'|'B') => {
      const isA = which === 'A';
      const rows4 = (isA ? tileM : tileN) / 4;  // vec4 slots along m (n) per k
      const [kContig, outer, bound, read] = isA
        ? ['u.transposeA == 0u', 'm0', 'u.M', (r: string, k: string) => `a[aOff + ${r} * u.aStrideM + ${k} * u.aStrideK]`]
        : ['u.transposeB == 1u', 'n0', 'u.N', (r: string, k: string) => `b[bOff + ${k} * u.bStrideK + ${r} * u.bStrideN]`];
      const type = isA ? s.aType : s.bType;
      const comps = [0, 1, 2, 3].map(c => `select(${zero}, ${convert(read(`(r0 + ${c}u)`, 'gk'), type, acc)}, r0 + ${c}u < ${bound} && gk < u.K)`);
      return `for (var it = 0u; it < u.iters${which}; it = it + 1u) {
      let slot = lindex + it * ${threads}u;
      if (slot < ${rows4 * t.tk}u) {
        let kk = select(slot / ${rows4}u, slot % ${t.tk}u, ${kContig});
        let r4 = select(slot % ${rows4}u, slot / ${t.tk}u, ${kContig});
        let r0 = ${outer} + r4 * 4u;
        let gk = k0 + kk;
        sh[${isA ? 0 : tileM * t.tk / 4}u + kk * ${rows4}u + r4] = ${v4}(${comps.join(', ')});
      }
    }`;
    };
    // Invocation (tx, ty) owns rows ty·TM + r and columns tx·TN + c of the tile.
    const accDecl: string[] = [], inner: string[] = [], store: string[] = [];
    const extraArgs = s.extraInputs.map(e => `, ${e.name}Off`).join('');
    for (let p = 0; p < t.tm / 4; ++p) inner.push(`let a${p} = sh[kk * ${tileM / 4}u + ty * ${t.tm / 4}u + ${p}u];`);
    for (let q = 0; q < t.tn / 4; ++q) inner.push(`let b${q} = sh[${tileM * t.tk / 4}u + kk * ${tileN / 4}u + tx * ${t.tn / 4}u + ${q}u];`);
    for (let r = 0; r < t.tm; ++r) {
      for (let q = 0; q < t.tn / 4; ++q) {
        const c = `c${r}_${q}`;
        accDecl.push(`var ${c} = ${v4}();`);
        const a = `${v4}(a${r >> 2}[${r & 3}])`;
        inner.push(acc === 'f32' ? `${c} = fma(${a}, b${q}, ${c});` : `${c} = ${c} + ${a} * b${q};`);
        store.push(`sh[(ty * ${t.tm}u + ${r}u) * ${tileN / 4}u + tx * ${t.tn / 4}u + ${q}u] = ${c};`);
      }
    }
    return {
      inputs: [{name: 'a', type: s.aType}, {name: 'b', type: s.bType}, ...s.extraInputs],
      outputs: [{name: 'out', type: outType}],
      workgroupSize: [t.wx, t.wy, 1],
      declarations: [
        ...helpers.values(),
        `var<workgroup> sh: array<${v4}, ${Math.max((tileM + tileN) * t.tk, tileM * tileN) / 4}>;`,
        `fn epilogue(v: ${acc}, m: u32, n: u32${extraParams}) -> ${outType} {
  ${stmts.join('\n  ')}
  return ${result};
}`,
      ].join('\n'),
      body: `
  let g = wid.x + wid.y * nwg.x;
  if (g >= u.groups) { return; }
  let tnIdx = g % u.tilesN;
  let rest = g / u.tilesN;
  let tmIdx = rest % u.tilesM;
  let batch = rest / u.tilesM;
  ${lines.join('\n  ')}
  let outOff = batch * u.M * u.N;
  let tx = lid.x;
  let ty = lid.y;
  let m0 = tmIdx * ${tileM}u;
  let n0 = tnIdx * ${tileN}u;
  ${accDecl.join('\n  ')}
  let numTiles = (u.K + ${t.tk - 1}u) / ${t.tk}u;
  for (var tile = 0u; tile < numTiles; tile = tile + 1u) {
    let k0 = tile * ${t.tk}u;
    ${tileLoad('A')}
    ${tileLoad('B')}
    workgroupBarrier();
    for (var kk = 0u; kk < u.tk; kk = kk + 1u) {
      ${inner.join('\n      ')}
    }
    workgroupBarrier();
  }
  // The output tile goes through workgroup memory: one copy of the epilogue in the shader, and
  // neighbouring invocations store neighbouring addresses.
  ${store.join('\n  ')}
  workgroupBarrier();
  for (var it = 0u; it < u.itersOut; it = it + 1u) {
    let idx = lindex + it * ${threads}u;
    let m = m0 + idx / ${tileN}u;
    let n = n0 + idx % ${tileN}u;
    if (idx < ${tileM * tileN}u && m < u.M && n < u.N) {
      out[outOff + m * u.N + n] = epilogue(sh[idx / 4u][idx % 4u], m, n${extraArgs});
    }
  }`,
    };
  };
  return {name, key, shader, uniforms, dispatch: dispatch1D(groups, 1)};
}

/** The activation applied to `x` (type of the accumulator), or x for 'linear'. */
function activationExpr(activation: Activation, x: Expr, alpha: Expr|null): Expr {
  if (activation === 'linear') return x;
  if (activation === 'prelu') {
    const xf = x.type === 'f32' ? x : op('f32($0)', 'f32', [x]);
    return binaryExpr('Prelu', xf, alpha!, false);
  }
  const name = UNARY_ACTIVATION[activation];
  return unaryExpr(name!, x, x.type === 'i32');
}

function checkOperand(kernel: string, name: string, t: TensorInfo) {
  if (t.dtype === 'string' || t.dtype === 'complex64') {
    throw new Error(`${kernel}: mpsgpu does not take ${t.dtype} input '${name}' (shape [${t.shape}])`);
  }
}

/**
 * Record `a` × `b` (each rank ≥ 2, batch dimensions broadcast), optionally with a bias added and an
 * activation applied before the store (the bias and prelu weights broadcast against the output).
 */
export function batchMatMul(backend: MpsgpuBackend, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean,
                            epilogue: MatMulEpilogue = {}, kernel = BatchMatMul): TensorInfo {
  checkOperand(kernel, 'a', a);
  checkOperand(kernel, 'b', b);
  const activation = epilogue.activation ?? 'linear';
  if (activation !== 'linear' && activation !== 'prelu' && !UNARY_ACTIVATION[activation]) {
    throw new Error(`${kernel}: activation '${activation}' is not one of linear, relu, relu6, elu, leakyrelu, prelu, sigmoid`);
  }
  if (a.shape.length < 2 || b.shape.length < 2) {
    throw new Error(`${kernel}: inputs 'a' and 'b' must have rank ≥ 2, got shapes [${a.shape}] (dtype ${a.dtype}) ` +
      `and [${b.shape}] (dtype ${b.dtype})`);
  }
  const bias = epilogue.bias ?? null;
  const prelu = activation === 'prelu' ? epilogue.preluActivationWeights ?? null : null;
  if (activation === 'prelu' && prelu === null) {
    throw new Error(`${kernel}: activation 'prelu' needs the input 'preluActivationWeights'`);
  }
  if (bias) checkOperand(kernel, 'bias', bias);
  if (prelu) checkOperand(kernel, 'preluActivationWeights', prelu);
  const ra = a.shape.length, rb = b.shape.length;
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  util.assert(k === kb, () => `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ` +
    `${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
  const aBatch = a.shape.slice(0, -2), bBatch = b.shape.slice(0, -2);
  const outBatch = backend_util.assertAndGetBroadcastShape(aBatch, bBatch);
  const mmShape = [...outBatch, m, n];
  // Epilogue inputs that broadcast into the output fuse; others (they would grow it) follow as an
  // elementwise node, which broadcasts as tfjs's Add and Prelu do.
  const fits = (t: TensorInfo|null) => t === null ||
    util.arraysEqual(backend_util.assertAndGetBroadcastShape(mmShape, t.shape), mmShape);
  if (!fits(bias) || !fits(prelu)) {
    const product = batchMatMul(backend, a, b, transposeA, transposeB, {}, kernel);
    const out = applyEpilogueElementwise(backend, kernel, product, bias, activation, prelu, epilogue.leakyreluAlpha);
    backend.disposeIntermediateTensorInfo(product);
    return out;
  }

  const computeDtype = upcastType(a.dtype, b.dtype);
  const acc: WgslScalar = computeDtype === 'float32' ? 'f32' : 'i32';
  const extraInputs: Array<{name: string; type: WgslScalar}> = [];
  const extraTensors: TensorInfo[] = [];
  const uniforms: Uniform[] = [];
  const batchStrides: number[][] = outBatch.map(() => []);
  const addBatch = (strides: number[]) => strides.forEach((s, d) => batchStrides[d].push(s));
  addBatch(broadcastStridesOf(aBatch, outBatch).map(s => s * m * k));
  addBatch(broadcastStridesOf(bBatch, outBatch).map(s => s * k * n));
  const addExtra = (name: string, t: TensorInfo) => {
    const strides = broadcastStridesOf(t.shape, mmShape);
    addBatch(strides.slice(0, outBatch.length));
    uniforms.push({name: `${name}StrideM`, type: 'u32', value: strides[outBatch.length]},
                  {name: `${name}StrideN`, type: 'u32', value: strides[outBatch.length + 1]});
    extraInputs.push({name, type: wgslType(t.dtype)});
    extraTensors.push(t);
    return input(extraInputs.length, wgslType(t.dtype));
  };
  let expr: Expr = input(0, acc);
  if (bias) {
    const biasIn = addExtra('bias', bias);
    const bv = biasIn.type === acc ? biasIn : op(`${acc}($0)`, acc, [biasIn]);
    expr = binaryExpr('Add', expr, bv, acc === 'i32');
  }
  let alpha: Expr|null = null;
  if (prelu) {
    const p = addExtra('prelu', prelu);
    alpha = p.type === 'f32' ? p : op('f32($0)', 'f32', [p]);
  }
  expr = activationExpr(activation, expr, alpha);
  if (activation === 'leakyrelu') uniforms.push({name: 'attr0', type: 'f32', value: epilogue.leakyreluAlpha ?? 0.2});
  let outDtype: DataType = expr.type === 'f32' ? 'float32' : 'int32';
  // bool × bool: tfjs-backend-cpu keeps the dtype (and the sums, as its Uint8Array reads them).
  if (computeDtype === 'bool' && !bias && activation === 'linear') outDtype = 'bool';
  const batch = util.sizeFromShape(outBatch);
  const spec: GemmSpec = {
    m, n, k, batch, transposeA, transposeB, aType: wgslType(a.dtype), bType: wgslType(b.dtype), accType: acc,
    epilogue: expr, extraInputs, uniforms,
    batchDims: mergeBatchDims(outBatch.map((size, d) => ({size, strides: batchStrides[d]}))),
  };
  if (util.sizeFromShape(mmShape) === 0) return backend.makeTensorInfo(mmShape, outDtype);
  return backend.runProgram(gemmProgram(kernel, spec), [a, b, ...extraTensors], mmShape, outDtype);
}

/** The epilogue as elementwise nodes (bias or prelu weights that broadcast beyond the product). */
function applyEpilogueElementwise(backend: MpsgpuBackend, kernel: string, x: TensorInfo, bias: TensorInfo|null,
                                  activation: Activation, prelu: TensorInfo|null, leakyreluAlpha?: number): TensorInfo {
  const t: WgslScalar = x.dtype === 'float32' ? 'f32' : 'i32';
  const inputs = [x];
  let expr: Expr = input(0, t);
  if (bias) {
    inputs.push(bias);
    expr = binaryExpr('Add', expr, inputAs(1, bias, t), t === 'i32');
  }
  let alpha: Expr|null = null;
  if (prelu) {
    inputs.push(prelu);
    alpha = inputAs(inputs.length - 1, prelu, 'f32');
  }
  expr = activationExpr(activation, expr, alpha);
  const uniforms: Uniform[] = activation === 'leakyrelu' ? [{name: 'attr0', type: 'f32', value: leakyreluAlpha ?? 0.2}] : [];
  return runElementwise(backend, kernel, expr, inputs, expr.type === 'f32' ? 'float32' : 'int32', undefined, uniforms);
}

export const batchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const {a, b} = inputs as {a: TensorInfo; b: TensorInfo};
    const {transposeA, transposeB} = attrs as unknown as BatchMatMulAttrs;
    return batchMatMul(mpsgpuBackend(backend), a, b, !!transposeA, !!transposeB);
  },
};

export const fusedMatMulConfig: KernelConfig = {
  kernelName: _FusedMatMul,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const {a, b, bias, preluActivationWeights} = inputs as {a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo};
    const {transposeA, transposeB, activation, leakyreluAlpha} = attrs as unknown as _FusedMatMulAttrs;
    return batchMatMul(mpsgpuBackend(backend), a, b, !!transposeA, !!transposeB,
                       {bias, activation: activation as Activation, preluActivationWeights, leakyreluAlpha}, _FusedMatMul);
  },
};
