// The shape family's kernels, collected by kernels/index.ts.
import {KernelConfig} from '@tensorflow/tfjs-core';

import {broadcastToConfig} from './BroadcastTo.js';
import {complexConfig, imagConfig, realConfig} from './Complex.js';
import {concatConfig} from './Concat.js';
import {expandDimsConfig} from './ExpandDims.js';
import {gatherNdConfig} from './GatherNd.js';
import {gatherV2Config} from './GatherV2.js';
import {mirrorPadConfig} from './MirrorPad.js';
import {oneHotConfig} from './OneHot.js';
import {packConfig} from './Pack.js';
import {padV2Config} from './PadV2.js';
import {rangeConfig} from './Range.js';
import {reverseConfig} from './Reverse.js';
import {selectConfig} from './Select.js';
import {sliceConfig} from './Slice.js';
import {splitVConfig} from './SplitV.js';
import {stridedSliceConfig} from './StridedSlice.js';
import {tileConfig} from './Tile.js';
import {transposeConfig} from './Transpose.js';
import {unpackConfig} from './Unpack.js';

export const shapeKernels: KernelConfig[] = [
  transposeConfig,
  sliceConfig,
  stridedSliceConfig,
  concatConfig,
  packConfig,
  unpackConfig,
  splitVConfig,
  padV2Config,
  mirrorPadConfig,
  tileConfig,
  reverseConfig,
  gatherV2Config,
  gatherNdConfig,
  oneHotConfig,
  selectConfig,
  rangeConfig,
  broadcastToConfig,
  expandDimsConfig,
  complexConfig,
  realConfig,
  imagConfig,
];
