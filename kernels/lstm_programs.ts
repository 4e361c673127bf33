// WGSL builders of the fused LSTM (kernels/LSTM.ts): the forward and the backward recurrence, each
// one repeated program (Program.repeat): one graph node, one dispatch per step in order on the same
// bindings, the counter uniform telling the iteration; each iteration reads what the one before
// wrote in the program's outputs (bound read_write, dispatches ordered by WebGPU).
//
// Each step is a small GEMM with the gate math as its epilogue. A workgroup of TJ × WY invocations
// owns TJ units (columns j) and TB = RB·WY batch rows; invocation (x, y) accumulates rows
// y + r·WY (r < RB) of column j for each of the G gate columns (forward: G = 4, the columns
// j + q·U of h·U; backward: G = 1, dz·Uᵀ). Per KC-long step of the reduction the workgroup stages
// the A block (TB × KC) and the B block (KC × G·TJ) in workgroup memory; then each invocation runs
// the epilogue for its (b, j), which reads everything else it needs straight from the buffers.
//
// The records (the forward pass's one output, [B, T+1, 6U]): entry 0 the initial state, entry s + 1
// the record of processing step s: per batch row the activated gates i, f, g = act(z_c), o (4U),
// then c and h (U each). It is all the backward pass needs. Entries for masked steps hold zero gates
// and the carried-over c and h.
//
// Per-step values (step, time index, whether it is the first or last) are computed in WGSL from the
// counter and the uniforms T and back (goBackwards: time index t = T-1-s), so the key (the WGSL)
// does not depend on them.
import {Expr, emitExpr, op} from '../src/codegen/elementwise.js';
import {Program} from '../src/codegen/program.js';
import {ShaderSpec, Uniform, WgslScalar} from '../src/codegen/shader.js';

import {unaryExpr} from './unary.js';

/** tfjs-layers' activation identifiers the fused LSTM implements. */
export const LSTM_ACTIVATIONS = ['tanh', 'sigmoid', 'hardSigmoid', 'relu', 'linear'] as const;
export type LstmActivation = typeof LSTM_ACTIVATIONS[number];

const TJ = 16;
const RB = 4;
const WY = 4;
const TB = RB * WY;
const KC = 16;
const WG = TJ * WY;

/** The activation as a tree of the unary kernels' expressions (same numerics as the op path). */
function activationExpr(act: LstmActivation, x: Expr): Expr {
  switch (act) {
    case 'tanh': return unaryExpr('Tanh', x, false);
    case 'sigmoid': return unaryExpr('Sigmoid', x, false);
    case 'relu': return unaryExpr('Relu', x, false);
    case 'linear': return x;
    // tfjs-layers: clipByValue(0.5 + 0.2·x, 0, 1); NaN stays NaN as in clipByValue.
    case 'hardSigmoid': return op('select(clamp(0.2 * $0 + 0.5, 0.0, 1.0), $0, isNan($0))', 'f32', [x]);
  }
}

/**
 * The derivative of the activation as a function of its output y (tfjs's gradients: tanh 1 - y²,
 * sigmoid y(1 - y), relu step(x) = y > 0, hard sigmoid 0.2 inside the clip range).
 */
function activationGrad(act: LstmActivation): string {
  switch (act) {
    case 'tanh': return '1.0 - y * y';
    case 'sigmoid': return 'y * (1.0 - y)';
    case 'relu': return 'select(0.0, 1.0, y > 0.0)';
    case 'linear': return '1.0';
    // The output lies strictly inside (0, 1) exactly where 0.2·x + 0.5 does (tfjs's clip gradient
    // also passes at the bounds themselves: a set of measure zero).
    case 'hardSigmoid': return 'select(0.0, 0.2, y > 0.0 && y < 1.0)';
  }
}

/** WGSL functions `${name}(x)` and `${name}Grad(y)` for an activation (helpers deduplicated). */
function activationFunctions(name: string, act: LstmActivation, helpers: Map<string, string>): string {
  const stmts: string[] = [];
  const result = emitExpr(activationExpr(act, {kind: 'input', index: 0, type: 'f32'}), () => 'x', helpers, stmts);
  return `fn ${name}(x: f32) -> f32 {
  ${stmts.join('\n  ')}
  return ${result};
}
fn ${name}Grad(y: f32) -> f32 {
  return ${activationGrad(act)};
}`;
}

/** The activation functions `act` and `recAct` (with their gradients) and the helpers they call. */
function activationDecls(act: LstmActivation, recAct: LstmActivation): string {
  const helpers = new Map<string, string>();
  const fns = [activationFunctions('act', act, helpers), activationFunctions('recAct', recAct, helpers)];
  return [...helpers.values(), ...fns].join('\n');
}

interface TileSpec {
  gates: 1|4;
  /** Statements before the tile loop; they must define K (u32, uniform: the reduction's extent). */
  prelude: string;
  /** WGSL f32 of A[b, k] (b < u.B, k < K). */
  loadA: (b: string, k: string) => string;
  /** WGSL f32 of B[k, column j of gate q] (k < K, j < u.U; q a u32 expression). */
  loadB: (k: string, q: string, j: string) => string;
  /** Statements for one (b, j) (b < u.B, j < u.U), with `z0`…`z{G-1}` (the products) in scope. */
  epilogue: string;
}

/** Workgroup arrays and the main body of a recurrent step (uniforms B, U used; K from the prelude). */
function tileShader(spec: TileSpec): {declarations: string; body: string} {
  const g = spec.gates;
  const cols = g * TJ;
  const accs: string[] = [];
  for (let r = 0; r < RB; ++r) for (let q = 0; q < g; ++q) accs.push(`var acc${r}_${q} = 0.0;`);
  const stageA: string[] = [];
  for (let e = 0; e < (TB * KC) / WG; ++e) {
    stageA.push(`{
      let idx = lindex + ${e * WG}u;
      let b = b0 + idx / ${KC}u;
      let k = k0 + idx % ${KC}u;
      var v = 0.0;
      if (b < u.B && k < K) { v = ${spec.loadA('b', 'k')}; }
      As[idx] = v;
    }`);
  }
  const stageB: string[] = [];
  for (let e = 0; e < (KC * cols) / WG; ++e) {
    stageB.push(`{
      let idx = lindex + ${e * WG}u;
      let k = k0 + idx / ${cols}u;
      let c = idx % ${cols}u;
      let q = c / ${TJ}u;
      let jj = j0 + c % ${TJ}u;
      var v = 0.0;
      if (k < K && jj < u.U) { v = ${spec.loadB('k', 'q', 'jj')}; }
      Bs[idx] = v;
    }`);
  }
  const fma: string[] = [];
  for (let r = 0; r < RB; ++r) fma.push(`let a${r} = As[(lid.y + ${r * WY}u) * ${KC}u + kk];`);
  for (let q = 0; q < g; ++q) fma.push(`let w${q} = Bs[kk * ${cols}u + ${q * TJ}u + lid.x];`);
  for (let r = 0; r < RB; ++r) for (let q = 0; q < g; ++q) fma.push(`acc${r}_${q} = acc${r}_${q} + a${r} * w${q};`);
  const epilogues: string[] = [];
  for (let r = 0; r < RB; ++r) {
    const zs = Array.from({length: g}, (_, q) => `let z${q} = acc${r}_${q};`).join(' ');
    epilogues.push(`{
    let b = b0 + lid.y + ${r * WY}u;
    if (b < u.B && j < u.U) {
      ${zs}
      ${spec.epilogue}
    }
  }`);
  }
  return {
    declarations: `var<workgroup> As: array<f32, ${TB * KC}>;\nvar<workgroup> Bs: array<f32, ${KC * cols}>;`,
    body: `
  let j0 = wid.x * ${TJ}u;
  let b0 = wid.y * ${TB}u;
  let j = j0 + lid.x;
  ${spec.prelude}
  ${accs.join('\n  ')}
  // The reduction's extent is uniform, so every invocation reaches the barriers.
  for (var k0 = 0u; k0 < K; k0 = k0 + ${KC}u) {
    ${stageA.join('\n    ')}
    ${stageB.join('\n    ')}
    workgroupBarrier();
    for (var kk = 0u; kk < ${KC}u; kk = kk + 1u) {
      ${fma.join('\n      ')}
    }
    workgroupBarrier();
  }
  ${epilogues.join('\n  ')}`,
  };
}

function tileDispatch(batch: number, units: number): [number, number, number] {
  return [Math.ceil(units / TJ), Math.ceil(batch / TB), 1];
}

/** Whether mask element (b, t) keeps the step (tfjs-layers: cast to bool, so any non-zero). */
function maskKeeps(maskType: WgslScalar, index: string): string {
  return `mask[${index}] != ${maskType === 'f32' ? '0.0' : '0'}`;
}

export interface LstmStepConfig {
  act: LstmActivation;
  recAct: LstmActivation;
  /** The mask's storage type, or null without a mask. */
  mask: WgslScalar|null;
}

function configKey(c: LstmStepConfig): string {
  return `${c.act}|${c.recAct}|${c.mask ?? 'nomask'}`;
}


/** The forward recurrence's inputs beside x·W + b and the recurrent kernel. */
export interface LstmForwardInputs {
  hasH0: boolean;
  hasC0: boolean;
}

/**
 * The forward recurrence, one repeated program of T + 1 iterations writing the records
 * [B, T+1, 6U]: iteration 0 writes entry 0 (zero gates, c0 and h0, zeros where not given);
 * iteration it ≥ 1 runs processing step s = it - 1 (time index t), reading entry it - 1 (its c and
 * h) and writing entry it. Inputs: xw ([B, T, 4U], x·W + b for every step), the recurrent kernel,
 * h0, c0 (if given), the mask (if any).
 */
export function lstmForwardProgram(c: LstmStepConfig, init: LstmForwardInputs, batch: number, units: number, time: number,
                                   goBackwards: boolean): Program {
  const tile = tileShader({
    gates: 4,
    prelude: `// Iteration 0 (the initial state) has no product.
  let K = select(u.U, 0u, u.it == 0u);
  let s = u.it - 1u;
  let t = select(s, u.T - 1u - s, u.back != 0u);`,
    loadA: (b, k) => `rec[(${b} * (u.T + 1u) + s) * 6u * u.U + 5u * u.U + ${k}]`,
    loadB: (k, q, j) => `rk[${k} * 4u * u.U + ${q} * u.U + ${j}]`,
    epilogue: `let U = u.U;
      let po = (b * (u.T + 1u) + u.it) * 6u * U;
      if (u.it == 0u) {
        rec[po + j] = 0.0;
        rec[po + U + j] = 0.0;
        rec[po + 2u * U + j] = 0.0;
        rec[po + 3u * U + j] = 0.0;
        rec[po + 4u * U + j] = ${init.hasC0 ? 'c0[b * U + j]' : '0.0'};
        rec[po + 5u * U + j] = ${init.hasH0 ? 'h0[b * U + j]' : '0.0'};
      } else {
        let xo = (b * u.T + t) * 4u * U + j;
        let pp = po - 6u * U;
        let cp = rec[pp + 4u * U + j];
        let hp = rec[pp + 5u * U + j];
        ${c.mask ? `if (${maskKeeps(c.mask, 'b * u.T + t')}) {` : '{'}
          let gi = recAct(z0 + xw[xo]);
          let gf = recAct(z1 + xw[xo + U]);
          let gg = act(z2 + xw[xo + 2u * U]);
          let go = recAct(z3 + xw[xo + 3u * U]);
          let cn = gf * cp + gi * gg;
          rec[po + j] = gi;
          rec[po + U + j] = gf;
          rec[po + 2u * U + j] = gg;
          rec[po + 3u * U + j] = go;
          rec[po + 4u * U + j] = cn;
          rec[po + 5u * U + j] = go * act(cn);
        }${c.mask ? ` else {
          // Masked: the state carries over exactly; no gate contributes to the gradients.
          rec[po + j] = 0.0;
          rec[po + U + j] = 0.0;
          rec[po + 2u * U + j] = 0.0;
          rec[po + 3u * U + j] = 0.0;
          rec[po + 4u * U + j] = cp;
          rec[po + 5u * U + j] = hp;
        }` : ''}
      }`,
  });
  const inputs: ShaderSpec['inputs'] = [{name: 'xw', type: 'f32'}, {name: 'rk', type: 'f32'}];
  if (init.hasH0) inputs.push({name: 'h0', type: 'f32'});
  if (init.hasC0) inputs.push({name: 'c0', type: 'f32'});
  if (c.mask) inputs.push({name: 'mask', type: c.mask});
  const shader = (): ShaderSpec => ({
    inputs,
    outputs: [{name: 'rec', type: 'f32'}],
    workgroupSize: [TJ, WY, 1],
    declarations: `${activationDecls(c.act, c.recAct)}\n${tile.declarations}`,
    body: tile.body,
  });
  return {name: 'MpsgpuLSTM', key: `lstm|fwd|${configKey(c)}|h0:${init.hasH0}|c0:${init.hasC0}`, shader,
          uniforms: recurrenceUniforms(batch, units, time, goBackwards), dispatch: tileDispatch(batch, units),
          repeat: {count: time + 1, uniform: 'it'}};
}

/**
 * The backward recurrence, one repeated program of T + 1 iterations. Iteration it < T runs
 * processing step s = T-1-it: the total gradient of h_s (dRecords' h part + dz_{s+1}·Uᵀ, plus the
 * carried dh where step s + 1 was masked) and of c_s (dRecords' c part + the carried dc), then dz_s
 * from the saved gates, written at its time index t in dz ([B, T, 4U], time order), and the carry
 * (dh_s, dc_{s-1}). Iteration T (the tail) writes only the carry: (dh0, dc0). The carries
 * ([2B, 2U]) ping-pong: iteration it writes rows [(it % 2)·B, +B) and reads the other half (what
 * iteration it - 1 wrote); the tail's are rows (T % 2)·B…. Inputs: records, dRecords
 * ([B, T+1, 6U]), the recurrent kernel, the mask (if any); outputs dz and the carries.
 */
export function lstmBackwardProgram(c: LstmStepConfig, batch: number, units: number, time: number, goBackwards: boolean): Program {
  const keep = c.mask ? maskKeeps(c.mask, 'b * u.T + t') : 'true';
  const carriedH = c.mask ? `if (!(${maskKeeps(c.mask, 'b * u.T + tNext')})) { dh = dh + carry[pco + j]; }` : '';
  const tile = tileShader({
    gates: 1,
    prelude: `// Step s = T-1-it (it < T) or the tail (it = T, s = -1); the first iteration (s = T-1) has no later dz.
  let isFirst = u.it == 0u;
  let isTail = u.it == u.T;
  let K = select(4u * u.U, 0u, isFirst);
  // Record entry s + 1, and the time indices of steps s and s + 1 (each unused where it does not exist).
  let entry = u.T - u.it;
  let t = select(u.T - 1u - u.it, u.it, u.back != 0u);
  let tNext = select(u.T - u.it, u.it - 1u, u.back != 0u);
  let slot = u.it % 2u;`,
    loadA: (b, k) => `dz[(${b} * u.T + tNext) * 4u * u.U + ${k}]`,
    loadB: (k, _q, j) => `rk[${j} * 4u * u.U + ${k}]`,
    epilogue: `let U = u.U;
      let row = (b * (u.T + 1u) + entry) * 6u * U;
      let zo = (b * u.T + t) * 4u * U;
      let co = (slot * u.B + b) * 2u * U;
      let pco = ((1u - slot) * u.B + b) * 2u * U;
      // z0 = (dz_{s+1}·Uᵀ)[b, j]: zero where step s + 1 was masked (its dz is zero).
      var dh = drec[row + 5u * U + j] + z0;
      var dc = drec[row + 4u * U + j];
      if (!isFirst) {
        dc = dc + carry[pco + U + j];
        ${carriedH}
      }
      if (isTail) {
        carry[co + j] = dh;
        carry[co + U + j] = dc;
      } else if (${keep}) {
        let pr = row - 6u * U;
        let gi = rec[row + j];
        let gf = rec[row + U + j];
        let gg = rec[row + 2u * U + j];
        let go = rec[row + 3u * U + j];
        let cn = rec[row + 4u * U + j];
        let cp = rec[pr + 4u * U + j];
        let ac = act(cn);
        let dcn = dc + dh * go * actGrad(ac);
        dz[zo + j] = dcn * gg * recActGrad(gi);
        dz[zo + U + j] = dcn * cp * recActGrad(gf);
        dz[zo + 2u * U + j] = dcn * gi * actGrad(gg);
        dz[zo + 3u * U + j] = dh * ac * recActGrad(go);
        carry[co + j] = dh;
        carry[co + U + j] = dcn * gf;
      } else {
        dz[zo + j] = 0.0;
        dz[zo + U + j] = 0.0;
        dz[zo + 2u * U + j] = 0.0;
        dz[zo + 3u * U + j] = 0.0;
        carry[co + j] = dh;
        carry[co + U + j] = dc;
      }`,
  });
  const inputs: ShaderSpec['inputs'] = [{name: 'rec', type: 'f32'}, {name: 'drec', type: 'f32'}, {name: 'rk', type: 'f32'}];
  if (c.mask) inputs.push({name: 'mask', type: c.mask});
  const shader = (): ShaderSpec => ({
    inputs,
    outputs: [{name: 'dz', type: 'f32'}, {name: 'carry', type: 'f32'}],
    workgroupSize: [TJ, WY, 1],
    declarations: `${activationDecls(c.act, c.recAct)}\n${tile.declarations}`,
    body: tile.body,
  });
  return {name: 'MpsgpuLSTMGrad', key: `lstm|bwd|${configKey(c)}`, shader, uniforms: recurrenceUniforms(batch, units, time, goBackwards),
          dispatch: tileDispatch(batch, units), repeat: {count: time + 1, uniform: 'it'}};
}

/** The rows of the backward program's carries [2B, 2U] that hold (dh0, dc0) after its last iteration. */
export function lstmTailCarryRow(batch: number, time: number): number {
  return (time % 2) * batch;
}

/** The sizes, the direction, and `it`: the repeat counter (0 … T) of both recurrence programs. */
function recurrenceUniforms(batch: number, units: number, time: number, goBackwards: boolean): Uniform[] {
  return [
    {name: 'B', type: 'u32', value: batch}, {name: 'U', type: 'u32', value: units}, {name: 'T', type: 'u32', value: time},
    {name: 'back', type: 'u32', value: goBackwards ? 1 : 0}, {name: 'it', type: 'u32', value: 0},
  ];
}
