// Depthwise convolution programs (NHWC; filter [fH, fW, inC, chMul]; output channel o = d * chMul + q
// reads input channel d): forward with a fused epilogue, gradient with respect to the input (a
// gather, no zero-stuffing) and with respect to the filter (a split reduction over N·outH·outW).
//
// Every program works on V channels at a time: V = 4 (vec4 loads and stores) when chMul is 1 and
// the channel count is a multiple of 4, else V = 1 (any chMul, any channel count). The forward and
// the input gradient compute several neighbouring columns per invocation, so that the index
// arithmetic (integer divisions are scalarized on lavapipe) and the filter loads are shared by
// columns × V outputs; the forward also keeps the input columns of one filter row in registers
// (filter width, column stride and dilation then are shader constants). Everything else is in
// uniforms: a pipeline per (V, window, epilogue) serves every shape.
import {Program} from '../src/codegen/program.js';
import {BufferDecl, dispatch1D, ShaderSpec, Uniform} from '../src/codegen/shader.js';

import {Conv2DInfo, Epilogue, epilogueCode, epilogueKey, epilogueUniforms, intUniforms, program, WORKGROUP} from './conv_common.js';

/** Output columns per invocation of the forward and input-gradient programs. */
const COLS = 4;
/** Output columns per invocation of the windowed forward (the window's loads are shared by more). */
const FWD_COLS = 8;

export type Width = 1|4;

export function channelMultiplier(info: Conv2DInfo): number {
  return info.inChannels > 0 ? info.outChannels / info.inChannels : 1;
}

/** vec4 over channels when each output channel reads the input channel of the same index. */
export function vectorWidth(info: Conv2DInfo): Width {
  return channelMultiplier(info) === 1 && info.inChannels % 4 === 0 ? 4 : 1;
}

const vecType = (v: Width) => (v === 4 ? 'vec4<f32>' : 'f32');
const buf = (name: string, v: Width): BufferDecl => ({name, type: 'f32', vec4: v === 4});
const each = (f: (i: number) => string, sep = '\n  ', n = COLS) => Array.from({length: n}, (_, i) => f(i)).join(sep);

/** Geometry uniforms every program reads; channel counts in units of V. */
function geometry(info: Conv2DInfo, v: Width, dyShape?: number[]): Uniform[] {
  return intUniforms({
    inH: info.inHeight, inW: info.inWidth, inCV: info.inChannels / v,
    outH: info.outHeight, outW: info.outWidth, outCV: info.outChannels / v,
    // dy may be larger than the output window (the CPU backend reads it with its own strides).
    dyH: dyShape ? dyShape[1] : info.outHeight, dyW: dyShape ? dyShape[2] : info.outWidth,
    fH: info.filterHeight, fW: info.filterWidth, sH: info.strideHeight, sW: info.strideWidth,
    dH: info.dilationHeight, dW: info.dilationWidth, padTop: info.padInfo.top, padLeft: info.padInfo.left,
    chMul: channelMultiplier(info),
  });
}

/**
 * WGSL splitting `flatId` into (row r, batch b, first column c0, channel index cv in units of V)
 * for an NHWC tensor of `h` rows and `w` columns handled COLS columns per invocation.
 */
function unflattenCols(h: string, w: string, cv: string, cols = COLS): string {
  return `var t = i32(flatId);
  let cv = t % ${cv}; t = t / ${cv};
  let nBlocks = (${w} + ${cols - 1}) / ${cols};
  let c0 = (t % nBlocks) * ${cols}; t = t / nBlocks;
  let r = t % ${h}; let b = t / ${h};`;
}

function colsSize(n: number, h: number, w: number, channels: number, cols = COLS): number {
  return n * h * Math.ceil(w / cols) * channels;
}

// ---- forward ------------------------------------------------------------------------------------

interface Window {fW: number, sW: number, dW: number, span: number, cols: number}

/**
 * The input columns the outputs of an invocation (FWD_COLS, else COLS) read in one filter row, when
 * few enough to keep in registers: each is then loaded once instead of once per tap that reads it (fW, the
 * column stride and dilation become constants in the shader, one variant per such triple).
 */
function forwardWindow(info: Conv2DInfo): Window|null {
  const {filterWidth: fW, strideWidth: sW, dilationWidth: dW} = info;
  for (const cols of [FWD_COLS, COLS]) {
    const span = (cols - 1) * sW + (fW - 1) * dW + 1;
    if (span <= MAX_WINDOW) return {fW, sW, dW, span, cols};
  }
  return null;
}
const MAX_WINDOW = 24;

/** One filter row of the windowed forward: load the span of x once, then all fW × cols products. */
function windowTaps(win: Window, T: string): string {
  const lines: string[] = [];
  for (let j = 0; j < win.span; j++) {
    lines.push(`let xv${j} = select(${T}(), x[(xRow + cBase + ${j}) * u.inCV + xd], cBase + ${j} >= 0 && cBase + ${j} < u.inW);`);
  }
  for (let kc = 0; kc < win.fW; kc++) {
    lines.push(`let wv${kc} = w[(kr * ${win.fW} + ${kc}) * u.outCV + cv];`);
    for (let i = 0; i < win.cols; i++) lines.push(`acc${i} = fma(xv${i * win.sW + kc * win.dW}, wv${kc}, acc${i});`);
  }
  return lines.join('\n    ');
}

/** y = depthwiseConv(x, w) then the epilogue. Inputs: x, w, bias?, prelu? (forwardInputs order). */
export function depthwiseForwardProgram(name: string, info: Conv2DInfo, epilogue?: Epilogue): Program {
  const v = vectorWidth(info);
  const T = vecType(v);
  const uniforms = [...geometry(info, v), ...epilogueUniforms(epilogue, info.outShape, true)];
  const win = forwardWindow(info);
  const cols = win ? win.cols : COLS;
  const size = colsSize(info.batchSize, info.outHeight, info.outWidth, info.outChannels / v, cols);
  const key = `dwconv|fwd|v${v}|c${cols}|${win ? `w${win.fW}.${win.sW}.${win.dW}` : 'any'}|${epilogueKey(epilogue)}`;
  const shader = (): ShaderSpec => {
    const [decls, stmts, result] = epilogueCode(epilogue);
    const inputs = [buf('x', v), buf('w', v)];
    if (epilogue?.bias) inputs.push(buf('bias', 1));
    if (epilogue?.activation === 'prelu') inputs.push(buf('prelu', 1));
    // The epilogue is scalar code over (b, r, c, d, acc): apply it per component.
    const epi = epilogue ? `${decls}
fn epi(acc: f32, b: i32, r: i32, c: i32, d: i32) -> f32 {
  ${stmts}
  return ${result};
}` : '';
    const store = (i: number) => {
      const value = !epilogue ? `acc${i}` : v === 1 ? `epi(acc${i}, b, r, c0 + ${i}, cv)`
        : `vec4<f32>(${[0, 1, 2, 3].map(k => `epi(acc${i}[${k}], b, r, c0 + ${i}, cv * 4 + ${k})`).join(', ')})`;
      return `if (c0 + ${i} < u.outW) { y[yRow + ${i} * u.outCV] = ${value}; }`;
    };
    return {
      inputs,
      outputs: [buf('y', v)],
      workgroupSize: [WORKGROUP, 1, 1],
      declarations: epi,
      body: `
  if (flatId >= u.size) { return; }
  ${unflattenCols('u.outH', 'u.outW', 'u.outCV', cols)}
  let xd = ${v === 4 ? 'cv' : 'cv / u.chMul'};
  let rBase = r * u.sH - u.padTop;
  let cBase = c0 * u.sW - u.padLeft;
  ${each(i => `var acc${i} = ${T}();`, '\n  ', cols)}
  for (var kr = 0; kr < u.fH; kr = kr + 1) {
    let xr = rBase + kr * u.dH;
    if (xr < 0 || xr >= u.inH) { continue; }
    let xRow = (b * u.inH + xr) * u.inW;
    ${win ? windowTaps(win, T) : `for (var kc = 0; kc < u.fW; kc = kc + 1) {
      let wv = w[(kr * u.fW + kc) * u.outCV + cv];
      let xc = cBase + kc * u.dW;
      ${each(i => `if (xc + ${i} * u.sW >= 0 && xc + ${i} * u.sW < u.inW) { acc${i} = fma(x[(xRow + xc + ${i} * u.sW) * u.inCV + xd], wv, acc${i}); }`, '\n      ')}
    }`}
  }
  let yRow = ((b * u.outH + r) * u.outW + c0) * u.outCV + cv;
  ${each(store, '\n  ', cols)}`,
    };
  };
  return program(name, key, shader, size, uniforms);
}

// ---- gradient with respect to the input ---------------------------------------------------------

/** dx[b, r, c, d] = Σ over the dy positions whose window covers (r, c) of dy · w. Inputs: dy, w. */
export function depthwiseBackpropInputProgram(name: string, info: Conv2DInfo, dyShape: number[]): Program {
  const v = vectorWidth(info);
  const T = vecType(v);
  const uniforms = geometry(info, v, dyShape);
  const size = colsSize(info.batchSize, info.inHeight, info.inWidth, info.inChannels / v);
  const key = `dwconv|dx|v${v}|c${COLS}`;
  // V = 4 implies chMul = 1; V = 1 sums over the multiplier.
  const tap = (i: number) => v === 4
    ? `acc${i} = fma(dy[dyRow + yc${i} * u.outCV + cv], wv, acc${i});`
    : `for (var q = 0; q < u.chMul; q = q + 1) {
          acc${i} = fma(dy[dyRow + yc${i} * u.outCV + cv * u.chMul + q], w[wTap + q], acc${i});
        }`;
  const shader = (): ShaderSpec => ({
    inputs: [buf('dy', v), buf('w', v)],
    outputs: [buf('dx', v)],
    workgroupSize: [WORKGROUP, 1, 1],
    body: `
  if (flatId >= u.size) { return; }
  ${unflattenCols('u.inH', 'u.inW', 'u.inCV')}
  // Column quotients by a float division: exact for multiples of sW (the only ones kept, checked
  // by multiplying back), and vectorized on lavapipe, where an integer division is not.
  let sWf = f32(u.sW);
  ${each(i => `var acc${i} = ${T}();`)}
  for (var kr = 0; kr < u.fH; kr = kr + 1) {
    let tr = r + u.padTop - kr * u.dH;
    if (tr < 0 || tr % u.sH != 0) { continue; }
    let yr = tr / u.sH;
    if (yr >= u.outH) { continue; }
    let dyRow = (b * u.dyH + yr) * u.dyW * u.outCV;
    for (var kc = 0; kc < u.fW; kc = kc + 1) {
      ${v === 4 ? 'let wv = w[(kr * u.fW + kc) * u.inCV + cv];' : 'let wTap = ((kr * u.fW + kc) * u.inCV + cv) * u.chMul;'}
      let tc = c0 + u.padLeft - kc * u.dW;
      ${each(i => `let tc${i} = tc + ${i};
      let yc${i} = i32(f32(tc${i}) / sWf);
      if (tc${i} >= 0 && yc${i} * u.sW == tc${i} && yc${i} < u.outW) {
        ${tap(i)}
      }`, '\n      ')}
    }
  }
  let xRow = ((b * u.inH + r) * u.inW + c0) * u.inCV + cv;
  ${each(i => `if (c0 + ${i} < u.inW) { dx[xRow + ${i} * u.inCV] = acc${i}; }`)}`,
  });
  return program(name, key, shader, size, uniforms);
}

// ---- gradient with respect to the filter --------------------------------------------------------

/**
 * How many chunks the N·outH rows of dy are split into for the filter gradient: enough invocations
 * to fill a GPU (taps × channels is often only a few hundred), each still looping over at least
 * a few hundred positions so the second pass (summing the chunks) stays small.
 */
export function filterGradChunks(info: Conv2DInfo): {chunks: number, rowsPerChunk: number} {
  const v = vectorWidth(info);
  const perChunk = info.filterHeight * info.filterWidth * info.outChannels / v;
  const rows = info.batchSize * info.outHeight;
  const TARGET_INVOCATIONS = 16384, MIN_POSITIONS = 256;
  let chunks = Math.ceil(TARGET_INVOCATIONS / Math.max(1, perChunk));
  chunks = Math.min(chunks, Math.ceil(rows * info.outWidth / MIN_POSITIONS), rows);
  chunks = Math.max(1, chunks);
  const rowsPerChunk = Math.max(1, Math.ceil(rows / chunks));
  return {chunks: Math.max(1, Math.ceil(rows / rowsPerChunk)), rowsPerChunk};
}

/**
 * First pass of dw: partial[chunk, kr, kc, d, q] = Σ over the dy rows of `chunk` (rows of the
 * flattened N·outH) of x · dy. With one chunk this is dw itself. Inputs: x, dy.
 */
export function depthwiseFilterPartialProgram(name: string, info: Conv2DInfo, dyShape: number[], chunks: number,
                                              rowsPerChunk: number): Program {
  const v = vectorWidth(info);
  const T = vecType(v);
  const uniforms = [...geometry(info, v, dyShape), ...intUniforms({rows: info.batchSize * info.outHeight, rowsPerChunk})];
  const size = chunks * info.filterHeight * info.filterWidth * info.outChannels / v;
  const key = `dwconv|dw1|v${v}`;
  const shader = (): ShaderSpec => ({
    inputs: [buf('x', v), buf('dy', v)],
    outputs: [buf('partial', v)],
    workgroupSize: [WORKGROUP, 1, 1],
    // Neighbouring invocations take neighbouring channels of one tap: coalesced loads.
    body: `
  if (flatId >= u.size) { return; }
  var t = i32(flatId);
  let ov = t % u.outCV; t = t / u.outCV;
  let kc = t % u.fW; t = t / u.fW;
  let kr = t % u.fH; let chunk = t / u.fH;
  let xd = ${v === 4 ? 'ov' : 'ov / u.chMul'};
  // Output columns whose tap kc falls inside the input: xc = yc * sW + off in [0, inW).
  let off = kc * u.dW - u.padLeft;
  let ycLo = select(0, (-off + u.sW - 1) / u.sW, off < 0);
  let ycHi = select(0, min(u.outW, (u.inW - 1 - off) / u.sW + 1), u.inW - 1 - off >= 0);
  let rowEnd = min(u.rows, (chunk + 1) * u.rowsPerChunk);
  var acc = ${T}();
  for (var row = chunk * u.rowsPerChunk; row < rowEnd; row = row + 1) {
    let b = row / u.outH;
    let yr = row - b * u.outH;
    let xr = yr * u.sH - u.padTop + kr * u.dH;
    if (xr < 0 || xr >= u.inH) { continue; }
    let xRow = (b * u.inH + xr) * u.inW;
    let dyRow = (b * u.dyH + yr) * u.dyW;
    for (var yc = ycLo; yc < ycHi; yc = yc + 1) {
      acc = fma(x[(xRow + yc * u.sW + off) * u.inCV + xd], dy[(dyRow + yc) * u.outCV + ov], acc);
    }
  }
  partial[flatId] = acc;`,
  });
  return program(name, key, shader, size, uniforms);
}

/** Second pass of dw: out[i] = Σ over chunks of partial[chunk, i]. Input: partial. */
export function sumChunksProgram(name: string, filterSize: number, chunks: number, v: Width): Program {
  const size = filterSize / v;
  const key = `dwconv|dw2|v${v}`;
  const shader = (): ShaderSpec => ({
    inputs: [buf('partial', v)],
    outputs: [buf('dw', v)],
    workgroupSize: [WORKGROUP, 1, 1],
    body: `
  if (flatId >= u.size) { return; }
  var acc = ${vecType(v)}();
  for (var k = 0; k < u.chunks; k = k + 1) {
    acc = acc + partial[k * i32(u.size) + i32(flatId)];
  }
  dw[flatId] = acc;`,
  });
  return {name, key, shader, uniforms: [{name: 'size', type: 'u32', value: size}, {name: 'chunks', type: 'i32', value: chunks}],
          dispatch: dispatch1D(size, WORKGROUP)};
}
