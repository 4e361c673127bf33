// Segment, scatter, cumulative and space/batch kernels, collected by kernels/index.ts.
import {KernelConfig} from '@tensorflow/tfjs-core';

import {bincountConfig, denseBincountConfig} from './Bincount.js';
import {broadcastArgsConfig} from './BroadcastArgs.js';
import {cumprodConfig, cumsumConfig} from './Cumsum.js';
import {depthToSpaceConfig} from './DepthToSpace.js';
import {diagConfig} from './Diag.js';
import {einsumConfig} from './Einsum.js';
import {fftKernelConfig, ifftKernelConfig} from './FFT.js';
import {flipLeftRightConfig} from './FlipLeftRight.js';
import {linSpaceConfig} from './LinSpace.js';
import {multinomialConfig} from './Multinomial.js';
import {searchSortedConfig} from './SearchSorted.js';
import {scatterNdConfig, sparseToDenseConfig, tensorScatterUpdateConfig} from './ScatterNd.js';
import {sparseSegmentMeanConfig, sparseSegmentSumConfig} from './SparseSegment.js';
import {batchToSpaceNDConfig, spaceToBatchNDConfig} from './SpaceToBatchND.js';
import {topKConfig} from './TopK.js';
import {uniqueConfig} from './Unique.js';
import {unsortedSegmentSumConfig} from './UnsortedSegmentSum.js';

export const arrayKernels: KernelConfig[] = [
  unsortedSegmentSumConfig,
  cumsumConfig,
  cumprodConfig,
  spaceToBatchNDConfig,
  batchToSpaceNDConfig,
  depthToSpaceConfig,
  scatterNdConfig,
  tensorScatterUpdateConfig,
  diagConfig,
  linSpaceConfig,
  flipLeftRightConfig,
  broadcastArgsConfig,
  bincountConfig,
  denseBincountConfig,
  topKConfig,
  fftKernelConfig,
  ifftKernelConfig,
  einsumConfig,
  searchSortedConfig,
  sparseToDenseConfig,
  sparseSegmentSumConfig,
  sparseSegmentMeanConfig,
  uniqueConfig,
  multinomialConfig,
];
