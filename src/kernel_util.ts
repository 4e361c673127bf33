// What kernels share: the backend from a kernel call, elementwise recording, tfjs-style checks.
import {backend_util, DataType, KernelBackend, TensorInfo, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from './backend.js';
import {constant, elementwiseProgram, Expr, input, op} from './codegen/elementwise.js';
import {Uniform, wgslType, WgslScalar} from './codegen/shader.js';

export function mpsgpuBackend(backend: KernelBackend|{}): MpsgpuBackend {
  return backend as MpsgpuBackend;
}

/**
 * Record one elementwise node: `expr` over `inputs` (input(i) reads inputs[i] in its storage type),
 * broadcast numpy-style to `outShape` (default: the broadcast of the input shapes).
 */
export function runElementwise(backend: MpsgpuBackend, name: string, expr: Expr, inputs: TensorInfo[],
                               dtype: DataType, outShape?: number[], uniforms: Uniform[] = []): TensorInfo {
  const shape = outShape ?? inputs.map(i => i.shape).reduce((a, b) => backend_util.assertAndGetBroadcastShape(a, b), [] as number[]);
  if (util.sizeFromShape(shape) === 0) return backend.makeTensorInfo(shape, dtype);
  const program = elementwiseProgram(name, expr, inputs.map(i => ({shape: i.shape, type: wgslType(i.dtype)})),
                                     shape, wgslType(dtype), uniforms);
  return backend.runProgram(program, inputs, shape, dtype);
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
