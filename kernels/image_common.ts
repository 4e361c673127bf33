// What the image kernels share: tfjs-style checks, the program shape (one invocation per element of
// a [batch, rows, cols, channels] output, split into b, r, c, d), JavaScript's rounding in WGSL, and
// small geometry tables computed on the CPU in float64, as tfjs-backend-cpu computes them, and read
// by the shader (so source indices match the CPU backend exactly).
import {DataType, TensorInfo} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {Program} from '../src/codegen/program.js';
import {BufferDecl, dispatch1D, ShaderSpec, sizeOf, Uniform, WgslScalar} from '../src/codegen/shader.js';

export const WORKGROUP = 64;

export function describeTensor(t: TensorInfo): string {
  return `shape [${t.shape}] (dtype ${t.dtype})`;
}

export function check(ok: boolean, message: () => string): void {
  if (!ok) throw new Error(message());
}

export function checkRank4(kernel: string, name: string, t: TensorInfo, layout = '[batch, height, width, channels]'): void {
  check(t.shape.length === 4, () => `${kernel}: input '${name}' must be rank 4 ${layout}, got ${describeTensor(t)}`);
}

export function checkDtype(kernel: string, name: string, t: TensorInfo, allowed: DataType[]): void {
  check(allowed.includes(t.dtype), () => `${kernel}: input '${name}' must be ${allowed.join(' or ')}, got ${describeTensor(t)}`);
}

/** A [height, width] attribute of non-negative integers. */
export function checkSize2(kernel: string, name: string, v: unknown): asserts v is [number, number] {
  check(Array.isArray(v) && v.length === 2 && v.every(d => Number.isInteger(d) && d >= 0),
        () => `${kernel}: attribute '${name}' must be [height, width] of non-negative integers, got ${JSON.stringify(v)}`);
}

export function checkNumber(kernel: string, name: string, v: unknown): asserts v is number {
  check(typeof v === 'number', () => `${kernel}: attribute '${name}' must be a number, got ${JSON.stringify(v)}`);
}

/** Integer uniforms (i32), named as given. */
export function ints(values: Record<string, number>): Uniform[] {
  return Object.entries(values).map(([name, value]) => ({name, type: 'i32' as const, value}));
}

export function floats(values: Record<string, number>): Uniform[] {
  return Object.entries(values).map(([name, value]) => ({name, type: 'f32' as const, value}));
}

/** WGSL Math.round: halves go up (exact, unlike floor(x + 0.5) just below 0.5). */
export const JS_ROUND = `
fn jsRound(x: f32) -> f32 {
  let f = floor(x);
  return select(f, f + 1.0, x - f >= 0.5);
}`;

/** `f32(...)` of a value read from a buffer of `type`. */
export function asF32(expr: string, type: WgslScalar): string {
  return type === 'f32' ? expr : `f32(${expr})`;
}

/** An f32 value as the output's storage type (typed-array store for int32: truncation, NaN to 0). */
export function fromF32(expr: string, type: WgslScalar): string {
  return type === 'f32' ? expr : `toI32(${expr})`;
}

/** WGSL: an f32 stored in an int32 tensor as a typed-array store does (truncation, NaN to 0). */
export const TO_I32 = `
fn toI32(v: f32) -> i32 {
  if (isNan(v)) { return 0; }
  return i32(v);
}`;

/**
 * One invocation per element of a 4-D output [B, u.outH, u.outW, u.outC] in row-major order; the
 * body sees `b`, `r`, `c`, `d` (i32) and `i` (the flat index) and writes `out[i]`.
 */
export function image4DProgram(name: string, key: string, outShape: number[], inputs: BufferDecl[], outType: WgslScalar,
                               body: string, uniforms: Uniform[], declarations = ''): Program {
  const size = sizeOf(outShape);
  const [, outH, outW, outC] = outShape;
  const shader = (): ShaderSpec => ({
    inputs,
    outputs: [{name: 'out', type: outType}],
    workgroupSize: [WORKGROUP, 1, 1],
    declarations: [JS_ROUND, TO_I32, declarations].join('\n'),
    body: `
  if (flatId >= u.size) { return; }
  let i = flatId;
  var rest_ = i32(i);
  let d = rest_ % u.outC; rest_ = rest_ / u.outC;
  let c = rest_ % u.outW; rest_ = rest_ / u.outW;
  let r = rest_ % u.outH; let b = rest_ / u.outH;
  ${body}`,
  });
  return {
    name, key: `${key}|${outType}|${inputs.map(x => x.type).join(',')}`, shader,
    uniforms: [{name: 'size', type: 'u32', value: size}, ...ints({outH, outW, outC}), ...uniforms],
    dispatch: dispatch1D(size, WORKGROUP),
  };
}

/**
 * An int32 tensor of table entries. `f32` entries are stored by their bits (read with
 * bitcast<f32>), so one buffer holds indices and fractions.
 */
export class Table {
  private ints: number[] = [];
  private bitsView = new DataView(new ArrayBuffer(4));

  get length(): number {
    return this.ints.length;
  }

  int(v: number): void {
    this.ints.push(v | 0);
  }

  f32(v: number): void {
    this.bitsView.setFloat32(0, v, true);
    this.ints.push(this.bitsView.getInt32(0, true));
  }

  tensor(b: MpsgpuBackend): TensorInfo {
    return b.makeTensorInfo([this.ints.length], 'int32', Int32Array.from(this.ints));
  }
}

/** Runs `program` with a table appended to `inputs`, disposing the table afterwards. */
export function runWithTable(b: MpsgpuBackend, program: Program, inputs: TensorInfo[], table: Table,
                             outShape: number[], dtype: DataType): TensorInfo {
  const t = table.tensor(b);
  const out = b.runProgram(program, [...inputs, t], outShape, dtype);
  b.disposeIntermediateTensorInfo(t);
  return out;
}
