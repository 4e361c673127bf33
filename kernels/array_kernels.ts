// Segment, scatter, cumulative and space/batch kernels, collected by kernels/index.ts.
import {KernelConfig} from '@tensorflow/tfjs-core';

export const arrayKernels: KernelConfig[] = [];
