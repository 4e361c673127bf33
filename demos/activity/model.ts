// The activity classifier of Apple's WWDC 2018 MPS session ("Metal for Accelerating Machine
// Learning"): 1-D sensor recordings (2,000 samples × 6 channels) → strided Conv1Ds that compress
// them to 20 steps while widening the channels → an LSTM over those 20 steps → more convolutions
// → softmax over the activities. Shared by demos/activity/train.ts, bench/activity.ts and
// bench/lstm.ts (the LSTM layer choice).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {CHANNELS, CLASSES, SAMPLES} from './data.js';

export type LstmConfig = Parameters<typeof tfl.layers.lstm>[0];
export type LstmFactory = (config: LstmConfig) => tfl.layers.Layer;
export type LstmLayerKind = 'stock' | 'mpsgpu';

/** Steps the strided convolutions leave: the LSTM's sequence length. */
export const STEPS = 20;
/** Each of the two strided convolutions divides the length by this: 2,000 → 200 → 20. */
const STRIDE = Math.sqrt(SAMPLES / STEPS);

export interface ActivityModelOptions {
  /** LSTM units (128 in the demo). */
  units: number;
  /** Filters of the second strided convolution, the LSTM's input width (the first has half). */
  filters: number;
  /** Seeds the initializers (weights are reproducible per seed). */
  seed: number;
  lstm: LstmFactory;
  learningRate: number;
}

/**
 * input [2000, 6]
 * → conv1d(filters/2, kernel 10, stride 10, relu)   [200, filters/2]: 0.2 s windows
 * → conv1d(filters, kernel 10, stride 10, relu)     [20, filters]: 2 s per step
 * → lstm(units, returnSequences)                     [20, units]
 * → conv1d(64, kernel 3, same, relu)                 [20, 64]
 * → conv1d(64, kernel 3, same, relu)                 [20, 64]
 * → globalAveragePooling1d                           [64]
 * → dense(6, softmax)
 * compiled with Adam and categorical cross-entropy. Two strided convolutions rather than one of
 * kernel 100: the first one's relu gives each 2 s step a nonlinear summary of its 0.2 s windows
 * (their energy, short impacts anywhere in them), which one linear filter per 2 s cannot.
 */
export function activityModel(opts: ActivityModelOptions): tfl.LayersModel {
  let seed = opts.seed * 1000;
  const init = () => tfl.initializers.glorotUniform({seed: seed++});
  const model = tfl.sequential();
  model.add(tfl.layers.conv1d({
    inputShape: [SAMPLES, CHANNELS], filters: Math.max(1, opts.filters >> 1), kernelSize: STRIDE, strides: STRIDE,
    activation: 'relu', kernelInitializer: init(),
  }));
  model.add(tfl.layers.conv1d({filters: opts.filters, kernelSize: STRIDE, strides: STRIDE, activation: 'relu', kernelInitializer: init()}));
  model.add(opts.lstm({
    units: opts.units, returnSequences: true, kernelInitializer: init(),
    recurrentInitializer: tfl.initializers.orthogonal({seed: seed++}),
  }));
  model.add(tfl.layers.conv1d({filters: 64, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init()}));
  model.add(tfl.layers.conv1d({filters: 64, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init()}));
  model.add(tfl.layers.globalAveragePooling1d());
  model.add(tfl.layers.dense({units: CLASSES, activation: 'softmax', kernelInitializer: init()}));
  model.compile({optimizer: tf.train.adam(opts.learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy']});
  return model;
}

export function describeModel(model: tfl.LayersModel): string {
  return model.layers.map(l => {
    const shape = (l.outputShape as number[]).slice(1).join('×');
    return `${l.getClassName().toLowerCase()} [${shape}] ${l.countParams()}`;
  }).join(' → ');
}

/**
 * The LSTM layer factory: tfjs-layers' own, or mpsgpu's fused drop-in (`mpsgpu.layers.lstm`, same
 * config). The fused one is imported here, at run time, after the program imported mpsgpu's Node
 * entry (src/layers imports the browser entry, which must not be the first to load).
 */
export async function lstmFactory(kind: LstmLayerKind): Promise<LstmFactory> {
  if (kind === 'stock') return config => tfl.layers.lstm(config);
  const {layers} = await import('../../src/layers/index.js');
  return config => layers.lstm(config);
}

export function parseLayerKind(value: string): LstmLayerKind {
  if (value !== 'stock' && value !== 'mpsgpu') throw new Error(`--layer: stock or mpsgpu, not ${value}`);
  return value;
}
