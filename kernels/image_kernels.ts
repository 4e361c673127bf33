// Image and local-normalization kernels, collected by kernels/index.ts.
import {KernelConfig} from '@tensorflow/tfjs-core';

import {cropAndResizeConfig} from './CropAndResize.js';
import {dilation2DBackpropFilterConfig, dilation2DBackpropInputConfig, dilation2DConfig} from './Dilation2D.js';
import {lrnConfig, lrnGradConfig} from './LRN.js';
import {resizeBilinearConfig, resizeBilinearGradConfig, resizeNearestNeighborConfig, resizeNearestNeighborGradConfig} from './image_resize.js';
import {rotateWithOffsetConfig, transformConfig} from './Transform.js';

export const imageKernels: KernelConfig[] = [
  resizeBilinearConfig,
  resizeBilinearGradConfig,
  resizeNearestNeighborConfig,
  resizeNearestNeighborGradConfig,
  cropAndResizeConfig,
  transformConfig,
  rotateWithOffsetConfig,
  lrnConfig,
  lrnGradConfig,
  dilation2DConfig,
  dilation2DBackpropInputConfig,
  dilation2DBackpropFilterConfig,
];
