// The 2-D pooling programs (NHWC): MaxPool, AvgPool, MaxPoolWithArgmax, the max positions MaxPoolGrad
// needs, and the two pooling gradients.
//
// One invocation per COLS neighbouring output pixels of a row and group of `vec` channels: where
// C % 4 == 0 every load and store is a vec4 (4 channels of one pixel), so an invocation does a
// quarter of the index arithmetic and a quarter of the memory transactions of a scalar one;
// neighbouring invocations read neighbouring channels. The pixels of an invocation share the
// splitting of its index, whose integer divisions are most of a small pooling kernel's time on
// lavapipe (it scalarizes them). Each window is clamped to the image once, so the loops have no
// bounds tests. Pooling kernels never dilate (tfjs-core's tf.pool dilates through spaceToBatchND,
// and the kernels compute their geometry with dilation 1), so there is no dilation here.
//
// The gradients gather: an invocation loops over the output windows that cover any of its dx
// pixels, computed as a range (about ⌈f/s⌉ rows of ⌈(f + COLS - 1)/s⌉ windows, not f² taps with a
// divisibility test each), loads each window's dy once and adds it to the pixels it covers.
//
// Semantics are tfjs-backend-cpu's: the first strict maximum in row-major window order wins, NaN
// never wins (an all-NaN or all -inf float window gives -inf and no position); an int32 window's
// first pixel always wins (it beats the CPU's -Infinity start); an empty window (all padding) gives
// -inf (float max), 0 (int32 max, the CPU's -Infinity stored in an Int32Array) or NaN (average).
import {emitExpr, Expr, exprKey as exprKeyOf, LANES} from '../src/codegen/elementwise.js';
import {EpilogueHook, EpilogueLoad, Program} from '../src/codegen/program.js';
import {BufferDecl, ShaderSpec, Uniform, WgslScalar} from '../src/codegen/shader.js';

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

/** Output pixels of a row per invocation (dx pixels for the gradients). */
const COLS = 4;

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

/**
 * WGSL splitting flatId into i32 coordinates: row-major over `inner` ([name, extent], outermost
 * first) and whatever is left in `outer`. One u32 division per inner dimension, the remainder as
 * t - q·n: an i32 `/` or `%` is a guarded division each after Tint's polyfills.
 */
function splitFlat(outer: string, inner: Array<[string, string]>): string {
  const lines = ['var t = flatId;'];
  for (const [name, n] of [...inner].reverse()) {
    lines.push(`let ${name}Q = t / u32(${n}); let ${name} = i32(t - ${name}Q * u32(${n})); t = ${name}Q;`);
  }
  lines.push(`let ${outer} = i32(t);`);
  return lines.join('\n  ');
}

/**
 * An elementwise reader of a float pooling output applied before the store (fusion: see
 * src/fusion/epilogues.ts): input(0) is the pooled value, input(j ≥ 1) reads `inputs[j - 1]` at the
 * output's own element ('same'), its channel ('channel') or index 0 ('scalar').
 */
export interface PoolEpilogue {
  expr: Expr;
  outType: WgslScalar;
  inputs: Array<{type: WgslScalar; load: EpilogueLoad}>;
  uniforms: Uniform[];
}


/** How a store applies an epilogue: its bindings, key part, helpers, and the stored expression. */
interface EpilogueStore {
  inputs: BufferDecl[];
  key: string;
  declarations: string;
  uniforms: Uniform[];
  outType: WgslScalar;
  /** Statements, then `out[index] = f(value)`; `channel` is the channel group's index. */
  store: (out: string, index: string, value: string, channel: string) => string;
}

function epilogueStore(epi: PoolEpilogue|undefined, vec: number, valueType: WgslScalar): EpilogueStore {
  if (!epi) {
    return {inputs: [], key: '', declarations: '', uniforms: [], outType: valueType, store: (out, index, value) => `${out}[${index}] = ${value};`};
  }
  const helpers = new Map<string, string>();
  // A scalar input is one element; the others are vec4 arrays where the program is.
  const wide = (j: number) => vec === 4 && epi.inputs[j].load !== 'scalar';
  const store = (out: string, index: string, value: string, channel: string) => {
    const stmts: string[] = [`let pv = ${value};`];
    const at = (j: number) => {
      const load = epi.inputs[j].load;
      return load === 'same' ? index : load === 'channel' ? channel : '0';
    };
    epi.inputs.forEach((_, j) => stmts.push(`let e${j} = epi${j}[${at(j)}];`));
    const lanes = (vec === 4 ? LANES : ['']).map(lane => {
      const pick = (v: string) => (lane ? `${v}.${lane}` : v);
      return emitExpr(epi.expr, k => (k === 0 ? pick('pv') : wide(k - 1) ? pick(`e${k - 1}`) : `e${k - 1}`), helpers, stmts, new Map());
    });
    const result = vec === 4 ? `vec4<${epi.outType}>(${lanes.join(', ')})` : lanes[0];
    return `{ ${stmts.join(' ')} ${out}[${index}] = ${result}; }`;
  };
  // Generating once fills `helpers`.
  store('o', 'i', 'v', 'c');
  return {
    inputs: epi.inputs.map((inp, j) => ({name: `epi${j}`, type: inp.type, vec4: wide(j)})),
    key: `|epi:${exprKeyOf(epi.expr)}:${epi.outType}:${epi.inputs.map(i => i.type + i.load).join(',')}:${epi.uniforms.map(u => u.name).join(',')}`,
    declarations: [...helpers.values()].join('\n'),
    uniforms: epi.uniforms,
    outType: epi.outType,
    store,
  };
}

/**
 * The hook through which fusion applies an elementwise reader of a pooling program's float output
 * in its store: `build(epilogue)` is the same program with it. `buffers`: what the program binds.
 */
export function poolEpilogueHook(program: Program, channels: number, buffers: number, build: (epi: PoolEpilogue) => Program): Program {
  const hook: EpilogueHook = {n: channels, buffers, withEpilogue: e => build(e)};
  return {...program, epilogue: hook};
}

/**
 * Forward pooling. Inputs: x (float32, or int32 for every mode but 'avg'). Outputs: y ('max',
 * 'avg'), y and idx ('argmax'), idx ('positions').
 */
export function poolForwardProgram(name: string, info: Conv2DInfo, mode: PoolMode, isInt: boolean, includeBatchInIndex = false,
                                   epi?: PoolEpilogue): Program {
  const vec = poolVecWidth(info.inChannels);
  const blocks = Math.ceil(info.outWidth / COLS);
  const size = info.batchSize * info.outHeight * blocks * info.inChannels / vec;
  const s: WgslScalar = isInt ? 'i32' : 'f32';
  if (epi && (mode === 'argmax' || mode === 'positions' || isInt)) throw new Error(`mpsgpu internal error: ${name} takes no epilogue in mode ${mode}`);
  const e = epilogueStore(epi, vec, s);
  const uniforms = [...geometry(info, vec), ...intUniforms({C: info.inChannels, includeBatch: includeBatchInIndex ? 1 : 0, blocks}), ...e.uniforms];
  const key = `pool2d|${mode}|${isInt ? 'i32' : 'f32'}|v${vec}|c${COLS}${e.key}`;
  const shader = (): ShaderSpec => {
    const T = vecType(s, vec);
    let init: string, update: string, store: string;
    if (mode === 'avg') {
      init = `var sum = ${T}(0.0);`;
      update = 'sum = sum + v;';
      // The count of in-bounds pixels; none: 0 / 0 as the CPU computes it.
      store = `let count = max(rMax - rMin, 0) * max(cMax - cMin, 0);
    ${e.store('y', 'o', `select(sum / f32(count), ${T}(nanF32()), count == 0)`, 'd')}`;
    } else if (mode === 'max') {
      // float: strict '>' keeps NaN out; int: max() from INT_MIN, 0 for an empty window.
      init = `var best = ${T}(${isInt ? INT_MIN : '-infF32()'});`;
      update = isInt ? 'best = max(best, v);' : 'best = select(best, v, v > best);';
      store = isInt ? `y[o] = select(best, ${T}(0), rMin >= rMax || cMin >= cMax);` : e.store('y', 'o', 'best', 'd');
    } else {
      // Pixel indices: the MaxPoolWithArgmax index without its channel part, or the in-image one.
      [init, update] = argmaxParts(s, vec, mode === 'argmax' ? '(bIdx + xr) * u.inW + xc' : 'xr * u.inW + xc');
      const I = vecType('i32', vec);
      const lanes = vec === 4 ? ' + vec4<i32>(0, 1, 2, 3)' : '';
      const index = `select(pos * u.C + d * ${vec}${lanes}, ${I}(-1), pos < ${I}(0))`;
      store = mode === 'positions' ? 'idx[o] = pos;' : `y[o] = best;\n    idx[o] = ${index};`;
    }
    const outputs = mode === 'positions' ? [{name: 'idx', type: 'i32' as const, vec4: vec === 4}]
      : mode === 'argmax' ? [{name: 'y', type: s, vec4: vec === 4}, {name: 'idx', type: 'i32' as const, vec4: vec === 4}]
      : [{name: 'y', type: e.outType, vec4: vec === 4}];
    return {
      inputs: [{name: 'x', type: s, vec4: vec === 4}, ...e.inputs],
      outputs,
      workgroupSize: [WORKGROUP, 1, 1],
      declarations: e.declarations,
      body: `
  if (flatId >= u.size) { return; }
  ${splitFlat('b', [['r', 'u.outH'], ['block', 'u.blocks'], ['d', 'u.Cv']])}
  let rC = r * u.sH - u.padTop;
  let bIdx = select(0, b * u.inH, u.includeBatch != 0);
  let c0 = block * ${COLS};
  for (var c = c0; c < min(c0 + ${COLS}, u.outW); c = c + 1) {
    let cC = c * u.sW - u.padLeft;
    let o = ((b * u.outH + r) * u.outW + c) * u.Cv + d;
    ${init}
    ${windowLoop(update)}
    ${store}
  }`,
    };
  };
  return program(name, key, shader, size, uniforms);
}


const each = (n: number, f: (i: number) => string, sep = '\n  ') => Array.from({length: n}, (_, i) => f(i)).join(sep);

/**
 * Pooling gradients, one invocation per COLS neighbouring dx pixels of a row and channel group,
 * gathering the dy of the windows that cover them. 'max': inputs dy, positions (poolForwardProgram
 * 'positions' over the same info); dy flows where the window's maximum is this pixel. 'avg': input
 * dy; the sum is scaled by 1 / (filterHeight * filterWidth), padding included, as
 * tfjs-backend-cpu does.
 * The pixels share the index arithmetic and each dy (and position) load: the loop visits the
 * windows covering any of them, and each pixel adds what covers it. On lavapipe, against one pixel
 * per invocation (and i32 index splitting): AvgPoolGrad [3,7,13,5] 3×3/2 1.4-1.7× as fast, its
 * [32,56,56,64] and MaxPoolGrad's about 2× and 1.5×.
 * 'maxInline': inputs dy, x (float32); finds each covering window's maximum here (the same loop and
 * rule as the positions pass), in one dispatch with no positions tensor. It reads about ⌈f/s⌉²·f²
 * inputs per dx pixel instead of f²/s² + 2⌈f/s⌉², so it is for small inputs only, where the second
 * dispatch costs more than the work (see kernels/pool_grad.ts: measured on lavapipe 3× slower for
 * 3×3 windows of stride 2 on large inputs, 1.4× for 2×2 of stride 2).
 */
export function poolGradProgram(name: string, info: Conv2DInfo, mode: 'max'|'maxInline'|'avg', dy: {shape: number[]}, epi?: PoolEpilogue): Program {
  const vec = poolVecWidth(info.inChannels);
  const e = epilogueStore(epi, vec, 'f32');
  const cols = COLS;
  const blocks = Math.ceil(info.inWidth / cols);
  const size = info.batchSize * info.inHeight * blocks * info.inChannels / vec;
  // dy may be larger than the output geometry (the CPU backend reads it with its own strides).
  // Its channel count is C (assertDyCovers), so its strides are whole channel groups.
  const [dySB, dySR, dySC] = logicalStrides(dy.shape, true).map(v => v / vec);
  const uniforms: Uniform[] = [
    ...geometry(info, vec),
    ...intUniforms({dySB, dySR, dySC, blocks}),
    {name: 'avgMul', type: 'f32', value: 1 / (info.filterHeight * info.filterWidth)},
    ...e.uniforms,
  ];
  const key = `pool2dgrad|${mode}|v${vec}|c${cols}${e.key}`;
  const T = vecType('f32', vec), I = vecType('i32', vec);
  const v4 = vec === 4;
  const shader = (): ShaderSpec => {
    // Column c0 + i is in window yc (columns yc·sW - padLeft + [0, effW)) iff 0 <= k + i < effW;
    // the maximum's position is inside its window, so 'max' needs no such test.
    const [init, update] = argmaxParts('f32', vec, 'xr * u.inW + xc');
    const tap = mode === 'max'
      ? `let p = pos[posRow + yc * u.Cv];
      ${each(cols, i => `acc${i} = acc${i} + select(${T}(0.0), g, p == ${I}(here + ${i}));`, '\n      ')}`
      : mode === 'maxInline'
      ? `let cC = yc * u.sW - u.padLeft;
      ${init}
      ${windowLoop(update)}
      ${each(cols, i => `acc${i} = acc${i} + select(${T}(0.0), g, pos == ${I}(here + ${i}));`, '\n      ')}`
      : `let k = c0 + u.padLeft - yc * u.sW;
      ${each(cols, i => `acc${i} = acc${i} + select(${T}(0.0), g, k + ${i} >= 0 && k + ${i} < u.effW);`, '\n      ')}`;
    const store = (i: number) => e.store('dx', `dxBase + ${i} * u.Cv`, `acc${i}${mode === 'avg' ? ' * u.avgMul' : ''}`, 'd');
    return {
      inputs: [{name: 'dy', type: 'f32', vec4: v4}, ...(mode === 'max' ? [{name: 'pos', type: 'i32' as const, vec4: v4}] : []),
               ...(mode === 'maxInline' ? [{name: 'x', type: 'f32' as const, vec4: v4}] : []), ...e.inputs],
      outputs: [{name: 'dx', type: e.outType, vec4: v4}],
      workgroupSize: [WORKGROUP, 1, 1],
      declarations: e.declarations,
      body: `
  if (flatId >= u.size) { return; }
  ${splitFlat('b', [['r', 'u.inH'], ['block', 'u.blocks'], ['d', 'u.Cv']])}
  let c0 = block * ${cols};
  let cLast = min(c0 + ${cols - 1}, u.inW - 1);
  // Windows yr with yr * sH - padTop <= r < yr * sH - padTop + effH, and those covering any of the
  // columns likewise. A negative numerator truncates towards zero, to at most 0, which the max()
  // makes 0 as a ceiling would.
  let yrLo = max((r + u.padTop - u.effH + u.sH) / u.sH, 0);
  let yrHi = min((r + u.padTop) / u.sH, u.outH - 1);
  let ycLo = max((c0 + u.padLeft - u.effW + u.sW) / u.sW, 0);
  let ycHi = min((cLast + u.padLeft) / u.sW, u.outW - 1);
  let here = r * u.inW + c0;
  ${each(cols, i => `var acc${i} = ${T}(0.0);`)}
  for (var yr = yrLo; yr <= yrHi; yr = yr + 1) {
    let dyRow = b * u.dySB + yr * u.dySR + d;${mode === 'max' ? `
    let posRow = ((b * u.outH + yr) * u.outW) * u.Cv + d;` : mode === 'maxInline' ? `
    let rC = yr * u.sH - u.padTop;` : ''}
    for (var yc = ycLo; yc <= ycHi; yc = yc + 1) {
      let g = dy[dyRow + yc * u.dySC];
      ${tap}
    }
  }
  let dxBase = ((b * u.inH + r) * u.inW + c0) * u.Cv + d;
  ${store(0)}
  ${each(cols - 1, j => `if (c0 + ${j + 1} < u.inW) { ${store(j + 1)} }`)}`,
    };
  };
  return program(name, key, shader, size, uniforms);
}
