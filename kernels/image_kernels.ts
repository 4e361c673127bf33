// Image and local-normalization kernels, collected by kernels/index.ts.
import {KernelConfig} from '@tensorflow/tfjs-core';

export const imageKernels: KernelConfig[] = [];
