// The reduction family's kernels, collected by kernels/index.ts.
import {KernelConfig} from '@tensorflow/tfjs-core';

import {argMaxConfig, argMinConfig} from './ArgMinMax.js';
import {batchMatMulConfig, fusedMatMulConfig} from './BatchMatMul.js';
import {reduceKernelConfigs} from './reduce.js';
import {softmaxConfig} from './Softmax.js';

export const reductionKernels: KernelConfig[] = [
  ...reduceKernelConfigs,
  argMaxConfig,
  argMinConfig,
  softmaxConfig,
  batchMatMulConfig,
  fusedMatMulConfig,
];
