// Every kernel mpsgpu registers, by family; each family's list names its kernel files.
import {KernelConfig} from '@tensorflow/tfjs-core';

import {arrayKernels} from './array_kernels.js';
import {convKernels} from './conv_kernels.js';
import {cpuKernels} from './cpu_kernels.js';
import {elementwiseKernels} from './elementwise_kernels.js';
import {imageKernels} from './image_kernels.js';
import {reductionKernels} from './reduction_kernels.js';
import {shapeKernels} from './shape_kernels.js';

export const kernelConfigs: KernelConfig[] = [
  ...elementwiseKernels,
  ...shapeKernels,
  ...reductionKernels,
  ...convKernels,
  ...arrayKernels,
  ...imageKernels,
  ...cpuKernels,
];
