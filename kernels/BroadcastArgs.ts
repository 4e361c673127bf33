// BroadcastArgs: the broadcast of two shapes given as int32 vectors (read on the CPU; tiny).
import {backend_util, BroadcastArgs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {mpsgpuBackend} from '../src/kernel_util.js';

import {check, readInts} from './array_common.js';

export const broadcastArgsConfig: KernelConfig = {
  kernelName: BroadcastArgs,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend}) => {
    const b = mpsgpuBackend(backend);
    const {s0, s1} = inputs as {s0: TensorInfo; s1: TensorInfo};
    for (const [name, t] of [['s0', s0], ['s1', s1]] as const) {
      check(t.dtype === 'int32' && t.shape.length === 1,
            () => `BroadcastArgs: input '${name}' must be an int32 vector, got dtype ${t.dtype} and shape [${t.shape}]`);
    }
    const shape = backend_util.assertAndGetBroadcastShape(Array.from(readInts(b, s0)), Array.from(readInts(b, s1)));
    return b.makeTensorInfo([shape.length], 'int32', Int32Array.from(shape));
  },
};
