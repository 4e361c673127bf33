// SearchSorted (tf.searchSorted, lowerBound, upperBound): one binary search per value, in its batch
// row of the sorted sequence, with tfjs-backend-cpu's comparisons (NaN compares false).
import {KernelConfig, SearchSorted, SearchSortedAttrs, TensorInfo, util} from '@tensorflow/tfjs-core';

import {mpsgpuBackend} from '../src/kernel_util.js';

import {check, perElementProgram, storageType} from './array_common.js';

export const searchSortedConfig: KernelConfig = {
  kernelName: SearchSorted,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {sortedSequence: seq, values} = inputs as {sortedSequence: TensorInfo; values: TensorInfo};
    const {side} = attrs as unknown as SearchSortedAttrs;
    check(seq.shape.length === 2 && values.shape.length === 2 && seq.shape[0] === values.shape[0],
          () => `SearchSorted: 'sortedSequence' [${seq.shape}] and 'values' [${values.shape}] must be 2-D with one batch size`);
    check(seq.dtype === values.dtype && (seq.dtype === 'float32' || seq.dtype === 'int32'),
          () => `SearchSorted: 'sortedSequence' (${seq.dtype}) and 'values' (${values.dtype}) must both be float32 or int32`);
    check(side === 'left' || side === 'right', () => `SearchSorted: side must be 'left' or 'right', got ${side}`);
    if (util.sizeFromShape(values.shape) === 0) return b.makeTensorInfo(values.shape, 'int32');
    const [, n] = seq.shape;
    const [, m] = values.shape;
    const body = `
  let row = i / u.m;
  let v = vals[i];
  var left = 0u;
  var right = u.n;
  loop {
    if (left >= right) { break; }
    let mid = (left + right) / 2u;
    if (seq[row * u.n + mid] ${side === 'left' ? '<' : '<='} v) { left = mid + 1u; } else { right = mid; }
  }
  out[i] = i32(right);`;
    const program = perElementProgram(SearchSorted, `searchSorted|${side}`, util.sizeFromShape(values.shape),
                                      [{name: 'seq', type: storageType(seq.dtype)}, {name: 'vals', type: storageType(values.dtype)}],
                                      'i32', body, [{name: 'n', type: 'u32', value: n}, {name: 'm', type: 'u32', value: m}]);
    return b.runProgram(program, [seq, values], values.shape, 'int32');
  },
};
