// GatherV2 (tf.gather with axis and batchDims). Indices are read on the CPU and checked first, as
// tfjs-backend-cpu does, so an out-of-range index throws its error before anything is recorded.
// x is seen as [batch, outer, dimSize, slice] and indices as [batch, n]; the output is
// [batch, outer, n, slice].
import {backend_util, GatherV2, GatherV2Attrs, KernelConfig, TensorInfo, TypedArray, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {Program} from '../src/codegen/program.js';
import {dispatch1D, ShaderSpec, Uniform} from '../src/codegen/shader.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {mapComplex} from './Complex.js';
import {gatherStrings} from './Slice.js';

const WORKGROUP = 64;

interface GatherDims {
  batch: number;
  outer: number;
  dimSize: number;
  n: number;
  slice: number;
}

function gatherProgram(g: GatherDims, indexType: 'i32'|'f32'): Program {
  const size = g.batch * g.outer * g.n * g.slice;
  const uniforms: Uniform[] = [
    {name: 'size', type: 'u32', value: size},
    {name: 'outer', type: 'u32', value: g.outer},
    {name: 'dimSize', type: 'u32', value: g.dimSize},
    {name: 'n', type: 'u32', value: g.n},
    {name: 'slice', type: 'u32', value: g.slice},
    {name: 's0', type: 'u32', value: g.outer * g.n * g.slice},
    {name: 's1', type: 'u32', value: g.n * g.slice},
  ];
  const shader = (): ShaderSpec => ({
    inputs: [{name: 'x', type: 'u32'}, {name: 'indices', type: indexType}],
    outputs: [{name: 'out', type: 'u32'}],
    workgroupSize: [WORKGROUP, 1, 1],
    body: `
  let i = flatId;
  if (i >= u.size) { return; }
  let b = i / u.s0;
  var r = i - b * u.s0;
  let o = r / u.s1;
  r = r - o * u.s1;
  let k = r / u.slice;
  let s = r - k * u.slice;
  let idx = i32(indices[b * u.n + k]);
  if (idx < 0 || u32(idx) >= u.dimSize) { out[i] = 0u; return; }
  out[i] = x[((b * u.outer + o) * u.dimSize + u32(idx)) * u.slice + s];`,
  });
  return {name: GatherV2, key: `gatherV2|${indexType}`, shader, uniforms, dispatch: dispatch1D(size, WORKGROUP)};
}

function gather(b: MpsgpuBackend, x: TensorInfo, indices: TensorInfo, g: GatherDims, outShape: number[],
                indexValues: TypedArray): TensorInfo {
  if (x.dtype === 'complex64') return mapComplex(b, x, part => gather(b, part, indices, g, outShape, indexValues));
  if (util.sizeFromShape(outShape) === 0) return b.makeTensorInfo(outShape, x.dtype, x.dtype === 'string' ? [] : undefined);
  if (x.dtype === 'string') {
    return gatherStrings(b, x, outShape, i => {
      const s = i % g.slice, k = Math.floor(i / g.slice) % g.n;
      const o = Math.floor(i / (g.slice * g.n)) % g.outer, bi = Math.floor(i / (g.slice * g.n * g.outer));
      return ((bi * g.outer + o) * g.dimSize + Math.trunc(indexValues[bi * g.n + k])) * g.slice + s;
    });
  }
  return b.runProgram(gatherProgram(g, indices.dtype === 'float32' ? 'f32' : 'i32'), [x, indices], outShape, x.dtype);
}

export const gatherV2Config: KernelConfig = {
  kernelName: GatherV2,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x, indices} = inputs as {x: TensorInfo; indices: TensorInfo};
    const {axis, batchDims} = attrs as unknown as GatherV2Attrs;
    if (indices.dtype !== 'int32' && indices.dtype !== 'float32') {
      throw new Error(`GatherV2: input 'indices' must be int32, got dtype ${indices.dtype} (shape [${indices.shape}])`);
    }
    const parsedAxis = util.parseAxisParam(axis, x.shape)[0];
    // Out-of-range indices throw tfjs-backend-cpu's error, before anything is recorded.
    const indexValues = b.readSync(indices.dataId) as TypedArray;
    const axisDim = x.shape[parsedAxis];
    for (let i = 0; i < indexValues.length; ++i) {
      const index = indexValues[i];
      util.assert(index <= axisDim - 1 && index >= 0, () => `GatherV2: the index value ${index} is not in [0, ${axisDim - 1}]`);
    }
    const info = backend_util.segment_util.collectGatherOpShapeInfo(x, indices, parsedAxis, batchDims ?? 0);
    const indicesSize = util.sizeFromShape(indices.shape);
    const g: GatherDims = {
      batch: info.batchSize, outer: info.outerSize, dimSize: info.dimSize, slice: info.sliceSize,
      n: info.batchSize > 0 ? indicesSize / info.batchSize : 0,
    };
    return gather(b, x, indices, g, info.outputShape, indexValues);
  },
};
