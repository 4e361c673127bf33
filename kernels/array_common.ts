// What the array kernels share: one-invocation-per-element programs and CPU-side reads of small
// index tensors (checked before anything is recorded, as tfjs-backend-cpu checks them).
import {DataType, TensorInfo, TypedArray} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {Program} from '../src/codegen/program.js';
import {BufferDecl, dispatch1D, ShaderSpec, Uniform, WgslScalar} from '../src/codegen/shader.js';

export const WORKGROUP = 64;

/**
 * A program of `count` invocations (`size` uniform; `i` is the invocation's index, already
 * bounds-checked) writing output `out` of `outType`. `key` must name everything the WGSL depends on.
 */
export function perElementProgram(name: string, key: string, count: number, inputs: BufferDecl[],
                                  outType: WgslScalar, body: string, uniforms: Uniform[] = [],
                                  declarations = ''): Program {
  const shader = (): ShaderSpec => ({
    inputs,
    outputs: [{name: 'out', type: outType}],
    workgroupSize: [WORKGROUP, 1, 1],
    declarations,
    body: `
  let i = flatId;
  if (i >= u.size) { return; }
  ${body}`,
  });
  return {name, key: `${key}|${outType}|${inputs.map(x => x.type).join(',')}`, shader,
          uniforms: [{name: 'size', type: 'u32', value: count}, ...uniforms], dispatch: dispatch1D(count, WORKGROUP)};
}

/** Storage type of a numeric dtype (bool and int32 are i32). */
export function storageType(dtype: DataType): 'f32'|'i32' {
  return dtype === 'float32' ? 'f32' : 'i32';
}

/** The values of a (small) index tensor, read on the CPU: free when they came from JavaScript. */
export function readInts(b: MpsgpuBackend, t: TensorInfo): TypedArray {
  return b.readSync(t.dataId) as TypedArray;
}

/** tfjs-style check that throws before any recording. */
export function check(ok: boolean, message: () => string): void {
  if (!ok) throw new Error(message());
}
