// A direct convolution for CPU adapters (lavapipe): each invocation computes 4 output channels of
// COLS neighbouring output pixels of one row, looping over the filter taps and, inside a tap, over
// the input channels 4 at a time. A tap whose input row lies outside the image is skipped as a
// whole, and so is one whose columns all do (the implicit GEMM multiplies those zeros: 21–28% of
// the multiply-adds of a stride-1 input gradient over a 7×1 filter or a valid 3×3 one). Channel
// offsets advance by addition, so a multiply-add costs no index arithmetic. No workgroup memory,
// no barriers: on a CPU adapter each invocation is a SIMD lane and the caches do the staging.
//
// On CPU adapters it serves the stride-1 input gradient (the forward convolution of dy with the
// flipped filter, read in place) and forward convolutions with no more output than input channels,
// where it measured faster than the GEMM on lavapipe (BENCHMARKS.md; kernels/conv_gemm.ts decides).
import {Program} from '../src/codegen/program.js';
import {dispatch1D, ShaderSpec} from '../src/codegen/shader.js';

import {Conv2DInfo, Epilogue, epilogueCode, epilogueKey, epilogueUniforms, intUniforms} from './conv_common.js';

/** Output pixels per invocation (along the row). */
const COLS = 4;

/** Whether the direct program can compute this convolution (4-aligned channels, float32 only). */
export function directConvApplies(info: Conv2DInfo): boolean {
  return info.inChannels % 4 === 0 && info.outChannels % 4 === 0;
}

/**
 * y = conv(x, w) in NHWC. `flipped`: w is the filter of the convolution this one is the input
 * gradient of, [fH, fW, outC, inC] of `info`'s channels, read at the mirrored tap and transposed
 * (each output channel's 4 weights of 4 input channels are one vec4 then: a dot product).
 */
export function directConvProgram(name: string, info: Conv2DInfo, flipped: boolean, epilogue?: Epilogue): Program {
  const colBlocks = Math.ceil(info.outWidth / COLS);
  const count = info.batchSize * info.outHeight * colBlocks * (info.outChannels / 4);
  const uniforms = intUniforms({
    inH: info.inHeight, inW: info.inWidth, inC4: info.inChannels / 4, outH: info.outHeight, outW: info.outWidth,
    outC4: info.outChannels / 4, fH: info.filterHeight, fW: info.filterWidth, sH: info.strideHeight, sW: info.strideWidth,
    dH: info.dilationHeight, dW: info.dilationWidth, padT: info.padInfo.top, padL: info.padInfo.left, colBlocks, count,
  }).concat(epilogueUniforms(epilogue, info.outShape, true));
  const cols = Array.from({length: COLS}, (_, j) => j);
  // Forward filter w[kr, kc, d, o]: vec4 over 4 output channels per input channel (4 rows a step).
  // Flipped: w[fH−1−kr, fW−1−kc, o, d]: vec4 over 4 input channels per output channel.
  const filterBase = flipped
    ? '((u.fH - 1 - kr) * u.fW + (u.fW - 1 - kc)) * u.outC4 * 4 * u.inC4 + o4 * 4 * u.inC4'
    : '(kr * u.fW + kc) * u.inC4 * 4 * u.outC4 + o4';
  const filterStep = flipped ? '1' : '4 * u.outC4';
  const w4 = (p: number) => (flipped ? `w[wi + ${p} * u.inC4]` : `w[wi + ${p} * u.outC4]`);
  const madd = (j: number) => (flipped
    ? `acc${j} = acc${j} + vec4<f32>(dot(x${j}, w0), dot(x${j}, w1), dot(x${j}, w2), dot(x${j}, w3));`
    : `acc${j} = fma(vec4<f32>(x${j}.x), w0, fma(vec4<f32>(x${j}.y), w1, fma(vec4<f32>(x${j}.z), w2, fma(vec4<f32>(x${j}.w), w3, acc${j}))));`);
  // The epilogue (bias, activation, prelu) is scalar code over (b, r, c, d, acc): per component.
  const [epiDecls, epiStmts, epiResult] = epilogueCode(epilogue);
  const store = (j: number) => (!epilogue ? `acc${j}`
    : `vec4<f32>(${[0, 1, 2, 3].map(q => `epi(acc${j}[${q}], bt, r, c0 + ${j}, o4 * 4 + ${q})`).join(', ')})`);
  const inputs = [{name: 'x', type: 'f32' as const, vec4: true}, {name: 'w', type: 'f32' as const, vec4: true}];
  if (epilogue?.bias) inputs.push({name: 'bias', type: 'f32', vec4: false});
  if (epilogue?.activation === 'prelu') inputs.push({name: 'prelu', type: 'f32', vec4: false});
  const shader = (): ShaderSpec => ({
    inputs,
    outputs: [{name: 'y', type: 'f32', vec4: true}],
    workgroupSize: [64, 1, 1],
    declarations: epilogue ? `${epiDecls}
fn epi(acc: f32, b: i32, r: i32, c: i32, d: i32) -> f32 {
  ${epiStmts}
  return ${epiResult};
}` : '',
    body: `
  let i = i32(flatId);
  if (i >= u.count) { return; }
  let o4 = i % u.outC4;
  var rest = i / u.outC4;
  let c0 = (rest % u.colBlocks) * ${COLS};
  rest = rest / u.colBlocks;
  let r = rest % u.outH;
  let bt = rest / u.outH;
  ${cols.map(j => `var acc${j} = vec4<f32>();`).join('\n  ')}
  for (var kr = 0; kr < u.fH; kr = kr + 1) {
    let ir = r * u.sH - u.padT + kr * u.dH;
    if (ir < 0 || ir >= u.inH) { continue; }
    let rowBase = (bt * u.inH + ir) * u.inW;
    for (var kc = 0; kc < u.fW; kc = kc + 1) {
      let icBase = c0 * u.sW - u.padL + kc * u.dW;
      ${cols.map(j => `let ic${j} = icBase + ${j} * u.sW;
      let ok${j} = ic${j} >= 0 && ic${j} < u.inW && c0 + ${j} < u.outW;
      var xi${j} = select(0, (rowBase + ic${j}) * u.inC4, ok${j});`).join('\n      ')}
      if (!(${cols.map(j => `ok${j}`).join(' || ')})) { continue; }
      var wi = ${filterBase};
      for (var d4 = 0; d4 < u.inC4; d4 = d4 + 1) {
        let w0 = ${w4(0)};
        let w1 = ${w4(1)};
        let w2 = ${w4(2)};
        let w3 = ${w4(3)};
        ${cols.map(j => `let x${j} = select(vec4<f32>(), x[xi${j}], ok${j});`).join('\n        ')}
        ${cols.map(madd).join('\n        ')}
        ${cols.map(j => `xi${j} = xi${j} + 1;`).join(' ')}
        wi = wi + ${filterStep};
      }
    }
  }
  let yBase = ((bt * u.outH + r) * u.outW + c0) * u.outC4 + o4;
  ${cols.map(j => `if (c0 + ${j} < u.outW) { y[yBase + ${j} * u.outC4] = ${store(j)}; }`).join('\n  ')}`,
  });
  return {name, key: `conv2d|direct|${flipped ? 'flipped' : 'fwd'}|${epilogueKey(epilogue)}`, shader, uniforms, dispatch: dispatch1D(count, 64)};
}
