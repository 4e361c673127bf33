// Tile (also what tfjs-core's broadcastTo runs): out[c] = x[c mod x.shape].
import {KernelConfig, TensorInfo, Tile, TileAttrs, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {Program} from '../src/codegen/program.js';
import {arrayUniforms, stridesOf, wgslType} from '../src/codegen/shader.js';
import {wordCopyProgram} from '../src/codegen/word_copy.js';
import {input} from '../src/codegen/elementwise.js';
import {mpsgpuBackend, reshapeView, runElementwise} from '../src/kernel_util.js';

import {mapComplex} from './Complex.js';
import {gatherStrings} from './Slice.js';

function tileProgram(xShape: number[], outShape: number[]): Program {
  const terms = xShape.map((_, d) => `(c${d} % u.xShape${d}) * u.xStride${d}`);
  return wordCopyProgram({
    name: Tile, key: 'tile', outShape,
    uniforms: [...arrayUniforms('xShape', xShape), ...arrayUniforms('xStride', stridesOf(xShape))],
    source: terms.length ? terms.join(' + ') : '0u',
  });
}

/** Drops the axes where both x and the output have extent 1 (they change no index). */
function dropUnitAxes(xShape: number[], outShape: number[]): [number[], number[]] {
  const keep = outShape.map((n, d) => !(n === 1 && xShape[d] === 1));
  return [xShape.filter((_, d) => keep[d]), outShape.filter((_, d) => keep[d])];
}

export function tileTensor(b: MpsgpuBackend, x: TensorInfo, reps: number[]): TensorInfo {
  const rank = x.shape.length;
  if (reps.length !== rank || reps.some(r => !Number.isInteger(r) || r < 0)) {
    throw new Error(`Tile: reps [${reps}] must be ${rank} non-negative integers, one per axis of input 'x' ` +
      `(shape [${x.shape}], dtype ${x.dtype})`);
  }
  if (x.dtype === 'complex64') return mapComplex(b, x, part => tileTensor(b, part, reps));
  const outShape = x.shape.map((n, d) => n * reps[d]);
  const size = util.sizeFromShape(outShape);
  if (size === 0) return b.makeTensorInfo(outShape, x.dtype, x.dtype === 'string' ? [] : undefined);
  if (reps.every(r => r === 1)) return reshapeView(b, x, outShape);
  if (x.dtype === 'string') {
    const outStrides = stridesOf(outShape), xStrides = stridesOf(x.shape);
    return gatherStrings(b, x, outShape, i => {
      let src = 0;
      for (let d = 0; d < rank; ++d) {
        const c = Math.floor(i / outStrides[d]);
        i -= c * outStrides[d];
        src += (c % x.shape[d]) * xStrides[d];
      }
      return src;
    });
  }
  // Repeating only axes of extent 1 is a broadcast (tfjs's batch-norm gradient tiles a
  // per-channel vector to x's shape): an elementwise kernel, which fusion folds into its reader,
  // so the tiled tensor is never stored.
  if (reps.every((r, d) => r === 1 || x.shape[d] === 1)) {
    return runElementwise(b, Tile, input(0, wgslType(x.dtype)), [x], x.dtype, outShape);
  }
  const [xs, os] = dropUnitAxes(x.shape, outShape);
  return b.runProgram(tileProgram(xs, os), [x], outShape, x.dtype);
}

export const tileConfig: KernelConfig = {
  kernelName: Tile,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const {x} = inputs as {x: TensorInfo};
    const {reps} = attrs as unknown as TileAttrs;
    return tileTensor(mpsgpuBackend(backend), x, reps);
  },
};
