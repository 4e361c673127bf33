// SpaceToBatchND (pad, then a transpose of the blocks into the batch) and BatchToSpaceND (the
// inverse transpose, then a crop), as tfjs-backend-cpu composes them; reshapes are views, so each is
// at most two dispatches (a zero padding or crop costs none).
import {backend_util, BatchToSpaceND, BatchToSpaceNDAttrs, KernelConfig, SpaceToBatchND, SpaceToBatchNDAttrs, slice_util,
        TensorInfo, util} from '@tensorflow/tfjs-core';

import {mpsgpuBackend, reshapeView} from '../src/kernel_util.js';

import {check} from './array_common.js';
import {padTensor} from './PadV2.js';
import {sliceTensor} from './Slice.js';
import {transposeTensor} from './Transpose.js';

function checkBlock(kernel: string, x: TensorInfo, blockShape: number[], pairs: number[][], pairName: string) {
  check(x.dtype !== 'string', () => `${kernel}: input 'x' has dtype string (shape [${x.shape}])`);
  check(blockShape.length >= 1 && blockShape.every(v => Number.isInteger(v) && v >= 1),
        () => `${kernel}: blockShape [${blockShape}] must be positive integers, at least one`);
  check(x.shape.length >= 1 + blockShape.length,
        () => `${kernel}: input 'x' of shape [${x.shape}] must have rank > blockShape.length ${blockShape.length}`);
  check(pairs.length === blockShape.length &&
        pairs.every(p => p.length === 2 && p.every(v => Number.isInteger(v) && v >= 0)),
        () => `${kernel}: ${pairName} ${JSON.stringify(pairs)} must hold one pair of non-negative integers per block dimension ` +
          `(${blockShape.length})`);
}

export const spaceToBatchNDConfig: KernelConfig = {
  kernelName: SpaceToBatchND,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x} = inputs as {x: TensorInfo};
    const {blockShape, paddings} = attrs as unknown as SpaceToBatchNDAttrs;
    checkBlock(SpaceToBatchND, x, blockShape, paddings, 'paddings');
    blockShape.forEach((s, i) => {
      const padded = x.shape[i + 1] + paddings[i][0] + paddings[i][1];
      check(padded % s === 0, () => `SpaceToBatchND: padded dimension ${i + 1} of input 'x' (shape [${x.shape}]) is ${padded}, ` +
        `not divisible by blockShape[${i}] = ${s}`);
    });
    const prod = util.sizeFromShape(blockShape);
    const full: Array<[number, number]> = [[0, 0], ...paddings.map(p => [p[0], p[1]] as [number, number])];
    while (full.length < x.shape.length) full.push([0, 0]);
    const padded = full.some(p => p[0] > 0 || p[1] > 0) ? padTensor(b, x, full, 0) : reshapeView(b, x, x.shape);
    const reshaped = backend_util.getReshaped(padded.shape, blockShape, prod, false);
    const perm = backend_util.getPermuted(reshaped.length, blockShape.length, false);
    const outShape = backend_util.getReshapedPermuted(padded.shape, blockShape, prod, false);
    const view = reshapeView(b, padded, reshaped);
    const transposed = transposeTensor(b, view, perm);
    const out = reshapeView(b, transposed, outShape);
    [padded, view, transposed].forEach(t => b.disposeIntermediateTensorInfo(t));
    return out;
  },
};

export const batchToSpaceNDConfig: KernelConfig = {
  kernelName: BatchToSpaceND,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x} = inputs as {x: TensorInfo};
    const {blockShape, crops} = attrs as unknown as BatchToSpaceNDAttrs;
    checkBlock(BatchToSpaceND, x, blockShape, crops, 'crops');
    const prod = util.sizeFromShape(blockShape);
    check(x.shape[0] % prod === 0, () => `BatchToSpaceND: the batch ${x.shape[0]} of input 'x' (shape [${x.shape}]) is not ` +
      `divisible by the product of blockShape [${blockShape}] = ${prod}`);
    const reshaped = backend_util.getReshaped(x.shape, blockShape, prod);
    const perm = backend_util.getPermuted(reshaped.length, blockShape.length);
    const uncropped = backend_util.getReshapedPermuted(x.shape, blockShape, prod);
    const begin = backend_util.getSliceBeginCoords(crops, blockShape.length);
    const size = backend_util.getSliceSize(uncropped, crops, blockShape.length);
    size.forEach((s, d) => check(s >= 0, () => `BatchToSpaceND: crops ${JSON.stringify(crops)} are larger than dimension ${d} ` +
      `(${uncropped[d]}) of the output for input 'x' of shape [${x.shape}]`));
    const view = reshapeView(b, x, reshaped);
    const transposed = transposeTensor(b, view, perm);
    const uncroppedView = reshapeView(b, transposed, uncropped);
    // begin and size cover the batch and block axes; the remaining axes are taken whole.
    const [$begin, $size] = slice_util.parseSliceParams(uncroppedView, begin, size);
    const out = sliceTensor(b, uncroppedView, $begin, $size, BatchToSpaceND);
    [view, transposed, uncroppedView].forEach(t => b.disposeIntermediateTensorInfo(t));
    return out;
  },
};
