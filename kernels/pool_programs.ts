// The 2-D pooling programs (NHWC): MaxPool, AvgPool, MaxPoolWithArgmax, the max positions MaxPoolGrad
// needs, and the two pooling gradients.
//
// One invocation per output pixel and group of `vec` channels: where C % 4 == 0 every load and store
// is a vec4 (4 channels of one pixel), so an invocation does a quarter of the index arithmetic and
// a quarter of the memory transactions of a scalar one; neighbouring invocations read neighbouring
// channels. The window is clamped to the image once, so the loops have no bounds tests. Pooling
// kernels never dilate (tfjs-core's tf.pool dilates through spaceToBatchND, and the kernels compute
// their geometry with dilation 1), so there is no dilation here.
//
// The gradients gather: one invocation per dx pixel (and channel group) loops over the output
// windows that cover it, computed as a range (about ⌈f/s⌉² windows, not f² taps with a divisibility
// test each).
//
// Semantics are tfjs-backend-cpu's: the first strict maximum in row-major window order wins, NaN
// never wins (an all-NaN or all -inf float window gives -inf and no position); an int32 window's
// first pixel always wins (it beats the CPU's -Infinity start); an empty window (all padding) gives
// -inf (float max), 0 (int32 max, the CPU's -Infinity stored in an Int32Array) or NaN (average).
import {Program} from '../src/codegen/program.js';
import {ShaderSpec, sizeOf, Uniform, WgslScalar} from '../src/codegen/shader.js';

import {Conv2DInfo, intUniforms, logicalStrides, program, WORKGROUP} from './conv_common.js';

/**
 * 'max' / 'avg': pooled values; 'argmax': values and flattened argmax indices (two outputs);
 * 'positions': the in-image pixel index (row * inW + col) of each window's maximum, -1 if none.
 */
export type PoolMode = 'max'|'avg'|'argmax'|'positions';

/** Channels per invocation: 4 (vec4 loads and stores) where the channel count allows. */
export function poolVecWidth(channels: number): 1|4 {
  return channels % 4 === 0 ? 4 : 1;
}

const INT_MIN = 'i32(-2147483647 - 1)';

function vecType(t: WgslScalar|'bool', vec: number): string {
  return vec === 4 ? `vec4<${t}>` : t;
}

function geometry(info: Conv2DInfo, vec: number): Uniform[] {
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) {
    throw new Error(`mpsgpu: pooling programs take no dilation (got ${info.dilationHeight}x${info.dilationWidth})`);
  }
  return intUniforms({
    inH: info.inHeight, inW: info.inWidth, Cv: info.inChannels / vec, outH: info.outHeight, outW: info.outWidth,
    sH: info.strideHeight, sW: info.strideWidth, effH: info.effectiveFilterHeight, effW: info.effectiveFilterWidth,
    padTop: info.padInfo.top, padLeft: info.padInfo.left,
  });
}

/**
 * WGSL looping over the in-image pixels (xr, xc) of the window with corner (rC, cC) in batch b,
 * channel group d, the value in `v`.
 */
function windowLoop(body: string): string {
  return `let rMin = max(rC, 0);
  let rMax = min(rC + u.effH, u.inH);
  let cMin = max(cC, 0);
  let cMax = min(cC + u.effW, u.inW);
  for (var xr = rMin; xr < rMax; xr = xr + 1) {
    let rowBase = ((b * u.inH + xr) * u.inW) * u.Cv + d;
    for (var xc = cMin; xc < cMax; xc = xc + 1) {
      let v = x[rowBase + xc * u.Cv];
      ${body}
    }
  }`;
}

/**
 * WGSL declaring `best` and `pos` and the loop body keeping the first strict maximum and its
 * position `pixel` (an i32 expression); float: NaN never wins; int: the first pixel always wins.
 */
function argmaxParts(s: WgslScalar, vec: number, pixel: string): [string, string] {
  const T = vecType(s, vec), I = vecType('i32', vec), B = vecType('bool', vec);
  const isInt = s === 'i32';
  const wins = isInt ? `(v > best) | (pos < ${I}(0))` : 'v > best';
  return [`var best = ${T}(${isInt ? INT_MIN : '-infF32()'});
  var pos = ${I}(-1);`, `let win: ${B} = ${wins};
      best = select(best, v, win);
      pos = select(pos, ${I}(${pixel}), win);`];
}

/** WGSL splitting flatId into (b, r, c, d) over rows `h`, cols `w` and `u.Cv` channel groups. */
function splitIndex(h: string, w: string): string {
  return `var t = i32(flatId);
  let d = t % u.Cv; t = t / u.Cv;
  let c = t % ${w}; t = t / ${w};
  let r = t % ${h}; let b = t / ${h};`;
}

/**
 * Forward pooling. Inputs: x (float32, or int32 for every mode but 'avg'). Outputs: y ('max',
 * 'avg'), y and idx ('argmax'), idx ('positions').
 */
export function poolForwardProgram(name: string, info: Conv2DInfo, mode: PoolMode, isInt: boolean, includeBatchInIndex = false): Program {
  const vec = poolVecWidth(info.inChannels);
  const size = sizeOf(info.outShape) / vec;
  const uniforms = [...geometry(info, vec), ...intUniforms({C: info.inChannels, includeBatch: includeBatchInIndex ? 1 : 0})];
  const key = `pool2d|${mode}|${isInt ? 'i32' : 'f32'}|v${vec}`;
  const s: WgslScalar = isInt ? 'i32' : 'f32';
  const T = vecType(s, vec);
  let init: string, update: string, store: string;
  if (mode === 'avg') {
    init = `var sum = ${T}(0.0);`;
    update = 'sum = sum + v;';
    // The count of in-bounds pixels; none: 0 / 0 as the CPU computes it.
    store = `let count = max(rMax - rMin, 0) * max(cMax - cMin, 0);
  y[flatId] = select(sum / f32(count), ${T}(nanF32()), count == 0);`;
  } else if (mode === 'max') {
    // float: strict '>' keeps NaN out; int: max() from INT_MIN, 0 for an empty window.
    init = `var best = ${T}(${isInt ? INT_MIN : '-infF32()'});`;
    update = isInt ? 'best = max(best, v);' : 'best = select(best, v, v > best);';
    store = isInt ? `y[flatId] = select(best, ${T}(0), rMin >= rMax || cMin >= cMax);` : 'y[flatId] = best;';
  } else {
    // Pixel indices: the MaxPoolWithArgmax index without its channel part, or the in-image one.
    [init, update] = argmaxParts(s, vec, mode === 'argmax' ? '(bIdx + xr) * u.inW + xc' : 'xr * u.inW + xc');
    const I = vecType('i32', vec);
    const lanes = vec === 4 ? ' + vec4<i32>(0, 1, 2, 3)' : '';
    const index = `select(pos * u.C + d * ${vec}${lanes}, ${I}(-1), pos < ${I}(0))`;
    store = mode === 'positions' ? 'idx[flatId] = pos;' : `y[flatId] = best;\n  idx[flatId] = ${index};`;
  }
  const outputs = mode === 'positions' ? [{name: 'idx', type: 'i32' as const, vec4: vec === 4}]
    : mode === 'argmax' ? [{name: 'y', type: s, vec4: vec === 4}, {name: 'idx', type: 'i32' as const, vec4: vec === 4}]
    : [{name: 'y', type: s, vec4: vec === 4}];
  const shader = (): ShaderSpec => ({
    inputs: [{name: 'x', type: s, vec4: vec === 4}],
    outputs,
    workgroupSize: [WORKGROUP, 1, 1],
    body: `
  if (flatId >= u.size) { return; }
  ${splitIndex('u.outH', 'u.outW')}
  let rC = r * u.sH - u.padTop;
  let cC = c * u.sW - u.padLeft;
  let bIdx = select(0, b * u.inH, u.includeBatch != 0);
  ${init}
  ${windowLoop(update)}
  ${store}`,
  });
  return program(name, key, shader, size, uniforms);
}

/**
 * Pooling gradients, one invocation per dx pixel and channel group gathering the dy of the windows
 * that cover it. 'max': inputs dy, positions (poolForwardProgram 'positions' over the same info);
 * dy flows where the window's maximum is this pixel. 'avg': input dy; the sum is scaled by
 * 1 / (filterHeight * filterWidth), padding included, as tfjs-backend-cpu does.
 * (Finding each covering window's maximum here instead, in one dispatch with no positions tensor,
 * measured on lavapipe: 3× slower for 3×3 windows of stride 2, 1.4× slower for 2×2 of stride 2,
 * no faster for a 1365-element input.)
 */
export function poolGradProgram(name: string, info: Conv2DInfo, mode: 'max'|'avg', dy: {shape: number[]}): Program {
  const vec = poolVecWidth(info.inChannels);
  const size = sizeOf(info.inShape) / vec;
  // dy may be larger than the output geometry (the CPU backend reads it with its own strides).
  // Its channel count is C (assertDyCovers), so its strides are whole channel groups.
  const [dySB, dySR, dySC] = logicalStrides(dy.shape, true).map(v => v / vec);
  const uniforms: Uniform[] = [
    ...geometry(info, vec),
    ...intUniforms({dySB, dySR, dySC}),
    {name: 'avgMul', type: 'f32', value: 1 / (info.filterHeight * info.filterWidth)},
  ];
  const key = `pool2dgrad|${mode}|v${vec}`;
  const T = vecType('f32', vec), I = vecType('i32', vec);
  const tap = mode === 'max'
    ? `let p = pos[((b * u.outH + yr) * u.outW + yc) * u.Cv + d];
      acc = acc + select(${T}(0.0), dy[dyRow + yc * u.dySC], p == ${I}(here));`
    : 'acc = acc + dy[dyRow + yc * u.dySC];';
  const v4 = vec === 4;
  const shader = (): ShaderSpec => ({
    inputs: [{name: 'dy', type: 'f32', vec4: v4}, ...(mode === 'max' ? [{name: 'pos', type: 'i32' as const, vec4: v4}] : [])],
    outputs: [{name: 'dx', type: 'f32', vec4: v4}],
    workgroupSize: [WORKGROUP, 1, 1],
    body: `
  if (flatId >= u.size) { return; }
  ${splitIndex('u.inH', 'u.inW')}
  // Windows yr with yr * sH - padTop <= r < yr * sH - padTop + effH (likewise columns). A negative
  // numerator truncates towards zero, to at most 0, which the max() makes 0 as a ceiling would.
  let yrLo = max((r + u.padTop - u.effH + u.sH) / u.sH, 0);
  let yrHi = min((r + u.padTop) / u.sH, u.outH - 1);
  let ycLo = max((c + u.padLeft - u.effW + u.sW) / u.sW, 0);
  let ycHi = min((c + u.padLeft) / u.sW, u.outW - 1);
  let here = r * u.inW + c;
  var acc = ${T}(0.0);
  for (var yr = yrLo; yr <= yrHi; yr = yr + 1) {
    let dyRow = b * u.dySB + yr * u.dySR + d;
    for (var yc = ycLo; yc <= ycHi; yc = yc + 1) {
      ${tap}
    }
  }
  dx[flatId] = ${mode === 'avg' ? 'acc * u.avgMul' : 'acc'};`,
  });
  return program(name, key, shader, size, uniforms);
}
