// Kernels computed on the CPU from the GPU's values (data-dependent output shapes, strings,
// sparse and ragged tensors, drawing into a canvas), collected by kernels/index.ts.
import {KernelConfig} from '@tensorflow/tfjs-core';

import {drawConfig} from './Draw.js';
import {nonMaxSuppressionV3Config, nonMaxSuppressionV4Config, nonMaxSuppressionV5Config} from './NonMaxSuppression.js';
import {raggedGatherConfig, raggedRangeConfig, raggedTensorToTensorConfig} from './ragged.js';
import {sparseFillEmptyRowsConfig, sparseReshapeConfig} from './sparse.js';
import {staticRegexReplaceConfig, stringNGramsConfig, stringSplitConfig, stringToHashBucketFastConfig} from './strings.js';

// Unique, SparseSegmentSum/Mean, SparseToDense and Multinomial are registered by array_kernels.ts.
export const cpuKernels: KernelConfig[] = [
  drawConfig,
  nonMaxSuppressionV3Config,
  nonMaxSuppressionV4Config,
  nonMaxSuppressionV5Config,
  sparseFillEmptyRowsConfig,
  sparseReshapeConfig,
  stringNGramsConfig,
  stringSplitConfig,
  stringToHashBucketFastConfig,
  staticRegexReplaceConfig,
  raggedGatherConfig,
  raggedRangeConfig,
  raggedTensorToTensorConfig,
];
