// What the convolution and pooling families share: tfjs-style checks, the (batch, row, col, channel)
// layout of a 4-D tensor in either data format, uniform and program helpers, and the fused
// bias/activation epilogue. The programs live with their families: conv_gemm.ts (dense, as implicit
// GEMMs), depthwise_programs.ts, pool_programs.ts, conv3d.ts.
import {backend_util, TensorInfo} from '@tensorflow/tfjs-core';

import {broadcastStrides, emitExpr, Expr, input, op} from '../src/codegen/elementwise.js';
import {Program} from '../src/codegen/program.js';
import {cacheSet, dispatch1D, numberKey, shapeKey, ShaderSpec, tensorKey, Uniform} from '../src/codegen/shader.js';

import {binaryExpr} from './binary.js';
import {unaryExpr} from './unary.js';

export type Conv2DInfo = backend_util.Conv2DInfo;
export type Shape4 = [number, number, number, number];

export const WORKGROUP = 64;

// ---- checks -------------------------------------------------------------------------------------

function describeTensor(t: TensorInfo): string {
  return `shape [${t.shape}] (dtype ${t.dtype})`;
}

export function assertRank4(kernel: string, name: string, t: TensorInfo, layout = 'NHWC'): void {
  if (t.shape.length !== 4) {
    throw new Error(`${kernel}: input '${name}' must be rank 4 (${layout}), got ${describeTensor(t)}`);
  }
}

export function assertFloat(kernel: string, name: string, t: TensorInfo): void {
  if (t.dtype !== 'float32') {
    throw new Error(`${kernel}: input '${name}' must be float32, got ${describeTensor(t)}`);
  }
}

/** Filter layouts, as assertRank4 names them. */
export const FILTER_LAYOUT = 'filterHeight, filterWidth, inChannels, outChannels';
export const DEPTHWISE_FILTER_LAYOUT = 'filterHeight, filterWidth, inChannels, channelMultiplier';

/** A convolution's tensor operands: [name, tensor, layout (default NHWC)]. */
type Operand = [string, TensorInfo, string?];

/** Each operand rank 4 in its layout, then each float32: every rank is checked before any dtype. */
export function assertFloat4D(kernel: string, ...operands: Operand[]): void {
  for (const [name, t, layout] of operands) assertRank4(kernel, name, t, layout);
  for (const [name, t] of operands) assertFloat(kernel, name, t);
}

export function assertShape4(kernel: string, name: string, shape: unknown): asserts shape is Shape4 {
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.every(d => Number.isInteger(d) && d >= 0)) {
    throw new Error(`${kernel}: attribute '${name}' must be a 4-D shape, got ${JSON.stringify(shape)}`);
  }
}

/** Strides and dilations the shaders divide and step by: positive integers. */
export function assertPositive(kernel: string, name: string, v: number|number[]|undefined|null): void {
  const values = v == null ? [] : Array.isArray(v) ? v : [v];
  if (!values.every(x => Number.isInteger(x) && x > 0)) {
    throw new Error(`${kernel}: attribute '${name}' must be positive integers, got ${JSON.stringify(v)}`);
  }
}

/** The output shape computed by backend_util must be made of non-negative integers. */
export function assertOutShape(kernel: string, info: Conv2DInfo, what = 'output'): void {
  if (!info.outShape.every(d => Number.isInteger(d) && d >= 0)) {
    throw new Error(`${kernel}: the ${what} shape [${info.outShape}] computed from input shape [${info.inShape}], ` +
      `filter ${info.filterHeight}x${info.filterWidth}, strides [${info.strideHeight},${info.strideWidth}], ` +
      `dilations [${info.dilationHeight},${info.dilationWidth}] and padding ` +
      `(top ${info.padInfo.top}, left ${info.padInfo.left}, bottom ${info.padInfo.bottom}, right ${info.padInfo.right}) ` +
      `is not valid`);
  }
}

/** dy must cover the output window the kernel reads (the CPU backend reads dy with dy's own strides). */
export function assertDyCovers(kernel: string, dy: TensorInfo, info: Conv2DInfo, channels: number): void {
  const last = info.dataFormat === 'channelsLast';
  const [h, w, c] = last ? [dy.shape[1], dy.shape[2], dy.shape[3]] : [dy.shape[2], dy.shape[3], dy.shape[1]];
  if (dy.shape[0] !== info.batchSize || h < info.outHeight || w < info.outWidth || c !== channels) {
    const want = last ? [info.batchSize, info.outHeight, info.outWidth, channels] : [info.batchSize, channels, info.outHeight, info.outWidth];
    throw new Error(`${kernel}: input 'dy' has ${describeTensor(dy)}; expected shape [${want}] from the convolution's geometry`);
  }
}

// ---- record caches ------------------------------------------------------------------------------
// A training step records the same convolutions on the same shapes every step. The kernels keep
// what is a pure function of their inputs' shapes and dtypes and their attributes: the checked
// Conv2DInfo (checks that depend on nothing else are not repeated) and, per device, the programs.
// The info objects are shared between records: nothing may change them.

/** A geometry attribute (strides, dilations, pad: a number, pair, string or explicit pads) as key text. */
export function attrKey(v: unknown): string {
  if (v == null) return '~';
  if (typeof v === 'number') return numberKey(v);
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) {
    let key = '[';
    for (let i = 0; i < v.length; ++i) key += attrKey(v[i]) + ',';
    return key + ']';
  }
  return `?${typeof v}:${JSON.stringify(v)}`;
}

/** Checked infos by kernel, tensors (dtype, shape) and attributes (bounded with cacheSet). */
const checkedInfos = new Map<string, Conv2DInfo>();

/** The info `check` returns for `key` (all its inputs), checked once per key. */
export function checkedInfo(key: string, check: () => Conv2DInfo): Conv2DInfo {
  return checkedInfos.get(key) ?? cacheSet(checkedInfos, key, check());
}

const infoKeys = new WeakMap<Conv2DInfo, string>();

/** Every field of `info` as key text (remembered per info object). */
export function infoKey(info: Conv2DInfo): string {
  let key = infoKeys.get(info);
  if (key === undefined) {
    const p = info.padInfo;
    key = [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels,
           info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth, info.filterHeight, info.filterWidth,
           info.effectiveFilterHeight, info.effectiveFilterWidth, p.top, p.left, p.bottom, p.right, p.type, info.dataFormat,
           shapeKey(info.inShape), shapeKey(info.outShape), shapeKey(info.filterShape)].join(',');
    infoKeys.set(info, key);
  }
  return key;
}

/** What a program's epilogue depends on: activation, bias and prelu shapes, the leaky alpha. */
export function epilogueRecordKey(e?: Epilogue): string {
  if (!e) return 'none';
  return e.activation + '|' + tensorKey(e.bias) + '|' + tensorKey(e.preluWeights) +
    (e.activation === 'leakyrelu' ? '|' + numberKey(e.leakyreluAlpha ?? 0.2) : '');
}

// ---- layout -------------------------------------------------------------------------------------

/** Strides of a 4-D tensor per logical dimension (batch, row, col, channel). */
export function logicalStrides(shape: number[], channelsLast: boolean): Shape4 {
  const s0 = shape[1] * shape[2] * shape[3], s1 = shape[2] * shape[3], s2 = shape[3];
  return channelsLast ? [s0, s1, s2, 1] : [s0, s2, 1, s1];
}

export function strideUniforms(prefix: string, s: number[]): Uniform[] {
  return ['B', 'R', 'C', 'D'].map((d, i) => ({name: `${prefix}S${d}`, type: 'i32' as const, value: s[i]}));
}

export function intUniforms(values: Record<string, number>): Uniform[] {
  return Object.entries(values).map(([name, value]) => ({name, type: 'i32' as const, value}));
}

/**
 * WGSL splitting `flatId` (a row-major index into a 4-D tensor of rows H, cols W, channels C in the
 * given format) into `b`, `r`, `c`, `d`.
 */
export function unflattenBRCD(channelsLast: boolean, h: string, w: string, ch: string): string {
  if (channelsLast) {
    return `var t = i32(flatId);
  let d = t % ${ch}; t = t / ${ch};
  let c = t % ${w}; t = t / ${w};
  let r = t % ${h}; let b = t / ${h};`;
  }
  return `var t = i32(flatId);
  let c = t % ${w}; t = t / ${w};
  let r = t % ${h}; t = t / ${h};
  let d = t % ${ch}; let b = t / ${ch};`;
}

export function program(name: string, key: string, spec: () => ShaderSpec, size: number, uniforms: Uniform[]): Program {
  return {name, key, shader: spec, uniforms: [{name: 'size', type: 'u32', value: size}, ...uniforms],
          dispatch: dispatch1D(size, WORKGROUP)};
}

// ---- fused epilogue -----------------------------------------------------------------------------

export type Activation = 'linear'|'relu'|'relu6'|'elu'|'leakyrelu'|'prelu'|'sigmoid';

const UNARY_OF: Record<string, string> = {relu: 'Relu', relu6: 'Relu6', elu: 'Elu', sigmoid: 'Sigmoid', leakyrelu: 'LeakyRelu'};

export interface Epilogue {
  activation: Activation;
  /** Broadcast against the output (already reshaped for NCHW where the CPU backend does). */
  bias?: TensorInfo;
  preluWeights?: TensorInfo;
  leakyreluAlpha?: number;
}

export function checkActivation(kernel: string, activation: string|undefined|null, prelu: TensorInfo|undefined): Activation {
  const a = activation ?? 'linear';
  if (a !== 'linear' && a !== 'prelu' && !(a in UNARY_OF)) {
    throw new Error(`${kernel}: activation '${a}' is not supported (linear, relu, relu6, elu, leakyrelu, prelu, sigmoid)`);
  }
  if (a === 'prelu' && prelu == null) {
    throw new Error(`${kernel}: activation 'prelu' needs the input 'preluActivationWeights'`);
  }
  return a as Activation;
}

/** Epilogue expression over input(0) = the accumulator, input(1) = bias, input(2) = prelu alpha. */
function epilogueExpr(e: Epilogue): Expr {
  let x: Expr = input(0, 'f32');
  if (e.bias) x = op('$0 + $1', 'f32', [x, input(1, 'f32')]);
  if (e.activation === 'prelu') return binaryExpr('Prelu', x, input(2, 'f32'), false);
  if (e.activation === 'linear') return x;
  return unaryExpr(UNARY_OF[e.activation], x, false);
}

/** The epilogue over input(0) = the accumulator (the identity without one). */
export function epilogueExprOf(e?: Epilogue): Expr {
  return e ? epilogueExpr(e) : input(0, 'f32');
}

export function epilogueKey(e?: Epilogue): string {
  return e ? `${e.activation}|b${e.bias ? 1 : 0}|p${e.preluWeights ? 1 : 0}` : 'none';
}

/** Uniforms: broadcast strides of bias and prelu weights per logical dim, and the leaky alpha. */
export function epilogueUniforms(e: Epilogue|undefined, outShape: number[], channelsLast: boolean): Uniform[] {
  if (!e) return [];
  const out: Uniform[] = [];
  const logical = (t: TensorInfo): number[] => {
    const s = broadcastStrides(t.shape, outShape);  // per memory dim of the output
    return channelsLast ? s : [s[0], s[2], s[3], s[1]];
  };
  if (e.bias) out.push(...strideUniforms('bias', logical(e.bias)));
  if (e.activation === 'prelu') out.push(...strideUniforms('prelu', logical(e.preluWeights!)));
  if (e.activation === 'leakyrelu') out.push({name: 'attr0', type: 'f32', value: e.leakyreluAlpha ?? 0.2});
  return out;
}

/** WGSL statements applying the epilogue to `acc`; returns [declarations, statements, result]. */
export function epilogueCode(e: Epilogue|undefined): [string, string, string] {
  if (!e) return ['', '', 'acc'];
  const at = (p: string) => `b * u.${p}SB + r * u.${p}SR + c * u.${p}SC + d * u.${p}SD`;
  const helpers = new Map<string, string>();
  const stmts: string[] = [];
  const load = (k: number) => (k === 0 ? 'acc' : k === 1 ? `bias[${at('bias')}]` : `prelu[${at('prelu')}]`);
  const result = emitExpr(epilogueExpr(e), load, helpers, stmts);
  return [[...helpers.values()].join('\n'), stmts.join('\n  '), result];
}

// ---- forward ------------------------------------------------------------------------------------

/** The inputs of a forward program with an epilogue, in binding order: x, w, bias?, prelu?. */
export function forwardInputs(x: TensorInfo, w: TensorInfo, e?: Epilogue): TensorInfo[] {
  const list = [x, w];
  if (e?.bias) list.push(e.bias);
  if (e?.activation === 'prelu') list.push(e.preluWeights!);
  return list;
}
