// The shape family's kernels, collected by kernels/index.ts.
import {KernelConfig} from '@tensorflow/tfjs-core';

export const shapeKernels: KernelConfig[] = [];
