// LinSpace: computed on the CPU with tfjs-backend-cpu's float32 recurrence (each value the previous
// one plus the step) and uploaded when a kernel first reads it, like Range.
import {KernelConfig, LinSpace, LinSpaceAttrs} from '@tensorflow/tfjs-core';

import {mpsgpuBackend} from '../src/kernel_util.js';

import {check} from './array_common.js';

export const linSpaceConfig: KernelConfig = {
  kernelName: LinSpace,
  backendName: 'mpsgpu',
  kernelFunc: ({backend, attrs}) => {
    const {start, stop, num} = attrs as unknown as LinSpaceAttrs;
    check(Number.isInteger(num) && num >= 0, () => `LinSpace: num must be a non-negative integer, got ${num}`);
    const values = new Float32Array(num);
    const step = (stop - start) / (num - 1);
    if (num > 0) values[0] = start;
    for (let i = 1; i < num; ++i) values[i] = values[i - 1] + step;
    return mpsgpuBackend(backend).makeTensorInfo([num], 'float32', values);
  },
};
