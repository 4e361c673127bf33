// The conv family's kernels, collected by kernels/index.ts.
import {KernelConfig} from '@tensorflow/tfjs-core';

import {conv2DConfig, fusedConv2DConfig} from './Conv2D.js';
import {conv2DBackpropFilterConfig} from './Conv2DBackpropFilter.js';
import {conv2DBackpropInputConfig} from './Conv2DBackpropInput.js';
import {avgPool3DConfig, avgPool3DGradConfig, conv3DBackpropFilterV2Config, conv3DBackpropInputV2Config, conv3DConfig, maxPool3DConfig,
        maxPool3DGradConfig} from './conv3d.js';
import {depthwiseConv2dNativeBackpropFilterConfig, depthwiseConv2dNativeBackpropInputConfig, depthwiseConv2dNativeConfig,
        fusedDepthwiseConv2DConfig} from './DepthwiseConv2dNative.js';
import {fusedBatchNormConfig} from './FusedBatchNorm.js';
import {avgPoolConfig, maxPoolConfig, maxPoolWithArgmaxConfig} from './pool.js';
import {avgPoolGradConfig, maxPoolGradConfig} from './pool_grad.js';

export const convKernels: KernelConfig[] = [
  conv2DConfig,
  fusedConv2DConfig,
  conv2DBackpropInputConfig,
  conv2DBackpropFilterConfig,
  depthwiseConv2dNativeConfig,
  fusedDepthwiseConv2DConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  maxPoolConfig,
  avgPoolConfig,
  maxPoolWithArgmaxConfig,
  maxPoolGradConfig,
  avgPoolGradConfig,
  fusedBatchNormConfig,
  conv3DConfig,
  conv3DBackpropInputV2Config,
  conv3DBackpropFilterV2Config,
  maxPool3DConfig,
  avgPool3DConfig,
  maxPool3DGradConfig,
  avgPool3DGradConfig,
];
