// OneHot: out[..., j] = onValue where indices[...] == j, offValue elsewhere (indices outside
// [0, depth) give a row of offValue).
import {KernelConfig, OneHot, OneHotAttrs, TensorInfo, util} from '@tensorflow/tfjs-core';

import {Program} from '../src/codegen/program.js';
import {dispatch1D, ShaderSpec, Uniform} from '../src/codegen/shader.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {wordOf} from './PadV2.js';

const WORKGROUP = 64;

function oneHotProgram(size: number, depth: number, on: number, off: number, indexType: 'i32'|'f32'): Program {
  const uniforms: Uniform[] = [
    {name: 'size', type: 'u32', value: size},
    {name: 'depth', type: 'u32', value: depth},
    {name: 'on', type: 'u32', value: on},
    {name: 'off', type: 'u32', value: off},
  ];
  const col = indexType === 'f32' ? 'f32(col)' : 'i32(col)';
  const shader = (): ShaderSpec => ({
    inputs: [{name: 'indices', type: indexType}],
    outputs: [{name: 'out', type: 'u32'}],
    workgroupSize: [WORKGROUP, 1, 1],
    body: `
  let i = flatId;
  if (i >= u.size) { return; }
  let row = i / u.depth;
  let col = i - row * u.depth;
  out[i] = select(u.off, u.on, indices[row] == ${col});`,
  });
  return {name: OneHot, key: `oneHot|${indexType}`, shader, uniforms, dispatch: dispatch1D(size, WORKGROUP)};
}

export const oneHotConfig: KernelConfig = {
  kernelName: OneHot,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {indices} = inputs as {indices: TensorInfo};
    const {depth, onValue, offValue, dtype} = attrs as unknown as OneHotAttrs;
    if (indices.dtype !== 'int32' && indices.dtype !== 'float32') {
      throw new Error(`OneHot: input 'indices' must be int32, got dtype ${indices.dtype} (shape [${indices.shape}])`);
    }
    if (!(Number.isInteger(depth) && depth >= 0)) {
      throw new Error(`OneHot: depth must be a non-negative integer, got ${depth}`);
    }
    const outDtype = dtype ?? 'int32';
    if (outDtype !== 'float32' && outDtype !== 'int32' && outDtype !== 'bool') {
      throw new Error(`OneHot: mpsgpu makes float32, int32 or bool one-hot tensors, not ${outDtype}`);
    }
    const outShape = [...indices.shape, depth];
    const size = util.sizeFromShape(outShape);
    const program = oneHotProgram(size, depth, wordOf(onValue, outDtype), wordOf(offValue, outDtype),
                                  indices.dtype === 'float32' ? 'f32' : 'i32');
    return b.runProgram(program, [indices], outShape, outDtype);
  },
};
