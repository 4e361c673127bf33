// GatherNd: output row r is the slice of params at the index tuple indices[r, :]. Indices are read
// on the CPU and checked first (tfjs-backend-cpu's check and error).
import {backend_util, GatherNd, KernelConfig, TensorInfo, TypedArray, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {Program} from '../src/codegen/program.js';
import {arrayUniforms, dispatch1D, ShaderSpec, Uniform} from '../src/codegen/shader.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {mapComplex} from './Complex.js';
import {gatherStrings} from './Slice.js';

const WORKGROUP = 64;

function gatherNdProgram(numSlices: number, sliceSize: number, sliceRank: number, strides: number[], numRows: number): Program {
  const size = numSlices * sliceSize;
  const uniforms: Uniform[] = [
    {name: 'size', type: 'u32', value: size},
    {name: 'sliceSize', type: 'u32', value: sliceSize},
    {name: 'numRows', type: 'u32', value: numRows},
    ...arrayUniforms('stride', strides, 'i32'),
  ];
  const terms = ['0', ...strides.map((_, j) => `indices[row * ${sliceRank}u + ${j}u] * u.stride${j}`)];
  const shader = (): ShaderSpec => ({
    inputs: sliceRank > 0 ? [{name: 'params', type: 'u32'}, {name: 'indices', type: 'i32'}] : [{name: 'params', type: 'u32'}],
    outputs: [{name: 'out', type: 'u32'}],
    workgroupSize: [WORKGROUP, 1, 1],
    body: `
  let i = flatId;
  if (i >= u.size) { return; }
  let row = i / u.sliceSize;
  let k = i - row * u.sliceSize;
  let flat = ${terms.join(' + ')};
  if (flat < 0 || u32(flat) >= u.numRows) { out[i] = 0u; return; }
  out[i] = params[u32(flat) * u.sliceSize + k];`,
  });
  return {name: GatherNd, key: `gatherNd|${sliceRank}`, shader, uniforms, dispatch: dispatch1D(size, WORKGROUP)};
}

function gatherNd(b: MpsgpuBackend, params: TensorInfo, indices: TensorInfo, resultShape: number[], numSlices: number,
                  sliceSize: number, strides: number[], rows: number[]): TensorInfo {
  if (params.dtype === 'complex64') {
    return mapComplex(b, params, p => gatherNd(b, p, indices, resultShape, numSlices, sliceSize, strides, rows));
  }
  if (params.dtype === 'string') {
    return gatherStrings(b, params, resultShape, i => rows[Math.floor(i / sliceSize)] * sliceSize + i % sliceSize);
  }
  const numRows = util.sizeFromShape(params.shape) / sliceSize;
  const inputs = strides.length > 0 ? [params, indices] : [params];
  return b.runProgram(gatherNdProgram(numSlices, sliceSize, strides.length, strides, numRows), inputs, resultShape, params.dtype);
}

export const gatherNdConfig: KernelConfig = {
  kernelName: GatherNd,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend}) => {
    const b = mpsgpuBackend(backend);
    const {params, indices} = inputs as {params: TensorInfo; indices: TensorInfo};
    const [resultShape, numSlices, sliceSize, strides] = backend_util.prepareAndValidate(params, indices);
    if (numSlices === 0) return b.makeTensorInfo(resultShape, params.dtype, params.dtype === 'string' ? [] : undefined);
    const sliceRank = indices.shape[indices.shape.length - 1];
    const paramsSize = util.sizeFromShape(params.shape);
    const values = b.readSync(indices.dataId) as TypedArray;
    const rows = new Array<number>(numSlices);
    for (let i = 0; i < numSlices; i++) {
      const index: number[] = [];
      let flat = 0;
      for (let j = 0; j < sliceRank; j++) {
        const v = values[i * sliceRank + j];
        flat += v * strides[j];
        index.push(v);
      }
      if (flat < 0 || flat >= paramsSize / sliceSize) {
        throw new Error(`Invalid indices: ${index} does not index into ${params.shape}`);
      }
      rows[i] = flat;
    }
    return gatherNd(b, params, indices, resultShape, numSlices, sliceSize, strides, rows);
  },
};
