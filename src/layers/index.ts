// The `tfjs-backend-mpsgpu/layers` entry: layers on mpsgpu's fused ops, for tfjs-layers users
// (@tensorflow/tfjs-layers is an optional peer dependency, needed only here). Importing it also
// attaches `layers` to the `mpsgpu` namespace object of the main entry (import that one first in
// Node: `tfjs-backend-mpsgpu/node`).
import {mpsgpu as base} from '../index.js';

import {lstm, MpsgpuLSTM} from './lstm.js';

export const layers = {
  /** A drop-in for tf.layers.lstm(config): the same layer, computed by mpsgpu.lstm. */
  lstm,
};

Object.assign(base, {layers});

/** The `mpsgpu` namespace, with `layers` attached. */
export const mpsgpu = base as typeof base & {layers: typeof layers};

export {lstm, MpsgpuLSTM};
