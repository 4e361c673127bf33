// What kernels share: the backend from a kernel call, elementwise recording, tfjs-style checks.
import {backend_util, DataType, KernelBackend, TensorInfo, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from './backend.js';
import {constant, elementwiseProgram, Expr, exprKey, input, op} from './codegen/elementwise.js';
import {Program} from './codegen/program.js';
import {cacheSet, numberKey, shapeKey, tensorKey, Uniform, wgslType, WgslScalar} from './codegen/shader.js';

export function mpsgpuBackend(backend: KernelBackend|{}): MpsgpuBackend {
  return backend as MpsgpuBackend;
}

/** A recorded elementwise node: its program (null: an empty output) and output shape. */
interface ElementwiseRecord {
  program: Program|null;
  shape: number[];
}

/**
 * ElementwiseRecords by exprKey (cached per expression object; structurally equal expressions give
 * the same program key, so the same WGSL), then by elementwiseRecordKey. Bounded: cleared past 1024
 * expressions, or 256 records of one.
 */
const elementwiseRecords = new Map<string, Map<string, ElementwiseRecord>>();

/** Everything but the expression that runElementwise's program depends on, as text. */
function elementwiseRecordKey(name: string, inputs: TensorInfo[], dtype: DataType, outShape: number[]|undefined, uniforms: Uniform[]): string {
  let key = name + '|' + dtype + '|' + (outShape === undefined ? '-' : shapeKey(outShape));
  for (let i = 0; i < inputs.length; ++i) key += '|' + tensorKey(inputs[i]);
  for (let i = 0; i < uniforms.length; ++i) key += '|' + uniforms[i].name + ':' + uniforms[i].type + '=' + numberKey(uniforms[i].value);
  return key;
}

function elementwiseRecord(name: string, expr: Expr, inputs: TensorInfo[], dtype: DataType, outShape: number[]|undefined,
                           uniforms: Uniform[]): ElementwiseRecord {
  const shape = outShape ?? inputs.map(i => i.shape).reduce((a, b) => backend_util.assertAndGetBroadcastShape(a, b), [] as number[]);
  if (util.sizeFromShape(shape) === 0) return {program: null, shape};
  const program = elementwiseProgram(name, expr, inputs.map(i => ({shape: i.shape, type: wgslType(i.dtype)})),
                                     shape, wgslType(dtype), uniforms);
  return {program, shape};
}

/**
 * Record one elementwise node: `expr` over `inputs` (input(i) reads inputs[i] in its storage type),
 * broadcast numpy-style to `outShape` (default: the broadcast of the input shapes). The program of
 * a node seen before (an equal expression, the same kernel, dtypes, shapes and uniforms) is reused.
 */
export function runElementwise(backend: MpsgpuBackend, name: string, expr: Expr, inputs: TensorInfo[],
                               dtype: DataType, outShape?: number[], uniforms: Uniform[] = []): TensorInfo {
  const ek = exprKey(expr);
  let records = elementwiseRecords.get(ek);
  if (records === undefined) records = cacheSet(elementwiseRecords, ek, new Map<string, ElementwiseRecord>());
  const key = elementwiseRecordKey(name, inputs, dtype, outShape, uniforms);
  let rec = records.get(key);
  if (rec === undefined) {
    // Copies: the record outlives the caller's arrays.
    rec = cacheSet(records, key, elementwiseRecord(name, expr, inputs.map(copyShape), dtype, outShape?.slice(), uniforms.map(u => ({...u}))), 256);
  }
  if (rec.program === null) return backend.makeTensorInfo(rec.shape.slice(), dtype);
  return backend.runProgram(rec.program, inputs, rec.shape.slice(), dtype);
}

/** `t` with a copy of its shape. */
function copyShape(t: TensorInfo): TensorInfo {
  return {dataId: t.dataId, shape: t.shape.slice(), dtype: t.dtype};
}

/** input(i) as `type` (converting from the tensor's storage type). */
export function inputAs(index: number, info: TensorInfo, type: WgslScalar): Expr {
  const stored = wgslType(info.dtype);
  const e = input(index, stored);
  return stored === type ? e : op(`${type}($0)`, type, [e]);
}

/** A tensor with the same dataId and a new shape: no GPU work (reshape, identity, squeeze …). */
export function reshapeView(backend: MpsgpuBackend, x: TensorInfo, shape: number[]): TensorInfo {
  backend.incRef(x.dataId);
  return {dataId: x.dataId, shape, dtype: x.dtype};
}

/** A scalar-filled tensor of `shape`. */
export function fill(backend: MpsgpuBackend, shape: number[], value: number, dtype: DataType): TensorInfo {
  const type = wgslType(dtype);
  return runElementwise(backend, 'Fill', constant(value, type), [], dtype, shape);
}

/** tfjs-style error for an input the GPU kernels do not take. */
export function assertDtype(kernel: string, name: string, x: TensorInfo, allowed: DataType[]): void {
  if (!allowed.includes(x.dtype)) {
    throw new Error(`${kernel}: the input '${name}' has dtype ${x.dtype} and shape [${x.shape}]; ` +
      `mpsgpu's ${kernel} takes ${allowed.join(', ')}.`);
  }
}

export {constant, input, op};

/** One program of a chain: its output's shape and dtype. */
export interface ChainStep {
  program: Program;
  shape: number[];
  dtype: DataType;
}

/**
 * Record `steps` in order, the first reading `x` and each later one the output of the one before
 * (a reduction and its passes over partials); the intermediate outputs are disposed after the last
 * step is recorded, the latest first. Returns the last output.
 */
export function runChain(backend: MpsgpuBackend, steps: ChainStep[], x: TensorInfo): TensorInfo {
  const first = steps[0];
  let out = backend.runProgram(first.program, [x], first.shape.slice(), first.dtype);
  if (steps.length === 1) return out;
  const intermediates: TensorInfo[] = [];
  for (let i = 1; i < steps.length; ++i) {
    intermediates.push(out);
    out = backend.runProgram(steps[i].program, [out], steps[i].shape.slice(), steps[i].dtype);
  }
  for (let i = intermediates.length - 1; i >= 0; --i) backend.disposeIntermediateTensorInfo(intermediates[i]);
  return out;
}
