// Cumsum and Cumprod along one axis (attrs exclusive, reverse). x is seen as [outer, len, inner].
// Many lines (or short ones): one invocation walks a whole line in order, which is exactly the
// CPU backend's float32 recurrence. Few long lines: a Hillis–Steele scan, ceil(log2 len) passes
// each adding the value 2^k positions back (the exclusive shift is folded into the first pass).
import {Cumprod, CumprodAttrs, Cumsum, CumsumAttrs, DataType, KernelConfig, TensorInfo, upcastType, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {perElementProgram, storageType} from './array_common.js';

export type CumulativeOp = 'sum'|'prod';

/** Lines at least this many, or lines at most this long, are scanned one invocation per line. */
const SERIAL_MIN_LINES = 256;
const SERIAL_MAX_LEN = 32;

function identity(op: CumulativeOp, type: 'f32'|'i32'): string {
  const one = op === 'sum' ? 0 : 1;
  return type === 'f32' ? `${one}.0` : `${one}`;
}

function combine(op: CumulativeOp, a: string, b: string): string {
  return op === 'sum' ? `${a} + ${b}` : `${a} * ${b}`;
}

function geometryUniforms(len: number, inner: number, exclusive: boolean, reverse: boolean) {
  return [
    {name: 'len', type: 'u32' as const, value: len},
    {name: 'inner', type: 'u32' as const, value: inner},
    {name: 'exclusive', type: 'u32' as const, value: exclusive ? 1 : 0},
    {name: 'reverse', type: 'u32' as const, value: reverse ? 1 : 0},
  ];
}

/**
 * The cumulative sum or product of `x` (float32, int32 or bool) along `axis`; the result has
 * tfjs-backend-cpu's dtype (bool → int32).
 */
export function cumulative(b: MpsgpuBackend, name: string, x: TensorInfo, axis: number, exclusive: boolean,
                           reverse: boolean, op: CumulativeOp): TensorInfo {
  const dtype: DataType = upcastType(x.dtype, 'int32');
  const size = util.sizeFromShape(x.shape);
  if (size === 0) return b.makeTensorInfo(x.shape, dtype);
  const len = x.shape[axis];
  const inner = util.sizeFromShape(x.shape.slice(axis + 1));
  const lines = size / len;
  const type = storageType(dtype);
  const read = (index: string) => (x.dtype === 'bool' ? `i32(src[${index}] != 0)` : `src[${index}]`);
  if (lines >= SERIAL_MIN_LINES || len <= SERIAL_MAX_LEN) {
    const body = `
  let o = i / u.inner;
  let n = i - o * u.inner;
  let base = o * u.len * u.inner + n;
  var acc: ${type} = ${identity(op, type)};
  for (var p = 0u; p < u.len; p = p + 1u) {
    let j = select(p, u.len - 1u - p, u.reverse == 1u);
    let idx = base + j * u.inner;
    let v = ${read('idx')};
    if (u.exclusive == 1u) {
      out[idx] = acc;
      acc = ${combine(op, 'acc', 'v')};
    } else {
      acc = ${combine(op, 'acc', 'v')};
      out[idx] = acc;
    }
  }`;
    const program = perElementProgram(name, `cumulative|serial|${op}|${x.dtype === 'bool'}`, lines,
                                      [{name: 'src', type: storageType(x.dtype)}], type, body,
                                      geometryUniforms(len, inner, exclusive, reverse));
    return b.runProgram(program, [x], x.shape, dtype);
  }
  // Hillis–Steele: pass k computes out[p] = in[p - d] ∘ in[p] for p >= d (d = 2^k), positions p
  // counted along the scan direction; the first pass reads its input shifted by one if exclusive.
  let current = x;
  let first = true;
  for (let d = 1; first || d < len; d *= 2) {
    const srcIsBool = current.dtype === 'bool';
    const readAt = (index: string) => (srcIsBool ? `i32(src[${index}] != 0)` : `src[${index}]`);
    const body = `
  let o = i / (u.len * u.inner);
  let rest = i - o * u.len * u.inner;
  let j = rest / u.inner;
  let n = rest - j * u.inner;
  let p = select(j, u.len - 1u - j, u.reverse == 1u);
  let v = load(o, n, p);
  if (p >= u.d) {
    out[i] = ${combine(op, 'load(o, n, p - u.d)', 'v')};
  } else {
    out[i] = v;
  }`;
    const declarations = `
fn load(o: u32, n: u32, p: u32) -> ${type} {
  // Position p along the scan, shifted by u.shift (exclusive first pass): before the start is the identity.
  if (p < u.shift) { return ${identity(op, type)}; }
  let q = p - u.shift;
  let j = select(q, u.len - 1u - q, u.reverse == 1u);
  return ${readAt('(o * u.len + j) * u.inner + n')};
}`;
    const uniforms = [...geometryUniforms(len, inner, exclusive, reverse),
                      {name: 'd', type: 'u32' as const, value: d},
                      {name: 'shift', type: 'u32' as const, value: first && exclusive ? 1 : 0}];
    const program = perElementProgram(name, `cumulative|step|${op}|${srcIsBool}`, size,
                                      [{name: 'src', type: storageType(current.dtype)}], type, body, uniforms,
                                      declarations);
    const next = b.runProgram(program, [current], x.shape, dtype);
    if (current !== x) b.disposeIntermediateTensorInfo(current);
    current = next;
    first = false;
  }
  return current;
}

function cumulativeConfig(kernelName: string, op: CumulativeOp): KernelConfig {
  return {
    kernelName,
    backendName: 'mpsgpu',
    kernelFunc: ({inputs, backend, attrs}) => {
      const b = mpsgpuBackend(backend);
      const {x} = inputs as {x: TensorInfo};
      const {axis, exclusive, reverse} = attrs as unknown as CumsumAttrs|CumprodAttrs;
      if (x.dtype === 'string' || x.dtype === 'complex64') {
        throw new Error(`${kernelName}: input 'x' has dtype ${x.dtype} (shape [${x.shape}]); ` +
          `${kernelName} takes float32, int32 or bool`);
      }
      const rank = x.shape.length;
      if (rank === 0 || !Number.isInteger(axis) || axis < -rank || axis >= rank) {
        throw new Error(`${kernelName}: axis ${axis} is out of range for input 'x' of shape [${x.shape}] ` +
          `(dtype ${x.dtype}); expected an integer in [${-rank}, ${rank})`);
      }
      return cumulative(b, kernelName, x, axis < 0 ? axis + rank : axis, !!exclusive, !!reverse, op);
    },
  };
}

export const cumsumConfig = cumulativeConfig(Cumsum, 'sum');
export const cumprodConfig = cumulativeConfig(Cumprod, 'prod');
