// BatchMatMul and _FusedMatMul on the GEMM engine (src/codegen/gemm.ts): batch dimensions
// broadcast numpy-style (merged into as few as possible), transposes as load directions, vector
// loads where rows are multiples of 4, and the fused epilogue (bias, activation) applied before the
// store. Edges are guarded, so any M, N, K (K = 0 included) works.
import {_FusedMatMul, _FusedMatMulAttrs, backend_util, BatchMatMul, BatchMatMulAttrs, DataType, KernelConfig, TensorInfo, upcastType, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {Expr} from '../src/codegen/elementwise.js';
import {denseOperand, gemmRecord, GemmRecord, GemmSpec, gemmTuned, recordGemm} from '../src/codegen/gemm.js';
import {Program} from '../src/codegen/program.js';
import {SGM_TILINGS, sgmMatmulProgram, SubgroupMatrixSupport, subgroupMatrixSupport} from '../src/codegen/subgroup_matrix.js';
import {flags} from '../src/flags.js';
import {arrayUniforms, cacheSet, deviceRecords, numberKey, stridesOf, tensorKey, Uniform, wgslType, WgslScalar} from
    '../src/codegen/shader.js';
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

/** The batch prologue: each operand's element offset for output batch `batch`. */
function batchPrologue(operands: string[], nb: number): string {
  const lines: string[] = ['var brem = batch;'];
  for (const o of operands) lines.push(`var ${o}Off = 0u;`);
  for (let d = 0; d < nb; ++d) {
    lines.push(d === nb - 1 ? '{ let c = brem;' : `{ let c = brem / u.batchDiv${d}; brem = brem - c * u.batchDiv${d};`);
    for (const o of operands) lines.push(`  ${o}Off = ${o}Off + c * u.${o}Batch${d};`);
    lines.push('}');
  }
  lines.push('let outOff = batch * u.M * u.N;');
  return lines.join('\n  ');
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

/** A product as recorded: a pure function of matMulKey's inputs (the programs, the output's shape and dtype). */
interface MatMulRecord {
  gemm: GemmRecord;
  shape: number[];
  dtype: 'float32'|'int32'|'bool';
}

/** MatMulRecords by device, then by matMulKey (bounded: cleared past 1024 products). */
const matMulRecords = new WeakMap<object, Map<string, MatMulRecord>>();

/** Everything batchMatMul's GEMM programs depend on, as text (tensors by dtype and shape). */
function matMulKey(kernel: string, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean, activation: Activation,
                   bias: TensorInfo|null, prelu: TensorInfo|null, leakyreluAlpha: number|undefined): string {
  let key = kernel + (transposeA ? '|T' : '|N') + (transposeB ? 'T|' : 'N|') + activation + '|' + tensorKey(a) + '|' + tensorKey(b);
  if (bias) key += '|b' + tensorKey(bias);
  if (prelu) key += '|p' + tensorKey(prelu);
  if (activation === 'leakyrelu') key += '|' + numberKey(leakyreluAlpha ?? 0.2);
  return key;
}

/**
 * Record `a` × `b` (each rank ≥ 2, batch dimensions broadcast), optionally with a bias added and an
 * activation applied before the store (the bias and prelu weights broadcast against the output).
 * The programs of a product seen before (same kernel, shapes, dtypes and epilogue) are reused.
 */
export function batchMatMul(backend: MpsgpuBackend, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean,
                            epilogue: MatMulEpilogue = {}, kernel = BatchMatMul): TensorInfo {
  const activation = epilogue.activation ?? 'linear';
  const bias = epilogue.bias ?? null;
  const prelu = activation === 'prelu' ? epilogue.preluActivationWeights ?? null : null;
  // Tensor-core programs and tuned tiles are chosen per call; everything else is a function of the key.
  const records = !flags.matmulTensorCores && !gemmTuned() ? deviceRecords(matMulRecords, backend.gpu) : null;
  const key = records ? matMulKey(kernel, a, b, transposeA, transposeB, activation, bias, prelu, epilogue.leakyreluAlpha) : '';
  const known = records?.get(key);
  if (known !== undefined) {
    // The epilogue's tensors in the order the programs bind them (addExtra below).
    const extras = [bias, prelu].filter((t): t is TensorInfo => t !== null);
    return recordGemm(backend, known.gemm, [a, b], extras, known.shape.slice(), known.dtype);
  }
  checkOperand(kernel, 'a', a);
  checkOperand(kernel, 'b', b);
  if (activation !== 'linear' && activation !== 'prelu' && !UNARY_ACTIVATION[activation]) {
    throw new Error(`${kernel}: activation '${activation}' is not one of linear, relu, relu6, elu, leakyrelu, prelu, sigmoid`);
  }
  if (a.shape.length < 2 || b.shape.length < 2) {
    throw new Error(`${kernel}: inputs 'a' and 'b' must have rank ≥ 2, got shapes [${a.shape}] (dtype ${a.dtype}) ` +
      `and [${b.shape}] (dtype ${b.dtype})`);
  }
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

  const tensorCores = tensorCoreMatMul(backend, a, b, transposeA, transposeB, util.sizeFromShape(outBatch), m, n, k);
  if (tensorCores) {
    const product = backend.runProgram(tensorCores, [a, b], mmShape, 'float32');
    if (!bias && activation === 'linear') return product;
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
  if (util.sizeFromShape(mmShape) === 0) return backend.makeTensorInfo(mmShape, outDtype);
  const batchDims = mergeBatchDims(outBatch.map((size, d) => ({size, strides: batchStrides[d]})));
  const nb = batchDims.length;
  const operands = ['a', 'b', ...extraInputs.map(e => e.name)];
  uniforms.push(
    ...arrayUniforms('batchDiv', stridesOf(batchDims.map(d => d.size)).slice(0, Math.max(nb - 1, 0))),
    ...operands.flatMap((o, i) => arrayUniforms(`${o}Batch`, batchDims.map(d => d.strides[i]))));
  const aType = wgslType(a.dtype), bType = wgslType(b.dtype);
  // Vector loads where the contiguous extent (and so every row and batch offset) is a multiple of 4.
  const spec: GemmSpec = {
    name: kernel, m, n, k, batch, acc,
    a: denseOperand({name: 'a', type: aType, acc, contiguous: transposeA ? 'outer' : 'k', vec4: (transposeA ? m : k) % 4 === 0,
                     offset: 'aOff', ld: transposeA ? 'u.M' : 'u.K', rows: 'u.M'}),
    b: denseOperand({name: 'b', type: bType, acc, contiguous: transposeB ? 'k' : 'outer', vec4: (transposeB ? k : n) % 4 === 0,
                     offset: 'bOff', ld: transposeB ? 'u.K' : 'u.N', rows: 'u.N'}),
    out: {
      type: wgslType(outDtype), vec4: n % 4 === 0, index: (mm, nn) => `outOff + ${mm} * u.N + ${nn}`,
      epilogue: expr, extraInputs,
      loadExtra: (i, mm, nn) => {
        const e = extraInputs[i - 1].name;
        return `${e}[${e}Off + ${mm} * u.${e}StrideM + ${nn} * u.${e}StrideN]`;
      },
      params: extraInputs.map(e => `${e.name}Off`),
      key: 'mm',
    },
    prologue: batchPrologue(operands, nb), prologueKey: `mm${nb}|${operands.join(',')}`,
    uniforms,
  };
  const rec: MatMulRecord = {gemm: gemmRecord(backend.gpu, spec, extraTensors.length), shape: mmShape, dtype: outDtype as 'float32'|'int32'|'bool'};
  if (records) cacheSet(records, key, rec);
  return recordGemm(backend, rec.gemm, [a, b], extraTensors, mmShape.slice(), rec.dtype);
}

const tensorCoreSupport = new WeakMap<object, SubgroupMatrixSupport>();

/**
 * The tensor-core program for a float32 product (MPSGPU_MATMUL_TENSOR_CORES, no transposes, one
 * batch) where the device offers f16 → f32 subgroup matrices; null otherwise.
 */
function tensorCoreMatMul(backend: MpsgpuBackend, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean,
                          batch: number, m: number, n: number, k: number): Program|null {
  // Products smaller than one 16 × 16 fragment stay on the f32 engine (nothing to gain, and the
  // fragment store needs a 1 KiB output binding).
  if (!flags.matmulTensorCores || a.dtype !== 'float32' || b.dtype !== 'float32' || transposeA || transposeB ||
      batch !== 1 || m < 16 || n < 16 || k < 16) {
    return null;
  }
  const gpu = backend.gpu;
  let support = tensorCoreSupport.get(gpu.device);
  if (!support) {
    support = subgroupMatrixSupport({features: gpu.device.features, info: gpu.adapter.info} as unknown as {features: GPUSupportedFeatures});
    tensorCoreSupport.set(gpu.device, support);
  }
  if (support.usable.length === 0) return null;
  return sgmMatmulProgram({config: support.usable[0], tiling: SGM_TILINGS[0], subgroupSize: support.subgroupMaxSize}, m, n, k);
}

/** The epilogue as elementwise nodes (bias or prelu weights that broadcast beyond the product). */
export function applyEpilogueElementwise(backend: MpsgpuBackend, kernel: string, x: TensorInfo, bias: TensorInfo|null,
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
