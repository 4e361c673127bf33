// What the convolution family shares: tfjs-style checks, the (batch, row, col, channel) layout of a
// 4-D tensor in either data format, and the programs: forward convolution (dense or depthwise, with
// a fused bias/activation epilogue), its gradient with respect to the input and to the filter.
// One thread per output element loops over the filter window; every geometry value is a uniform so
// one pipeline serves every shape.
import {backend_util, TensorInfo} from '@tensorflow/tfjs-core';

import {broadcastStrides, emitExpr, Expr, input, op} from '../src/codegen/elementwise.js';
import {Program} from '../src/codegen/program.js';
import {dispatch1D, ShaderSpec, sizeOf, Uniform} from '../src/codegen/shader.js';

import {binaryExpr} from './binary.js';
import {unaryExpr} from './unary.js';

export type Conv2DInfo = backend_util.Conv2DInfo;
export type Shape4 = [number, number, number, number];

const WORKGROUP = 64;

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

// ---- layout -------------------------------------------------------------------------------------

/** Strides of a 4-D tensor per logical dimension (batch, row, col, channel). */
export function logicalStrides(shape: number[], channelsLast: boolean): Shape4 {
  const s0 = shape[1] * shape[2] * shape[3], s1 = shape[2] * shape[3], s2 = shape[3];
  return channelsLast ? [s0, s1, s2, 1] : [s0, s2, 1, s1];
}

function strideUniforms(prefix: string, s: number[]): Uniform[] {
  return ['B', 'R', 'C', 'D'].map((d, i) => ({name: `${prefix}S${d}`, type: 'i32' as const, value: s[i]}));
}

function intUniforms(values: Record<string, number>): Uniform[] {
  return Object.entries(values).map(([name, value]) => ({name, type: 'i32' as const, value}));
}

/**
 * WGSL splitting `flatId` (a row-major index into a 4-D tensor of rows H, cols W, channels C in the
 * given format) into `b`, `r`, `c`, `d`.
 */
function unflattenBRCD(channelsLast: boolean, h: string, w: string, ch: string): string {
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

function program(name: string, key: string, spec: () => ShaderSpec, size: number, uniforms: Uniform[]): Program {
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

function epilogueKey(e?: Epilogue): string {
  return e ? `${e.activation}|b${e.bias ? 1 : 0}|p${e.preluWeights ? 1 : 0}` : 'none';
}

/** Uniforms: broadcast strides of bias and prelu weights per logical dim, and the leaky alpha. */
function epilogueUniforms(e: Epilogue|undefined, outShape: number[], channelsLast: boolean): Uniform[] {
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
function epilogueCode(e: Epilogue|undefined): [string, string, string] {
  if (!e) return ['', '', 'acc'];
  const at = (p: string) => `b * u.${p}SB + r * u.${p}SR + c * u.${p}SC + d * u.${p}SD`;
  const helpers = new Map<string, string>();
  const stmts: string[] = [];
  const load = (k: number) => (k === 0 ? 'acc' : k === 1 ? `bias[${at('bias')}]` : `prelu[${at('prelu')}]`);
  const result = emitExpr(epilogueExpr(e), load, helpers, stmts);
  return [[...helpers.values()].join('\n'), stmts.join('\n  '), result];
}

// ---- forward ------------------------------------------------------------------------------------

/**
 * y = conv(x, w) (dense: w is [fH, fW, inC, outC]; depthwise: w is [fH, fW, inC, chMul] and output
 * channel d reads input channel d / chMul), then the epilogue. Inputs: x, w, bias?, prelu?.
 */
export function convForwardProgram(name: string, info: Conv2DInfo, depthwise: boolean, epilogue?: Epilogue): Program {
  const last = info.dataFormat === 'channelsLast';
  const size = sizeOf(info.outShape);
  const uniforms: Uniform[] = [
    ...intUniforms({
      inH: info.inHeight, inW: info.inWidth, inC: info.inChannels,
      outH: info.outHeight, outW: info.outWidth, outC: info.outChannels,
      fH: info.filterHeight, fW: info.filterWidth, sH: info.strideHeight, sW: info.strideWidth,
      dH: info.dilationHeight, dW: info.dilationWidth, padTop: info.padInfo.top, padLeft: info.padInfo.left,
      chMul: depthwise && info.inChannels > 0 ? info.outChannels / info.inChannels : 1,
    }),
    ...strideUniforms('x', logicalStrides(info.inShape, last)),
    ...epilogueUniforms(epilogue, info.outShape, last),
  ];
  const key = `conv2d|fwd|${last ? 'nhwc' : 'nchw'}|${depthwise ? 'dw' : 'dense'}|${epilogueKey(epilogue)}`;
  const tap = depthwise
    ? `let d1 = d / u.chMul;
      acc = acc + x[xPix + d1 * u.xSD] * w[(wTap + d1) * u.chMul + d - d1 * u.chMul];`
    : `for (var d1 = 0; d1 < u.inC; d1 = d1 + 1) {
        acc = acc + x[xPix + d1 * u.xSD] * w[(wTap + d1) * u.outC + d];
      }`;
  const shader = (): ShaderSpec => {
    const [decls, stmts, result] = epilogueCode(epilogue);
    const inputs = [{name: 'x', type: 'f32' as const}, {name: 'w', type: 'f32' as const}];
    if (epilogue?.bias) inputs.push({name: 'bias', type: 'f32'});
    if (epilogue?.activation === 'prelu') inputs.push({name: 'prelu', type: 'f32'});
    return {
      inputs,
      outputs: [{name: 'y', type: 'f32'}],
      workgroupSize: [WORKGROUP, 1, 1],
      declarations: decls,
      body: `
  if (flatId >= u.size) { return; }
  ${unflattenBRCD(last, 'u.outH', 'u.outW', 'u.outC')}
  let rBase = r * u.sH - u.padTop;
  let cBase = c * u.sW - u.padLeft;
  var acc = 0.0;
  for (var kr = 0; kr < u.fH; kr = kr + 1) {
    let xr = rBase + kr * u.dH;
    if (xr < 0 || xr >= u.inH) { continue; }
    for (var kc = 0; kc < u.fW; kc = kc + 1) {
      let xc = cBase + kc * u.dW;
      if (xc < 0 || xc >= u.inW) { continue; }
      let xPix = b * u.xSB + xr * u.xSR + xc * u.xSC;
      let wTap = (kr * u.fW + kc) * u.inC;
      ${tap}
    }
  }
  ${stmts}
  y[flatId] = ${result};`,
    };
  };
  return program(name, key, shader, size, uniforms);
}

/** The inputs of convForwardProgram, in binding order. */
export function forwardInputs(x: TensorInfo, w: TensorInfo, e?: Epilogue): TensorInfo[] {
  const list = [x, w];
  if (e?.bias) list.push(e.bias);
  if (e?.activation === 'prelu') list.push(e.preluWeights!);
  return list;
}

// ---- gradient with respect to the input ---------------------------------------------------------

/**
 * dx = the transposed convolution of dy with w, for x of `info.inShape` (dense or depthwise).
 * Inputs: dy, w. A dx element gathers the dy positions whose window covers it: no zero-stuffing.
 */
export function convBackpropInputProgram(name: string, info: Conv2DInfo, depthwise: boolean, dy: TensorInfo): Program {
  const last = info.dataFormat === 'channelsLast';
  const size = sizeOf(info.inShape);
  const uniforms: Uniform[] = [
    ...intUniforms({
      inH: info.inHeight, inW: info.inWidth, inC: info.inChannels,
      outH: info.outHeight, outW: info.outWidth, outC: info.outChannels,
      fH: info.filterHeight, fW: info.filterWidth, sH: info.strideHeight, sW: info.strideWidth,
      dH: info.dilationHeight, dW: info.dilationWidth, padTop: info.padInfo.top, padLeft: info.padInfo.left,
      chMul: depthwise && info.inChannels > 0 ? info.outChannels / info.inChannels : 1,
    }),
    ...strideUniforms('dy', logicalStrides(dy.shape, last)),
  ];
  const key = `conv2d|dx|${last ? 'nhwc' : 'nchw'}|${depthwise ? 'dw' : 'dense'}`;
  const tap = depthwise
    ? `for (var q = 0; q < u.chMul; q = q + 1) {
        acc = acc + dy[dyPix + (d * u.chMul + q) * u.dySD] * w[wTap * u.chMul + q];
      }`
    : `for (var d2 = 0; d2 < u.outC; d2 = d2 + 1) {
        acc = acc + dy[dyPix + d2 * u.dySD] * w[wTap * u.outC + d2];
      }`;
  const shader = (): ShaderSpec => ({
    inputs: [{name: 'dy', type: 'f32'}, {name: 'w', type: 'f32'}],
    outputs: [{name: 'dx', type: 'f32'}],
    workgroupSize: [WORKGROUP, 1, 1],
    body: `
  if (flatId >= u.size) { return; }
  ${unflattenBRCD(last, 'u.inH', 'u.inW', 'u.inC')}
  var acc = 0.0;
  for (var kr = 0; kr < u.fH; kr = kr + 1) {
    let tr = r + u.padTop - kr * u.dH;
    if (tr < 0 || tr % u.sH != 0) { continue; }
    let yr = tr / u.sH;
    if (yr >= u.outH) { continue; }
    for (var kc = 0; kc < u.fW; kc = kc + 1) {
      let tc = c + u.padLeft - kc * u.dW;
      if (tc < 0 || tc % u.sW != 0) { continue; }
      let yc = tc / u.sW;
      if (yc >= u.outW) { continue; }
      let dyPix = b * u.dySB + yr * u.dySR + yc * u.dySC;
      let wTap = (kr * u.fW + kc) * u.inC + d;
      ${tap}
    }
  }
  dx[flatId] = acc;`,
  });
  return program(name, key, shader, size, uniforms);
}

// ---- gradient with respect to the filter --------------------------------------------------------

/**
 * dw[kr, kc, d1, q] = sum over batch and output positions of x · dy (dense: q is the output channel;
 * depthwise: the multiplier index, output channel d1 * chMul + q). Inputs: x, dy.
 */
export function convBackpropFilterProgram(name: string, info: Conv2DInfo, depthwise: boolean, x: TensorInfo, dy: TensorInfo): Program {
  const last = info.dataFormat === 'channelsLast';
  const size = sizeOf(info.filterShape);
  const uniforms: Uniform[] = [
    ...intUniforms({
      batch: info.batchSize, inH: info.inHeight, inW: info.inWidth, inC: info.inChannels,
      outH: info.outHeight, outW: info.outWidth, fW: info.filterWidth, fLast: info.filterShape[3],
      sH: info.strideHeight, sW: info.strideWidth, dH: info.dilationHeight, dW: info.dilationWidth,
      padTop: info.padInfo.top, padLeft: info.padInfo.left,
      chMul: depthwise && info.inChannels > 0 ? info.outChannels / info.inChannels : 1,
    }),
    ...strideUniforms('x', logicalStrides(x.shape, last)),
    ...strideUniforms('dy', logicalStrides(dy.shape, last)),
  ];
  const key = `conv2d|dw|${last ? 'nhwc' : 'nchw'}|${depthwise ? 'dw' : 'dense'}`;
  const shader = (): ShaderSpec => ({
    inputs: [{name: 'x', type: 'f32'}, {name: 'dy', type: 'f32'}],
    outputs: [{name: 'dw', type: 'f32'}],
    workgroupSize: [WORKGROUP, 1, 1],
    body: `
  if (flatId >= u.size) { return; }
  var t = i32(flatId);
  let q = t % u.fLast; t = t / u.fLast;
  let d1 = t % u.inC; t = t / u.inC;
  let kc = t % u.fW; let kr = t / u.fW;
  let d2 = ${depthwise ? 'd1 * u.chMul + q' : 'q'};
  var acc = 0.0;
  for (var b = 0; b < u.batch; b = b + 1) {
    for (var yr = 0; yr < u.outH; yr = yr + 1) {
      let xr = yr * u.sH - u.padTop + kr * u.dH;
      if (xr < 0 || xr >= u.inH) { continue; }
      for (var yc = 0; yc < u.outW; yc = yc + 1) {
        let xc = yc * u.sW - u.padLeft + kc * u.dW;
        if (xc < 0 || xc >= u.inW) { continue; }
        acc = acc + x[b * u.xSB + xr * u.xSR + xc * u.xSC + d1 * u.xSD] *
                    dy[b * u.dySB + yr * u.dySR + yc * u.dySC + d2 * u.dySD];
      }
    }
  }
  dw[flatId] = acc;`,
  });
  return program(name, key, shader, size, uniforms);
}

// ---- pooling ------------------------------------------------------------------------------------

/**
 * 'max' / 'avg': the pooled values; 'argmax': values and flattened argmax indices (two outputs);
 * 'positions': the max's offset in its window (kr * effW + kc, -1 if none), as MaxPoolGrad needs.
 * Window and tie rules of tfjs-backend-cpu: first strict maximum in row-major window order, NaN
 * never wins, average over the in-bounds pixels.
 */
export type PoolMode = 'max'|'avg'|'argmax'|'positions';

function poolGeometry(info: Conv2DInfo): Record<string, number> {
  return {
    inH: info.inHeight, inW: info.inWidth, C: info.inChannels, outH: info.outHeight, outW: info.outWidth,
    sH: info.strideHeight, sW: info.strideWidth, dH: info.dilationHeight, dW: info.dilationWidth,
    effH: info.effectiveFilterHeight, effW: info.effectiveFilterWidth,
    padTop: info.padInfo.top, padLeft: info.padInfo.left,
  };
}

export function poolProgram(name: string, info: Conv2DInfo, mode: PoolMode, isInt: boolean, includeBatchInIndex = false): Program {
  const size = sizeOf(info.outShape);
  const uniforms = intUniforms({...poolGeometry(info), includeBatch: includeBatchInIndex ? 1 : 0});
  const key = `pool|${mode}|${isInt ? 'i32' : 'f32'}`;
  const type = isInt ? 'i32' as const : 'f32' as const;
  const posExpr = mode === 'argmax'
    ? 'select((xr * u.inW + xc) * u.C + d, ((b * u.inH + xr) * u.inW + xc) * u.C + d, u.includeBatch != 0)'
    : '(xr - rC) * u.effW + (xc - cC)';
  let init: string, update: string, store: string;
  if (mode === 'avg') {
    init = 'var sum = 0.0; var count = 0;';
    update = `sum = sum + ${isInt ? 'f32(v)' : 'v'}; count = count + 1;`;
    const avg = 'select(sum / f32(count), nanF32(), count == 0)';
    store = `y[flatId] = ${isInt ? `i32(${avg})` : avg};`;
  } else {
    // float: strict '>' from -inf (NaN never wins, an all -inf window has no position);
    // int: the first pixel always wins, as it beats the CPU's -Infinity start.
    init = isInt ? 'var best = 0; var pos = -1;' : 'var best = -infF32(); var pos = -1;';
    const wins = isInt ? '(pos < 0 || v > best)' : 'v > best';
    update = `if (${wins}) { best = v; pos = ${mode === 'max' ? '0' : posExpr}; }`;
    store = mode === 'max' ? 'y[flatId] = best;' : mode === 'argmax' ? 'y[flatId] = best;\n  idx[flatId] = pos;' : 'idx[flatId] = pos;';
  }
  const outputs = mode === 'positions' ? [{name: 'idx', type: 'i32' as const}]
    : mode === 'argmax' ? [{name: 'y', type}, {name: 'idx', type: 'i32' as const}] : [{name: 'y', type}];
  const shader = (): ShaderSpec => ({
    inputs: [{name: 'x', type}],
    outputs,
    workgroupSize: [WORKGROUP, 1, 1],
    body: `
  if (flatId >= u.size) { return; }
  ${unflattenBRCD(true, 'u.outH', 'u.outW', 'u.C')}
  let rC = r * u.sH - u.padTop;
  let cC = c * u.sW - u.padLeft;
  // First in-bounds tap of the (dilated) window.
  let rMin = select(rC, rC + ((-rC + u.dH - 1) / u.dH) * u.dH, rC < 0);
  let cMin = select(cC, cC + ((-cC + u.dW - 1) / u.dW) * u.dW, cC < 0);
  let rMax = min(u.inH, u.effH + rC);
  let cMax = min(u.inW, u.effW + cC);
  ${init}
  for (var xr = rMin; xr < rMax; xr = xr + u.dH) {
    for (var xc = cMin; xc < cMax; xc = xc + u.dW) {
      let v = x[((b * u.inH + xr) * u.inW + xc) * u.C + d];
      ${update}
    }
  }
  ${store}`,
  });
  return program(name, key, shader, size, uniforms);
}

/**
 * Pooling gradients, one thread per dx element gathering the dy positions whose window covers it.
 * 'max': inputs dy, positions (from poolProgram 'positions'); dy flows where the position matches.
 * 'avg': input dy; the sum is scaled by 1 / (filterHeight * filterWidth), as tfjs-backend-cpu does.
 */
export function poolGradProgram(name: string, info: Conv2DInfo, mode: 'max'|'avg', dy: TensorInfo): Program {
  const size = sizeOf(info.inShape);
  const uniforms: Uniform[] = [
    ...intUniforms(poolGeometry(info)),
    ...strideUniforms('dy', logicalStrides(dy.shape, true)),
    {name: 'avgMul', type: 'f32', value: 1 / (info.filterHeight * info.filterWidth)},
  ];
  const key = `poolgrad|${mode}`;
  const tap = mode === 'max'
    ? `if (pos[((b * u.outH + yr) * u.outW + yc) * u.C + d] == kr * u.effW + kc) { acc = acc + dy[dyi]; }`
    : 'acc = acc + dy[dyi];';
  const shader = (): ShaderSpec => ({
    inputs: mode === 'max' ? [{name: 'dy', type: 'f32'}, {name: 'pos', type: 'i32'}] : [{name: 'dy', type: 'f32'}],
    outputs: [{name: 'dx', type: 'f32'}],
    workgroupSize: [WORKGROUP, 1, 1],
    body: `
  if (flatId >= u.size) { return; }
  ${unflattenBRCD(true, 'u.inH', 'u.inW', 'u.C')}
  var acc = 0.0;
  for (var kr = 0; kr < u.effH; kr = kr + u.dH) {
    let tr = r + u.padTop - kr;
    if (tr < 0 || tr % u.sH != 0) { continue; }
    let yr = tr / u.sH;
    if (yr >= u.outH) { continue; }
    for (var kc = 0; kc < u.effW; kc = kc + u.dW) {
      let tc = c + u.padLeft - kc;
      if (tc < 0 || tc % u.sW != 0) { continue; }
      let yc = tc / u.sW;
      if (yc >= u.outW) { continue; }
      let dyi = b * u.dySB + yr * u.dySR + yc * u.dySC + d * u.dySD;
      ${tap}
    }
  }
  dx[flatId] = ${mode === 'avg' ? 'acc * u.avgMul' : 'acc'};`,
  });
  return program(name, key, shader, size, uniforms);
}
