// Range: computed on the CPU with tfjs-backend-cpu's exact recurrence (each value the previous one
// plus step, rounded to the dtype) and uploaded when a kernel first reads it. A GPU formula
// start + i·step would round differently from the CPU backend for float32.
import {KernelConfig, Range, RangeAttrs, util} from '@tensorflow/tfjs-core';

import {mpsgpuBackend} from '../src/kernel_util.js';

export function rangeValues(start: number, stop: number, step: number, dtype: 'float32'|'int32'): Float32Array|Int32Array {
  const empty = dtype === 'int32' ? new Int32Array(0) : new Float32Array(0);
  // The CPU backend's conditions, quirks included (a positive step on a decreasing range is only
  // refused when above 1; step 1 there counts down).
  if (start === stop || (start < stop && step < 0) || (stop < start && step > 1)) return empty;
  const n = Math.abs(Math.ceil((stop - start) / step));
  if (!Number.isFinite(n)) throw new Error(`Range: cannot count from ${start} to ${stop} in steps of ${step}`);
  const values = util.makeZerosTypedArray(n, dtype) as Float32Array|Int32Array;
  if (stop < start && step === 1) step = -1;
  if (n > 0) values[0] = start;
  for (let i = 1; i < n; i++) values[i] = values[i - 1] + step;
  return values;
}

export const rangeConfig: KernelConfig = {
  kernelName: Range,
  backendName: 'mpsgpu',
  kernelFunc: ({backend, attrs}) => {
    const {start, stop, step, dtype} = attrs as unknown as RangeAttrs;
    if (dtype !== 'float32' && dtype !== 'int32') throw new Error(`Range: dtype must be float32 or int32, got ${dtype}`);
    const values = rangeValues(start, stop, step, dtype);
    return mpsgpuBackend(backend).makeTensorInfo([values.length], dtype, values);
  },
};
