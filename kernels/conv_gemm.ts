// The dense 2-D convolutions as implicit GEMMs on the GEMM engine (src/codegen/gemm.ts), NHWC:
//   forward          y[(b,r,c), d2]   = Σ_(kr,kc,d1) x[b, r·sH − pT + kr·dH, c·sW − pL + kc·dW, d1] · w[(kr,kc,d1), d2]
//   backprop input   dx[(b,r,c), d1]  = Σ_(kr,kc,d2) dy[b, (r + pT − kr·dH)/sH, (c + pL − kc·dW)/sW, d2] · w[kr,kc,d1,d2]
//                    (terms whose division is inexact or lands outside dy are zero: no zero-stuffing)
//   backprop filter  dw[(kr,kc,d1), d2] = Σ_(b,yr,yc) x[b, yr·sH − pT + kr·dH, yc·sW − pL + kc·dW, d1] · dy[(b,yr,yc), d2]
//                    (a long reduction over N·H·W: split-K)
// The gathered operand reads 4 channels at once where the channel count is a multiple of 4 and
// decomposes each index once per load slot; the filter or dy is a plain row-major matrix.
import {TensorInfo} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {broadcastStrides} from '../src/codegen/elementwise.js';
import {denseOperand, GemmOperand, gemmRecord, GemmRecord, GemmSpec, gemmIsDirect, gemmTuned, recordGemm} from '../src/codegen/gemm.js';
import {Program} from '../src/codegen/program.js';
import {cacheSet, deviceRecords, dispatch1D, ShaderSpec, shapeKey, Uniform} from '../src/codegen/shader.js';

import {adapterMatches, isCpuAdapter, MpsgpuDevice} from '../src/device.js';
import {flags} from '../src/flags.js';
import {reshapeView} from '../src/kernel_util.js';

import {applyEpilogueElementwise, batchMatMul} from './BatchMatMul.js';
import {directConvApplies, directConvProgram} from './conv_direct.js';
import {Conv2DInfo, Epilogue, epilogueExprOf, epilogueRecordKey, forwardInputs, infoKey, intUniforms, Shape4} from './conv_common.js';
import {transposeTensor} from './Transpose.js';

function geometry(info: Conv2DInfo): Uniform[] {
  return intUniforms({
    inH: info.inHeight, inW: info.inWidth, inC: info.inChannels, outH: info.outHeight, outW: info.outWidth,
    outC: info.outChannels, fW: info.filterWidth, sH: info.strideHeight, sW: info.strideWidth,
    dH: info.dilationHeight, dW: info.dilationWidth, padT: info.padInfo.top, padL: info.padInfo.left,
  });
}

/** A vec4 of 4 scalar loads `one(k + c)` (a gathered operand whose channels are not 4-aligned). */
function fourLoads(one: (c: number) => string): string {
  return `vec4<f32>(${[0, 1, 2, 3].map(one).join(', ')})`;
}

// ---- forward --------------------------------------------------------------------------------------

/** A of the forward GEMM: the im2col of x, rows (b, r, c), columns (kr, kc, d1). */
function im2colOperand(vec4: boolean): GemmOperand {
  const setup = (row: string, s: string) => `let ok${s} = ${row} < u.M;
  let p${s} = i32(${row});
  let xb${s} = (p${s} / (u.outW * u.outH)) * u.inH;
  let xr${s} = ((p${s} / u.outW) % u.outH) * u.sH - u.padT;
  let xc${s} = (p${s} % u.outW) * u.sW - u.padL;`;
  const loadAt = (s: string, k: string, width: 1|4) => `loadX${width}(ok${s}, xb${s}, xr${s}, xc${s}, ${k})`;
  if (!vec4) {
    return {buffer: {name: 'x', type: 'f32', vec4}, along: 'k', setup, key: 'im2col1',
            load: (_row, k, s) => fourLoads(c => loadAt(s, `${k} + ${c}u`, 1))};
  }
  // 4-aligned channels: the slot's (kr, kc, d1) advance incrementally (no divisions per step).
  return {
    buffer: {name: 'x', type: 'f32', vec4},
    along: 'k',
    setup,
    kInit: (k, s) => `var d1${s} = i32(${k}) % u.inC;
  var kc${s} = (i32(${k}) / u.inC) % u.fW;
  var kr${s} = i32(${k}) / (u.inC * u.fW);`,
    kAdvance: (step, s) => `d1${s} = d1${s} + ${step};
      while (d1${s} >= u.inC) { d1${s} = d1${s} - u.inC; kc${s} = kc${s} + 1; if (kc${s} == u.fW) { kc${s} = 0; kr${s} = kr${s} + 1; } }`,
    load: (_row, k, s) => `loadX4at(ok${s} && ${k} < u.K, xb${s}, xr${s} + kr${s} * u.dH, xc${s} + kc${s} * u.dW, d1${s})`,
    loadDirect: (_row, k, s) => loadAt(s, k, 4),
    key: 'im2col4inc',
  };
}

/** x at (image b·inH-row base, row, col) for flattened filter index k = (kr·fW + kc)·inC + d1. */
function xLoaderDecl(vec4: boolean): string {
  const at = vec4 ? `fn loadX4at(ok: bool, xb: i32, xr: i32, xc: i32, d1: i32) -> vec4<f32> {
  if (!ok || xr < 0 || xr >= u.inH || xc < 0 || xc >= u.inW) { return vec4<f32>(); }
  return x[(((xb + xr) * u.inW + xc) * u.inC + d1) / 4];
}
` : '';
  const width = vec4 ? 4 : 1;
  const type = vec4 ? 'vec4<f32>' : 'f32';
  return `${at}fn loadX${width}(ok: bool, xb: i32, xr0: i32, xc0: i32, k: u32) -> ${type} {
  let kk = i32(k);
  let d1 = kk % u.inC;
  let tap = kk / u.inC;
  let xr = xr0 + (tap / u.fW) * u.dH;
  let xc = xc0 + (tap % u.fW) * u.dW;
  if (!ok || k >= u.K || xr < 0 || xr >= u.inH || xc < 0 || xc >= u.inW) { return ${type}(); }
  return x[(((xb + xr) * u.inW + xc) * u.inC + d1)${vec4 ? ' / 4' : ''}];
}`;
}

/** The epilogue's extra inputs (bias, prelu weights) read at output (m = (b, r, c), n = channel). */
function epilogueLoads(e: Epilogue|undefined, outShape: number[]) {
  const extras: Array<{name: string; t: TensorInfo}> = [];
  if (e?.bias) extras.push({name: 'bias', t: e.bias});
  if (e?.activation === 'prelu') extras.push({name: 'prelu', t: e.preluWeights!});
  const uniforms: Uniform[] = [];
  const [, h, w] = outShape;
  // Broadcast strides per output dimension (0 where broadcast).
  const strides = (t: TensorInfo) => broadcastStrides(t.shape, outShape);
  const loads = new Map<string, (m: string, n: string) => string>();
  for (const {name, t} of extras) {
    const st = strides(t);
    if (st[0] === 0 && st[1] === 0 && st[2] === 0) {
      uniforms.push({name: `${name}SD`, type: 'u32', value: st[3]});
      loads.set(name, (_m, n) => `${name}[${n} * u.${name}SD]`);
    } else {
      ['B', 'R', 'C', 'D'].forEach((d, i) => uniforms.push({name: `${name}S${d}`, type: 'u32', value: st[i]}));
      loads.set(name, (m, n) => `${name}[(${m} / ${w * h}u) * u.${name}SB + ((${m} / ${w}u) % ${h}u) * u.${name}SR + ` +
        `(${m} % ${w}u) * u.${name}SC + ${n} * u.${name}SD]`);
    }
  }
  const key = extras.map(x => `${x.name}:${uniforms.some(u => u.name === `${x.name}SB`) ? 'full' : 'ch'}`).join(',') +
    (extras.some(x => uniforms.some(u => u.name === `${x.name}SB`)) ? `|${h},${w}` : '');
  return {extras, uniforms, loads, key};
}

/** A 1×1 convolution with stride 1 and no padding: a plain matrix product over the pixels. */
function isPointwise(info: Conv2DInfo): boolean {
  return info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1 &&
    info.padInfo.top === 0 && info.padInfo.left === 0 && info.outHeight === info.inHeight && info.outWidth === info.inWidth;
}

/** `x` viewed as a matrix [rows, cols] (views are disposed by `done`). */
function asMatrices(b: MpsgpuBackend, ...pairs: Array<[TensorInfo, number, number]>) {
  const views = pairs.map(([t, rows, cols]) => reshapeView(b, t, [rows, cols]));
  return {views, done: (out: TensorInfo, shape: number[]) => {
    const res = reshapeView(b, out, shape);
    [...views, out].forEach(v => b.disposeIntermediateTensorInfo(v));
    return res;
  }};
}

/**
 * Whether MPSGPU_CONV_F16 can take effect on a device: it needs shader-f16. SwiftShader offers
 * shader-f16 but did not finish compiling the half-precision GEMM within 5 minutes (Chromium 156),
 * and a CPU adapter gains nothing from f16 arithmetic, so it is left out there.
 */
export function convF16Available(d: MpsgpuDevice): boolean {
  return d.features.has('shader-f16') && !adapterMatches(d, /swiftshader/i);
}

/** Half-precision staging and accumulation where asked for (MPSGPU_CONV_F16) and available. */
function convPrecision(b: MpsgpuBackend): 'f32'|'f16' {
  return flags.convF16 && convF16Available(b.gpu) ? 'f16' : 'f32';
}

/**
 * How a convolution records, a pure function of its kernel, info, epilogue (activation, shapes,
 * alpha), dy's shape and the adapter: a matrix product (batchMatMul, which keeps its own records),
 * a program, a GEMM, or (dx) another convolution after an optional filter transform.
 */
type ConvPlan =
  {kind: 'matmul'} | {kind: 'program'; program: Program} | {kind: 'gemm'; gemm: GemmRecord} |
  {kind: 'forward'; flip: Program|null};

/** ConvPlans by device, then by path, kernel, info and the rest (bounded with cacheSet). */
const convPlans = new WeakMap<object, Map<string, ConvPlan>>();

/**
 * The plan `build` gives for `key` on `b`'s device, kept while no flag or tuning override changes
 * the path (MPSGPU_CONV_F16, convTuning, gemmTuning: then built on every call).
 */
function convPlan(b: MpsgpuBackend, key: string, build: () => ConvPlan): ConvPlan {
  if (flags.convF16 || convTuning.direct !== null || convTuning.directForward !== null || convTuning.flipMinMacs !== null || gemmTuned()) {
    return build();
  }
  const plans = deviceRecords(convPlans, b.gpu);
  return plans.get(key) ?? cacheSet(plans, key, build());
}

/**
 * y = conv2d(x, w) then the epilogue, NHWC. `flippedFilter`: w is the forward filter of the
 * convolution whose input gradient this is ([fH, fW, out channels, in channels] of `info`), read
 * with taps reversed and channels transposed (dx as one forward GEMM, no filter transform).
 */
export function conv2dGemm(b: MpsgpuBackend, name: string, info: Conv2DInfo, x: TensorInfo, w: TensorInfo, e?: Epilogue,
                           flippedFilter = false): TensorInfo {
  const plan = convPlan(b, 'fwd|' + name + '|' + infoKey(info) + '|' + epilogueRecordKey(e) + (flippedFilter ? '|flipped' : ''),
                        () => forwardPlan(b, name, info, e, flippedFilter));
  if (plan.kind === 'matmul') {
    const pixels = info.batchSize * info.inHeight * info.inWidth;
    const {views: [xm, wm], done} = asMatrices(b, [x, pixels, info.inChannels], [w, info.inChannels, info.outChannels]);
    return done(batchMatMul(b, xm, wm, false, false, e ? {bias: e.bias, activation: e.activation,
      preluActivationWeights: e.preluWeights, leakyreluAlpha: e.leakyreluAlpha} : {}, name), info.outShape.slice());
  }
  if (plan.kind === 'program') return b.runProgram(plan.program, forwardInputs(x, w, e), info.outShape.slice(), 'float32');
  if (plan.kind !== 'gemm') throw new Error(`${name}: no forward plan`);
  const extras: TensorInfo[] = [];
  if (e?.bias) extras.push(e.bias);
  if (e?.activation === 'prelu') extras.push(e.preluWeights!);
  return recordGemm(b, plan.gemm, [x, w], extras, info.outShape.slice(), 'float32');
}

/** conv2dGemm's plan: a matrix product (1×1), the direct program, or the implicit GEMM. */
function forwardPlan(b: MpsgpuBackend, name: string, info: Conv2DInfo, e: Epilogue|undefined, flippedFilter: boolean): ConvPlan {
  const vectorOrNone = (t?: TensorInfo) => !t || t.shape.length <= 1;
  const precision = convPrecision(b);
  if (isPointwise(info) && precision === 'f32' && vectorOrNone(e?.bias) && vectorOrNone(e?.preluWeights)) return {kind: 'matmul'};
  // CPU adapters: the direct program where it measured faster (lavapipe: no more output than
  // input channels, e.g. InceptionV3's 3×3 96→96 at 17², 29 → 22 ms; with more, as the 3×3
  // 32→64 one at 37², the GEMM was 10–25% faster). Not with f16 staging (a GEMM option).
  if (!flippedFilter && precision === 'f32' && directConvApplies(info) &&
      (convTuning.directForward ?? (isCpuAdapter(b.gpu) && info.outChannels <= info.inChannels))) {
    return {kind: 'program', program: directConvProgram(name, info, false, e)};
  }
  const m = info.batchSize * info.outHeight * info.outWidth;
  const n = info.outChannels;
  const k = info.filterHeight * info.filterWidth * info.inChannels;
  const vecX = info.inChannels % 4 === 0;
  const epi = epilogueLoads(e, info.outShape);
  const expr = epilogueExprOf(e);
  const spec: GemmSpec = {
    name, m, n, k, batch: 1, acc: 'f32', precision,
    a: im2colOperand(vecX),
    b: flippedFilter ? transposedFilterOperand(vecX, true)
      : denseOperand({name: 'w', type: 'f32', acc: 'f32', contiguous: 'outer', vec4: n % 4 === 0, offset: '0u', ld: 'u.N', rows: 'u.N'}),
    out: {
      type: 'f32', vec4: n % 4 === 0, index: (mm, nn) => `${mm} * u.N + ${nn}`, epilogue: expr,
      extraInputs: epi.extras.map(x => ({name: x.name, type: 'f32' as const})),
      loadExtra: (i, mm, nn) => (i === 1 ? epi.loads.get('bias')! : epi.loads.get('prelu')!)(mm, nn),
      key: `conv|${epi.key}`,
    },
    prologue: 'let outOff = 0u;', prologueKey: 'conv',
    uniforms: [...geometry(info), ...epi.uniforms,
               ...(flippedFilter ? [{name: 'outCu', type: 'u32' as const, value: info.inChannels},
                                    {name: 'taps', type: 'u32' as const, value: info.filterHeight * info.filterWidth}] : []),
               ...(e?.activation === 'leakyrelu' ? [{name: 'attr0', type: 'f32' as const, value: e.leakyreluAlpha ?? 0.2}] : [])],
  };
  return {kind: 'gemm', gemm: gemmWith(b, spec, epi.extras.length, {name: 'loadX', vec4: vecX, build: xLoaderDecl})};
}

/** The GEMM's record, with module-scope helper functions the operands call (built once per name). */
function gemmWith(b: MpsgpuBackend, spec: GemmSpec, extras: number,
                  loader: {name: string; vec4: boolean; build: (vec4: boolean) => string}): GemmRecord {
  const key = `${loader.name}${loader.vec4 ? 4 : 1}`;
  let text = loaderText.get(key);
  if (text === undefined) {
    text = loader.build(loader.vec4);
    loaderText.set(key, text);
  }
  spec.declarations = {key, text};
  return gemmRecord(b.gpu, spec, extras);
}
const loaderText = new Map<string, string>();

// ---- backprop input -------------------------------------------------------------------------------

/** A of the backprop-input GEMM: dy gathered at rows (b, r, c) of dx, columns (kr, kc, d2). */
function dyGatherOperand(vec4: boolean): GemmOperand {
  const setup = (row: string, s: string) => `let ok${s} = ${row} < u.M;
  let p${s} = i32(${row});
  let yb${s} = p${s} / (u.inW * u.inH);
  let tr${s} = ((p${s} / u.inW) % u.inH) + u.padT;
  let tc${s} = (p${s} % u.inW) + u.padL;`;
  const loadAt = (s: string, k: string, width: 1|4) => `loadDy${width}(ok${s}, yb${s}, tr${s}, tc${s}, ${k})`;
  return {
    buffer: {name: 'dy', type: 'f32', vec4},
    along: 'k',
    setup,
    load: (_row, k, s) => (vec4 ? loadAt(s, k, 4) : fourLoads(c => loadAt(s, `${k} + ${c}u`, 1))),
    key: `dygather${vec4 ? 4 : 1}`,
  };
}

function dyLoaderDecl(vec4: boolean): string {
  const width = vec4 ? 4 : 1;
  const type = vec4 ? 'vec4<f32>' : 'f32';
  return `fn loadDy${width}(ok: bool, yb: i32, tr0: i32, tc0: i32, k: u32) -> ${type} {
  let kk = i32(k);
  let d2 = kk % u.outC;
  let tap = kk / u.outC;
  let tr = tr0 - (tap / u.fW) * u.dH;
  let tc = tc0 - (tap % u.fW) * u.dW;
  if (!ok || k >= u.K || tr < 0 || tc < 0) { return ${type}(); }
  let yr = tr / u.sH;
  let yc = tc / u.sW;
  if (yr * u.sH != tr || yc * u.sW != tc || yr >= u.outH || yc >= u.outW) { return ${type}(); }
  return dy[(yb * u.dySB + yr * u.dySR + yc * u.dySC + d2)${vec4 ? ' / 4' : ''}];
}`;
}

/** B of the backprop-input GEMM: w[kr, kc, n, d2] at row k = (kr·fW + kc)·outC + d2, column n = d1. */
function transposedFilterOperand(vec4: boolean, flipped = false): GemmOperand {
  // `flipped`: taps in reverse order (u.taps = fH·fW), the filter of dx as a forward convolution.
  const tap = (k: string) => (flipped ? `(u.taps - 1u - ${k} / u.outCu)` : `(${k} / u.outCu)`);
  const one = (n: string, k: string) =>
    `select(0.0, w[(${tap(k)} * u.N + ${n}) * u.outCu + ${k} % u.outCu], ${n} < u.N && ${k} < u.K)`;
  return {
    buffer: {name: 'w', type: 'f32', vec4},
    along: 'k',
    setup: () => '',
    load: (row, k) => (vec4
      ? `select(vec4<f32>(), w[((${tap(k)} * u.N + ${row}) * u.outCu + ${k} % u.outCu) / 4u], ${row} < u.N && ${k} < u.K)`
      : fourLoads(c => one(row, `(${k} + ${c}u)`))),
    key: `wT${vec4 ? 4 : 1}${flipped ? 'f' : ''}`,
  };
}

/**
 * Tuning and test hooks. flipMinMacs: the product size (multiply-adds) from which dx transforms
 * the filter first; null: by adapter — GPUs from 2^28; CPU adapters whenever the GEMM stages its
 * operands in workgroup memory (the in-place read stores them as scalars there), never for the
 * direct variant. direct / directForward: force the direct program (kernels/conv_direct.ts) on or
 * off for the stride-1 dx / the forward convolution; null: by adapter (CPU adapters, see there).
 */
export const convTuning: {flipMinMacs: number|null; direct: boolean|null; directForward: boolean|null} =
    {flipMinMacs: null, direct: null, directForward: null};

/** w[kr, kc, d1, d2] → w'[fH−1−kr, fW−1−kc, d2, d1]: the filter of the transposed convolution. */
function flipFilterProgram(name: string, fH: number, fW: number, inC: number, outC: number): Program {
  const size = fH * fW * inC * outC;
  const uniforms = intUniforms({fH, fW, inC, outC, size});
  const shader = (): ShaderSpec => ({
    inputs: [{name: 'w', type: 'f32'}],
    outputs: [{name: 'wf', type: 'f32'}],
    workgroupSize: [64, 1, 1],
    body: `
  let i = i32(flatId);
  if (i >= u.size) { return; }
  let d1 = i % u.inC;
  let d2 = (i / u.inC) % u.outC;
  let tap = i / (u.inC * u.outC);
  let kc = tap % u.fW;
  let kr = tap / u.fW;
  wf[i] = w[(((u.fH - 1 - kr) * u.fW + (u.fW - 1 - kc)) * u.inC + d1) * u.outC + d2];`,
  });
  return {name, key: 'conv2d|flipFilter', shader, uniforms, dispatch: dispatch1D(size, 64)};
}

/**
 * With stride 1, dx is the forward convolution of dy with the flipped, transposed filter, padded
 * by the rest of the effective window: one cheap filter transform, then the forward GEMM (dense
 * vector loads of the filter instead of a transposed gather).
 */
function backpropInputAsForward(b: MpsgpuBackend, name: string, info: Conv2DInfo, dy: TensorInfo, w: TensorInfo): TensorInfo {
  const fwd = forwardOfInput(info);
  const plan = convPlan(b, 'dxfwd|' + name + '|' + infoKey(info), () => asForwardPlan(b, name, info, fwd));
  if (plan.kind === 'program') return b.runProgram(plan.program, [dy, w], fwd.outShape.slice(), 'float32');
  if (plan.kind !== 'forward') throw new Error(`${name}: no input-gradient plan`);
  if (plan.flip === null) return conv2dGemm(b, name, fwd, dy, w, undefined, true);
  const {filterHeight: fH, filterWidth: fW, inChannels: inC, outChannels: outC} = info;
  const flipped = b.runProgram(plan.flip, [w], [fH, fW, outC, inC], 'float32');
  const dx = conv2dGemm(b, name, fwd, dy, flipped);
  b.disposeIntermediateTensorInfo(flipped);
  return dx;
}

/** The forward convolution (of dy) whose output is dx (remembered per info object). */
function forwardOfInput(info: Conv2DInfo): Conv2DInfo {
  let fwd = forwardsOfInput.get(info);
  if (fwd === undefined) {
    const {filterHeight: fH, filterWidth: fW, inChannels: inC, outChannels: outC} = info;
    const effH = (fH - 1) * info.dilationHeight, effW = (fW - 1) * info.dilationWidth;
    fwd = {
      ...info,
      inHeight: info.outHeight, inWidth: info.outWidth, inChannels: outC,
      outHeight: info.inHeight, outWidth: info.inWidth, outChannels: inC,
      inShape: info.outShape, outShape: info.inShape, filterShape: [fH, fW, outC, inC],
      padInfo: {...info.padInfo, top: effH - info.padInfo.top, left: effW - info.padInfo.left},
    };
    forwardsOfInput.set(info, fwd);
  }
  return fwd;
}
const forwardsOfInput = new WeakMap<Conv2DInfo, Conv2DInfo>();

/** backpropInputAsForward's plan: the direct program, or the forward GEMM after an optional filter transform. */
function asForwardPlan(b: MpsgpuBackend, name: string, info: Conv2DInfo, fwd: Conv2DInfo): ConvPlan {
  const {filterHeight: fH, filterWidth: fW, inChannels: inC, outChannels: outC} = info;
  // Large products: transform the filter once (a cheap pass) so the GEMM reads it with dense
  // vector loads; small ones: read it flipped in place and save the extra dispatch.
  const m = info.batchSize * info.inHeight * info.inWidth, k = fH * fW * outC;
  const cpu = isCpuAdapter(b.gpu);
  // CPU adapters: the direct program skips the zero border of the padded dy (lavapipe: 10–50%
  // faster than the GEMM on every stride-1 dx of the bench, e.g. the 7×1 128→128 one 10 → 6.8 ms).
  if ((convTuning.direct ?? cpu) && convPrecision(b) === 'f32' && directConvApplies(fwd)) {
    return {kind: 'program', program: directConvProgram(name, fwd, true)};
  }
  const minMacs = convTuning.flipMinMacs ?? (!cpu ? 2 ** 28 : gemmIsDirect(m, inC, k, true) ? Infinity : 0);
  if (m * inC * k < minMacs) return {kind: 'forward', flip: null};
  return {kind: 'forward', flip: flipFilterProgram(name, fH, fW, inC, outC)};
}

// Strided dx by phases. With stride s > 1 (dilation is then 1), the dx pixels r ≡ ph (mod sH)
// receive only the taps kr ≡ (ph + padT) (mod sH): kr = kr0 + sH·t, from dy row i + br − t where
// r = ph + sH·i. Each of the sH·sW phases is a dense GEMM over its own taps (no multiply with the
// zeros a stride-1 gather over all taps would skip 3 of 4 times at stride 2); the phases are the
// GEMM's batches, so it is one dispatch, and each ends its reduction at its own tap count
// (GemmSpec.kEnd). Rows of a phase past the image are not stored.

/** Per phase (GEMM batch): its first taps, dy offsets and tap counts; dx offset lets for the store. */
const PHASE_PROLOGUE = `let ph = i32(batch) / u.sW;
  let pw = i32(batch) % u.sW;
  let kr0 = (ph + u.padT) % u.sH;
  let kc0 = (pw + u.padL) % u.sW;
  let br = (ph + u.padT - kr0) / u.sH;
  let bc = (pw + u.padL - kc0) / u.sW;
  let tapsH = (u.fH - kr0 + u.sH - 1) / u.sH;
  let tapsW = (u.fW - kc0 + u.sW - 1) / u.sW;
  let kPhase = u32(max(tapsH * tapsW, 0) * u.outC);
  let phU = u32(ph);
  let pwU = u32(pw);
  let outOff = 0u;`;

/** A of a phase: dy at rows (b, i, j) of the phase, columns (th, tw, d2) of its taps. */
function dyPhaseOperand(vec4: boolean): GemmOperand {
  const setup = (row: string, s: string) => `let ok${s} = ${row} < u.M;
  let p${s} = i32(${row});
  let yb${s} = p${s} / (u.wP * u.hP);
  let yr${s} = (p${s} / u.wP) % u.hP + br;
  let yc${s} = p${s} % u.wP + bc;`;
  const one = (s: string, k: string) => `loadDyPhase${vec4 ? 4 : 1}(ok${s}, yb${s}, yr${s}, yc${s}, tapsH, tapsW, ${k})`;
  return {
    buffer: {name: 'dy', type: 'f32', vec4},
    along: 'k',
    setup,
    load: (_row, k, s) => (vec4 ? one(s, k) : fourLoads(c => one(s, `${k} + ${c}u`))),
    key: `dyphase${vec4 ? 4 : 1}`,
  };
}

function dyPhaseLoaderDecl(vec4: boolean): string {
  const type = vec4 ? 'vec4<f32>' : 'f32';
  return `fn loadDyPhase${vec4 ? 4 : 1}(ok: bool, yb: i32, yr0: i32, yc0: i32, tapsH: i32, tapsW: i32, k: u32) -> ${type} {
  let kk = i32(k);
  let d2 = kk % u.outC;
  let t = kk / u.outC;
  let th = t / max(tapsW, 1);
  let tw = t % max(tapsW, 1);
  let yr = yr0 - th;
  let yc = yc0 - tw;
  if (!ok || k >= u.K || th >= tapsH || tw >= tapsW || yr < 0 || yc < 0 || yr >= u.outH || yc >= u.outW) { return ${type}(); }
  return dy[(yb * u.dySB + yr * u.dySR + yc * u.dySC + d2)${vec4 ? ' / 4' : ''}];
}`;
}

/** B of a phase: w[kr0 + sH·th, kc0 + sW·tw, n, d2] at row k = (th, tw, d2), column n = d1. */
function filterPhaseOperand(vec4: boolean): GemmOperand {
  const at = (n: string, k: string) => `filterPhaseAt(${n}, ${k}, kr0, kc0, tapsH, tapsW)`;
  return {
    buffer: {name: 'w', type: 'f32', vec4},
    along: 'k',
    setup: () => '',
    load: (row, k) => (vec4
      ? `loadFilterPhase4(${at(row, k)})`
      : fourLoads(c => `loadFilterPhase1(${at(row, `(${k} + ${c}u)`)})`)),
    decls: `fn filterPhaseAt(n: u32, k: u32, kr0: i32, kc0: i32, tapsH: i32, tapsW: i32) -> i32 {
  let kk = i32(k);
  let t = kk / u.outC;
  let th = t / max(tapsW, 1);
  let tw = t % max(tapsW, 1);
  if (n >= u.N || k >= u.K || th >= tapsH || tw >= tapsW) { return -1; }
  return (((kr0 + th * u.sH) * u.fW + kc0 + tw * u.sW) * i32(u.N) + i32(n)) * u.outC + kk % u.outC;
}
${vec4 ? `fn loadFilterPhase4(i: i32) -> vec4<f32> {
  if (i < 0) { return vec4<f32>(); }
  return w[i / 4];
}` : `fn loadFilterPhase1(i: i32) -> f32 {
  if (i < 0) { return 0.0; }
  return w[i];
}`}`,
    key: `wphase${vec4 ? 4 : 1}`,
  };
}

/** The GEMM of dx of a strided convolution (dilation 1, dy of the exact output size) by phases. */
function backpropInputByPhases(b: MpsgpuBackend, name: string, info: Conv2DInfo, dy: TensorInfo): GemmRecord {
  const {strideHeight: sH, strideWidth: sW, filterHeight: fH, filterWidth: fW} = info;
  const hP = Math.ceil(info.inHeight / sH), wP = Math.ceil(info.inWidth / sW);
  const tH = Math.ceil(fH / sH), tW = Math.ceil(fW / sW);  // the most taps a phase has
  const n = info.inChannels;
  const vecDy = info.outChannels % 4 === 0;
  const [, dyH, dyW, dyC] = dy.shape;
  // Row m = (b, i, j) of phase (ph, pw) is dx pixel (b, ph + sH·i, pw + sW·j).
  const row = (m: string) => `phU + ((${m} / u32(u.wP)) % u32(u.hP)) * u32(u.sH)`;
  const col = (m: string) => `pwU + (${m} % u32(u.wP)) * u32(u.sW)`;
  const pixel = (m: string) => `((${m} / u32(u.wP * u.hP)) * u32(u.inH) + ${row(m)}) * u32(u.inW) + ${col(m)}`;
  const spec: GemmSpec = {
    name, m: info.batchSize * hP * wP, n, k: tH * tW * info.outChannels, batch: sH * sW, acc: 'f32',
    precision: convPrecision(b),
    a: dyPhaseOperand(vecDy),
    b: filterPhaseOperand(vecDy),
    out: {type: 'f32', vec4: n % 4 === 0, index: (mm, nn) => `(${pixel(mm)}) * u.N + ${nn}`, epilogue: epilogueExprOf(undefined),
          extraInputs: [], loadExtra: () => '', params: ['phU', 'pwU'],
          rowValid: mm => `${row(mm)} < u32(u.inH) && ${col(mm)} < u32(u.inW)`, key: 'dxphase'},
    prologue: PHASE_PROLOGUE, prologueKey: 'dxphase', kEnd: 'kPhase',
    uniforms: [...geometry(info), ...intUniforms({fH, hP, wP, dySB: dyH * dyW * dyC, dySR: dyW * dyC, dySC: dyC})],
  };
  return gemmWith(b, spec, 0, {name: 'loadDyPhase', vec4: vecDy, build: dyPhaseLoaderDecl});
}

/** dx = the gradient of conv2d with respect to x, NHWC. */
export function conv2dBackpropInputGemm(b: MpsgpuBackend, name: string, info: Conv2DInfo, dy: TensorInfo, w: TensorInfo): TensorInfo {
  const plan = convPlan(b, 'dx|' + name + '|' + infoKey(info) + '|' + shapeKey(dy.shape), () => backpropInputPlan(b, name, info, dy));
  if (plan.kind === 'matmul') {
    const pixels = info.batchSize * info.inHeight * info.inWidth;
    const {views: [dym, wm], done} = asMatrices(b, [dy, pixels, info.outChannels], [w, info.inChannels, info.outChannels]);
    return done(batchMatMul(b, dym, wm, false, true, {}, name), info.inShape.slice());
  }
  if (plan.kind === 'forward') return backpropInputAsForward(b, name, info, dy, w);
  if (plan.kind !== 'gemm') throw new Error(`${name}: no input-gradient plan`);
  return recordGemm(b, plan.gemm, [dy, w], [], info.inShape.slice(), 'float32');
}

/** conv2dBackpropInputGemm's plan: a matrix product (1×1), a forward convolution, the GEMM by phases or the gather. */
function backpropInputPlan(b: MpsgpuBackend, name: string, info: Conv2DInfo, dy: TensorInfo): ConvPlan {
  const dyExact = dy.shape[1] === info.outHeight && dy.shape[2] === info.outWidth;
  if (isPointwise(info) && dyExact && convPrecision(b) === 'f32') return {kind: 'matmul'};
  if (info.strideHeight === 1 && info.strideWidth === 1 && dyExact) return {kind: 'forward', flip: null};
  // SwiftShader (Chromium's CPU adapter) did not finish compiling the phase GEMM within 2 minutes:
  // it keeps the gather over all taps.
  if (dyExact && info.dilationHeight === 1 && info.dilationWidth === 1 && !adapterMatches(b.gpu, /swiftshader/i)) {
    return {kind: 'gemm', gemm: backpropInputByPhases(b, name, info, dy)};
  }
  const m = info.batchSize * info.inHeight * info.inWidth;
  const n = info.inChannels;
  const k = info.filterHeight * info.filterWidth * info.outChannels;
  const vecDy = info.outChannels % 4 === 0;
  const [, dyH, dyW, dyC] = dy.shape;
  const spec: GemmSpec = {
    name, m, n, k, batch: 1, acc: 'f32', precision: convPrecision(b),
    a: dyGatherOperand(vecDy),
    b: transposedFilterOperand(vecDy),
    out: {type: 'f32', vec4: n % 4 === 0, index: (mm, nn) => `${mm} * u.N + ${nn}`, epilogue: epilogueExprOf(undefined),
          extraInputs: [], loadExtra: () => '', key: 'dx'},
    prologue: 'let outOff = 0u;', prologueKey: 'conv',
    uniforms: [...geometry(info), ...intUniforms({dySB: dyH * dyW * dyC, dySR: dyW * dyC, dySC: dyC}),
               {name: 'outCu', type: 'u32', value: info.outChannels}],
  };
  return {kind: 'gemm', gemm: gemmWith(b, spec, 0, {name: 'loadDy', vec4: vecDy, build: dyLoaderDecl})};
}

// ---- backprop filter ------------------------------------------------------------------------------

/**
 * A of the backprop-filter GEMM: x gathered at rows (kr, kc, d1), columns (b, yr, yc).
 * `incremental`: the output position (image yb, row yr, column yc) of reduction index k is advanced
 * along k in registers instead of divided out of k at every load. Always for vec4 loads; for scalar
 * ones only on CPU adapters (their direct GEMM), where each of the 16 loads of a step divided k
 * four times and llvmpipe divides lane by lane: the 3×3 filter gradient of a 3-channel 2×15×17
 * image took 0.37 ms that way (tfjs-backend-webgpu: 0.41).
 */
function patchOperand(vec4: boolean, incremental: boolean): GemmOperand {
  const rowSetup = (row: string, s: string) => `let ok${s} = ${row} < u.M;
  let q${s} = i32(${row});
  let d1${s} = q${s} % u.inC;
  let rOff${s} = (q${s} / (u.inC * u.fW)) * u.dH - u.padT;
  let cOff${s} = ((q${s} / u.inC) % u.fW) * u.dW - u.padL;`;
  const kInit = (k: string, s: string) => `var yc${s} = i32(${k}) % u.outW;
  var yr${s} = (i32(${k}) / u.outW) % u.outH;
  var yb${s} = i32(${k}) / (u.outW * u.outH);`;
  const kAdvance = (step: number, s: string) => `yc${s} = yc${s} + ${step};
      while (yc${s} >= u.outW) { yc${s} = yc${s} - u.outW; yr${s} = yr${s} + 1; if (yr${s} == u.outH) { yr${s} = 0; yb${s} = yb${s} + 1; } }`;
  const buffer = {name: 'x', type: 'f32' as const, vec4};
  if (vec4) {
    return {
      buffer, along: 'outer', setup: rowSetup, kInit, kAdvance,
      load: (_row, k, s) =>
        `loadPatch4at(ok${s} && ${k} < u.K, yb${s}, yr${s} * u.sH + rOff${s}, yc${s} * u.sW + cOff${s}, d1${s})`,
      loadDirect: (_row, k, s) => `loadPatch4(ok${s}, d1${s}, rOff${s}, cOff${s}, ${k})`,
      key: 'patch4inc',
    };
  }
  // Four rows, each its own (kr, kc, d1).
  const setup = (row: string, s: string) => [0, 1, 2, 3].map(c => rowSetup(`(${row} + ${c}u)`, `${s}_${c}`)).join('\n  ');
  const loadDirect = (_row: string, k: string, s: string) => fourLoads(c => `loadPatch1(ok${s}_${c}, d1${s}_${c}, rOff${s}_${c}, cOff${s}_${c}, ${k})`);
  if (!incremental) return {buffer, along: 'outer', setup, load: loadDirect, key: 'patch1'};
  return {
    buffer, along: 'outer', setup, kInit, kAdvance, loadDirect,
    load: (_row, k, s) => fourLoads(c =>
      `loadPatch1at(ok${s}_${c} && ${k} < u.K, yb${s}, yr${s} * u.sH + rOff${s}_${c}, yc${s} * u.sW + cOff${s}_${c}, d1${s}_${c})`),
    key: 'patch1inc',
  };
}

function patchLoaderDecl(vec4: boolean): string {
  const width = vec4 ? 4 : 1;
  const type = vec4 ? 'vec4<f32>' : 'f32';
  return `fn loadPatch${width}at(ok: bool, b: i32, xr: i32, xc: i32, d1: i32) -> ${type} {
  if (!ok || xr < 0 || xr >= u.inH || xc < 0 || xc >= u.inW) { return ${type}(); }
  return x[(((b * u.inH + xr) * u.inW + xc) * u.inC + d1)${vec4 ? ' / 4' : ''}];
}
fn loadPatch${width}(ok: bool, d1: i32, rOff: i32, cOff: i32, k: u32) -> ${type} {
  let kk = i32(k);
  let yc = kk % u.outW;
  let t = kk / u.outW;
  let xr = (t % u.outH) * u.sH + rOff;
  let xc = yc * u.sW + cOff;
  if (!ok || k >= u.K || xr < 0 || xr >= u.inH || xc < 0 || xc >= u.inW) { return ${type}(); }
  return x[((((t / u.outH) * u.inH + xr) * u.inW + xc) * u.inC + d1)${vec4 ? ' / 4' : ''}];
}`;
}

/** B of the backprop-filter GEMM: dy at row k = (b, yr, yc), column d2 (dy may be larger than the window). */
function dyRowsOperand(info: Conv2DInfo, dy: TensorInfo): GemmOperand {
  const [, h, w] = dy.shape;
  const vec4 = info.outChannels % 4 === 0;
  if (h === info.outHeight && w === info.outWidth) {
    return denseOperand({name: 'dy', type: 'f32', acc: 'f32', contiguous: 'outer', vec4, offset: '0u', ld: 'u.N', rows: 'u.N'});
  }
  const at = (n: string, k: string) =>
    `(i32(${k}) / (u.outW * u.outH)) * u.dySB + ((i32(${k}) / u.outW) % u.outH) * u.dySR + (i32(${k}) % u.outW) * u.dySC + i32(${n})`;
  return {
    buffer: {name: 'dy', type: 'f32', vec4},
    along: 'outer',
    setup: () => '',
    load: (row, k) => (vec4
      ? `select(vec4<f32>(), dy[(${at(row, k)}) / 4], ${row} < u.N && ${k} < u.K)`
      : fourLoads(cc => `select(0.0, dy[${at(`${row} + ${cc}u`, k)}], ${row} + ${cc}u < u.N && ${k} < u.K)`)),
    key: `dyrows${vec4 ? 4 : 1}`,
  };
}

/** dw = the gradient of conv2d with respect to the filter, [fH, fW, inC, outC]. */
export function conv2dBackpropFilterGemm(b: MpsgpuBackend, name: string, info: Conv2DInfo, x: TensorInfo, dy: TensorInfo): TensorInfo {
  const plan = convPlan(b, 'dw|' + name + '|' + infoKey(info) + '|' + shapeKey(dy.shape), () => backpropFilterPlan(b, name, info, dy));
  if (plan.kind === 'matmul') {
    const pixels = info.batchSize * info.inHeight * info.inWidth;
    const {views: [xm, dym], done} = asMatrices(b, [x, pixels, info.inChannels], [dy, pixels, info.outChannels]);
    return done(batchMatMul(b, xm, dym, true, false, {}, name), info.filterShape.slice());
  }
  if (plan.kind !== 'gemm') throw new Error(`${name}: no filter-gradient plan`);
  return recordGemm(b, plan.gemm, [x, dy], [], info.filterShape.slice(), 'float32');
}

/** conv2dBackpropFilterGemm's plan: a matrix product (1×1) or the GEMM. */
function backpropFilterPlan(b: MpsgpuBackend, name: string, info: Conv2DInfo, dy: TensorInfo): ConvPlan {
  if (isPointwise(info) && dy.shape[1] === info.outHeight && dy.shape[2] === info.outWidth) return {kind: 'matmul'};
  const m = info.filterHeight * info.filterWidth * info.inChannels;
  const n = info.outChannels;
  const k = info.batchSize * info.outHeight * info.outWidth;
  const vecX = info.inChannels % 4 === 0;
  const [, dyH, dyW, dyC] = dy.shape;
  const spec: GemmSpec = {
    name, m, n, k, batch: 1, acc: 'f32',
    a: patchOperand(vecX, vecX || isCpuAdapter(b.gpu)),
    b: dyRowsOperand(info, dy),
    out: {type: 'f32', vec4: n % 4 === 0, index: (mm, nn) => `${mm} * u.N + ${nn}`, epilogue: epilogueExprOf(undefined),
          extraInputs: [], loadExtra: () => '', key: 'dw'},
    prologue: 'let outOff = 0u;', prologueKey: 'conv',
    uniforms: [...geometry(info), ...intUniforms({dySB: dyH * dyW * dyC, dySR: dyW * dyC, dySC: dyC})],
  };
  return {kind: 'gemm', gemm: gemmWith(b, spec, 0, {name: 'loadPatch', vec4: vecX, build: patchLoaderDecl})};
}

// ---- NCHW ---------------------------------------------------------------------------------------

/** The same convolution in NHWC (shapes reordered; every other field is layout-free), remembered per info object. */
function asChannelsLast(info: Conv2DInfo): Conv2DInfo {
  let nhwcInfo = channelsLastInfos.get(info);
  if (nhwcInfo === undefined) {
    const nhwc = (s: number[]) => [s[0], s[2], s[3], s[1]];
    nhwcInfo = {...info, dataFormat: 'channelsLast', inShape: nhwc(info.inShape) as Shape4, outShape: nhwc(info.outShape) as Shape4};
    channelsLastInfos.set(info, nhwcInfo);
  }
  return nhwcInfo;
}
const channelsLastInfos = new WeakMap<Conv2DInfo, Conv2DInfo>();

/** NCHW runs as NHWC between transposes (tfjs models are NHWC; NCHW is for imported graphs). */
function viaChannelsLast(b: MpsgpuBackend, info: Conv2DInfo, inputs: TensorInfo[], toNhwc: boolean[],
                         run: (nhwc: Conv2DInfo, ins: TensorInfo[]) => TensorInfo, outToNchw: boolean): TensorInfo {
  const ins = inputs.map((t, i) => (toNhwc[i] ? transposeTensor(b, t, [0, 2, 3, 1]) : t));
  const y = run(asChannelsLast(info), ins);
  ins.forEach((t, i) => toNhwc[i] && b.disposeIntermediateTensorInfo(t));
  if (!outToNchw) return y;
  const out = transposeTensor(b, y, [0, 3, 1, 2]);
  b.disposeIntermediateTensorInfo(y);
  return out;
}

/** Conv2D / FusedConv2D in either data format. */
export function conv2d(b: MpsgpuBackend, name: string, info: Conv2DInfo, x: TensorInfo, w: TensorInfo, e?: Epilogue): TensorInfo {
  if (info.dataFormat === 'channelsLast') return conv2dGemm(b, name, info, x, w, e);
  const y = viaChannelsLast(b, info, [x, w], [true, false], (nhwc, [xt]) => conv2dGemm(b, name, nhwc, xt, w), true);
  if (!e || (e.activation === 'linear' && !e.bias)) return y;
  // The epilogue's tensors are aligned with the NCHW output: apply it there.
  const out = applyEpilogueElementwise(b, name, y, e.bias ?? null, e.activation, e.preluWeights ?? null, e.leakyreluAlpha);
  b.disposeIntermediateTensorInfo(y);
  return out;
}

/** Conv2DBackpropInput in either data format. */
export function conv2dBackpropInput(b: MpsgpuBackend, name: string, info: Conv2DInfo, dy: TensorInfo, w: TensorInfo): TensorInfo {
  if (info.dataFormat === 'channelsLast') return conv2dBackpropInputGemm(b, name, info, dy, w);
  return viaChannelsLast(b, info, [dy], [true], (nhwc, [dyt]) => conv2dBackpropInputGemm(b, name, nhwc, dyt, w), true);
}

/** Conv2DBackpropFilter in either data format. */
export function conv2dBackpropFilter(b: MpsgpuBackend, name: string, info: Conv2DInfo, x: TensorInfo, dy: TensorInfo): TensorInfo {
  if (info.dataFormat === 'channelsLast') return conv2dBackpropFilterGemm(b, name, info, x, dy);
  return viaChannelsLast(b, info, [x, dy], [true, true], (nhwc, [xt, dyt]) => conv2dBackpropFilterGemm(b, name, nhwc, xt, dyt), false);
}
