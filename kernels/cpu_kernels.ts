// Kernels computed on the CPU from the GPU's values (data-dependent output shapes, strings,
// sparse and ragged tensors), collected by kernels/index.ts.
import {KernelConfig} from '@tensorflow/tfjs-core';

export const cpuKernels: KernelConfig[] = [];
