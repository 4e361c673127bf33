// Elementwise kernels and views, collected by kernels/index.ts.
import {KernelConfig} from '@tensorflow/tfjs-core';

import {addNConfig} from './AddN.js';
import {binaryKernelConfigs} from './binary.js';
import {castConfig} from './Cast.js';
import {fillConfig, onesLikeConfig, zerosLikeConfig} from './Fill.js';
import {identityConfig, reshapeConfig} from './Reshape.js';
import {unaryKernelConfigs} from './unary.js';

export const elementwiseKernels: KernelConfig[] = [
  ...unaryKernelConfigs,
  ...binaryKernelConfigs,
  castConfig,
  reshapeConfig,
  identityConfig,
  fillConfig,
  zerosLikeConfig,
  onesLikeConfig,
  addNConfig,
];
