// tfjs-layers training on mpsgpu: the same models, from the same initial weights, trained the same
// fixed steps (model.fit, no shuffle, no dropout) on tfjs-backend-cpu and on mpsgpu give the same
// loss at every step and the same final weights; and model.fit leaks no tensors.
//
// Tolerance: LOSS_TOL and WEIGHT_TOL below, relative-or-absolute as in expectClose (|a - e| <=
// tol * max(1, |e|)). Adam normalizes each update (m / (sqrt(v) + 1e-7)), so float32 rounding in
// the gradients moves a weight by at most a small fraction of the learning rate per step; with
// lr 0.01 and 20 steps, 1e-3 leaves room for that and still catches any wrong gradient
// (measured on lavapipe: losses and weights within 2e-7 of cpu).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {mpsgpu} from '../src/index.js';

import {describeLazyAndEager, expectClose, randomInts, randomValues, withFlags} from './util.js';

const LOSS_TOL = 1e-3;
const WEIGHT_TOL = 1e-3;

interface ModelCase {
  name: string;
  build: () => tfl.Sequential;
  inputShape: number[];
  classes: number;
  batchSize: number;
  batches: number;
  epochs: number;
  lr: number;
}

function mlp(): tfl.Sequential {
  const model = tfl.sequential();
  model.add(tfl.layers.dense({inputShape: [12], units: 16, activation: 'relu'}));
  model.add(tfl.layers.dense({units: 5, activation: 'softmax'}));
  return model;
}

function cnn(): tfl.Sequential {
  const model = tfl.sequential();
  model.add(tfl.layers.conv2d({inputShape: [9, 9, 2], filters: 4, kernelSize: 3, activation: 'relu'}));
  model.add(tfl.layers.maxPooling2d({poolSize: 2, strides: 2}));
  model.add(tfl.layers.flatten());
  model.add(tfl.layers.dense({units: 3, activation: 'softmax'}));
  return model;
}

/** Two convolutions, as in demos/mnist (so the second one's input gradient is computed too). */
function cnn2(): tfl.Sequential {
  const model = tfl.sequential();
  model.add(tfl.layers.conv2d({inputShape: [12, 12, 1], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu'}));
  model.add(tfl.layers.maxPooling2d({poolSize: 2, strides: 2}));
  model.add(tfl.layers.conv2d({filters: 6, kernelSize: 3, activation: 'relu'}));
  model.add(tfl.layers.maxPooling2d({poolSize: 2, strides: 2}));
  model.add(tfl.layers.flatten());
  model.add(tfl.layers.dense({units: 8, activation: 'relu'}));
  model.add(tfl.layers.dense({units: 3, activation: 'softmax'}));
  return model;
}

/** Convolutions with batch normalization in training mode (batch statistics, moving averages). */
function bnCnn(): tfl.Sequential {
  const model = tfl.sequential();
  model.add(tfl.layers.conv2d({inputShape: [10, 10, 2], filters: 4, kernelSize: 3, useBias: false}));
  model.add(tfl.layers.batchNormalization({axis: 3}));
  model.add(tfl.layers.activation({activation: 'relu'}));
  model.add(tfl.layers.maxPooling2d({poolSize: 2, strides: 2}));
  model.add(tfl.layers.conv2d({filters: 8, kernelSize: 3, padding: 'same', useBias: false}));
  model.add(tfl.layers.batchNormalization({axis: 3}));
  model.add(tfl.layers.activation({activation: 'relu'}));
  model.add(tfl.layers.globalAveragePooling2d({}));
  model.add(tfl.layers.dense({units: 3, activation: 'softmax'}));
  return model;
}

// 20 training steps each (batches × epochs), as issue 5 asks of the parity runs.
const CASES: ModelCase[] = [
  {name: 'MLP dense(16,relu)-dense(5,softmax), Adam', build: mlp, inputShape: [12], classes: 5, batchSize: 8, batches: 4, epochs: 5, lr: 0.01},
  {name: 'CNN conv2d(4,3x3,relu)-maxPool(2)-flatten-dense(3,softmax), Adam', build: cnn, inputShape: [9, 9, 2], classes: 3, batchSize: 6, batches: 4, epochs: 5, lr: 0.01},
  {name: 'CNN conv2d(4,3x3,same,relu)-maxPool-conv2d(6,3x3,relu)-maxPool-flatten-dense(8,relu)-dense(3,softmax), Adam', build: cnn2, inputShape: [12, 12, 1], classes: 3, batchSize: 5, batches: 4, epochs: 5, lr: 0.01},
  {name: 'CNN with batch norm: conv2d-BN-relu-maxPool-conv2d-BN-relu-globalAvgPool-dense(3,softmax), Adam', build: bnCnn, inputShape: [10, 10, 2], classes: 3, batchSize: 6, batches: 4, epochs: 5, lr: 0.01},
];

/** Glorot-uniform-like weights from `randomValues` (biases small, non-zero), the same everywhere. */
function deterministicWeights(model: tfl.LayersModel, seed: number): tf.Tensor[] {
  return model.weights.map((w, i) => {
    const shape = w.shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    let limit = 0.1;
    if (shape.length >= 2) {
      const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
      limit = Math.sqrt(6 / (receptive * (shape[shape.length - 2] + shape[shape.length - 1])));
    }
    return tf.tensor(randomValues(size, seed + i, -limit, limit), shape);
  });
}

function dataset(c: ModelCase, seed: number): {x: tf.Tensor; y: tf.Tensor} {
  const n = c.batchSize * c.batches;
  const x = tf.tensor(randomValues(n * c.inputShape.reduce((a, b) => a * b, 1), seed, 0, 1), [n, ...c.inputShape]);
  const labels = randomInts(n, seed + 1, 0, c.classes - 1);
  const oneHot = new Float32Array(n * c.classes);
  labels.forEach((l, i) => oneHot[i * c.classes + l] = 1);
  return {x, y: tf.tensor2d(oneHot, [n, c.classes])};
}

interface Trained {losses: number[]; weights: Float32Array[]; shapes: number[][]}

/** Trains `c` on `backend` from the deterministic weights; the loss of every step, final weights. */
async function train(backend: string, c: ModelCase): Promise<Trained> {
  await tf.setBackend(backend);
  const model = c.build();
  const init = deterministicWeights(model, 100);
  model.setWeights(init);
  tf.dispose(init);
  const optimizer = tf.train.adam(c.lr);
  model.compile({optimizer, loss: 'categoricalCrossentropy'});
  const {x, y} = dataset(c, 7);
  const losses: number[] = [];
  await model.fit(x, y, {
    epochs: c.epochs, batchSize: c.batchSize, shuffle: false, verbose: 0,
    callbacks: {onBatchEnd: async (_batch, logs) => { losses.push(logs!.loss); }},
  });
  const weights = await Promise.all(model.getWeights().map(async w => Float32Array.from(await w.data() as Float32Array)));
  const shapes = model.getWeights().map(w => w.shape);
  tf.dispose([x, y]);
  model.dispose();
  optimizer.dispose();
  return {losses, weights, shapes};
}

describeLazyAndEager('tfjs-layers training parity with cpu', () => {
  for (const c of CASES) {
    it(`${c.name}: losses per step and final weights match cpu`, async () => {
      const cpu = await train('cpu', c);
      const gpu = await train('mpsgpu', c);
      expect(cpu.losses.length).toBe(c.batches * c.epochs);
      expect(gpu.losses.length).toBe(cpu.losses.length);
      // The model learns (else the comparison would be weak): the last epoch's mean loss is lower.
      const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
      expect(mean(cpu.losses.slice(-c.batches))).toBeLessThan(mean(cpu.losses.slice(0, c.batches)));
      expectClose(gpu.losses, cpu.losses, LOSS_TOL, `${c.name}: losses per step`);
      expect(gpu.shapes).toEqual(cpu.shapes);
      cpu.weights.forEach((w, i) => expectClose(gpu.weights[i], w, WEIGHT_TOL, `${c.name}: final weight ${i} [${cpu.shapes[i]}]`));
    });
  }
});

// A flush every 8 nodes: tfjs still holds most values at each flush (scopes open, values saved for
// the gradient), so they become virtual (src/memory/rematerialize.ts) and are recomputed where read.
describe('tfjs-layers training parity with cpu (a flush every 8 nodes: virtual values)', () => {
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
  });
  for (const c of CASES) {
    it(`${c.name}: losses per step and final weights match cpu`, withFlags({MPSGPU_FLUSH_THRESHOLD: 8, MPSGPU_FLUSH_FIRST: 0}, async () => {
      const cpu = await train('cpu', c);
      mpsgpu.resetStats();
      const gpu = await train('mpsgpu', c);
      const s = mpsgpu.stats();
      expect(s.virtualized).toBeGreaterThan(0);
      expect(s.recomputed).toBeGreaterThan(0);
      expectClose(gpu.losses, cpu.losses, LOSS_TOL, `${c.name}: losses per step`);
      cpu.weights.forEach((w, i) => expectClose(gpu.weights[i], w, WEIGHT_TOL, `${c.name}: final weight ${i} [${cpu.shapes[i]}]`));
    }));
  }
});

describe('tfjs-layers model.fit memory on mpsgpu', () => {
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
  });

  it('leaves only the optimizer state behind, and nothing more on a second fit', async () => {
    const start = tf.memory().numTensors;
    const model = tfl.sequential();
    model.add(tfl.layers.conv2d({inputShape: [8, 8, 1], filters: 3, kernelSize: 3, activation: 'relu'}));
    model.add(tfl.layers.maxPooling2d({poolSize: 2}));
    model.add(tfl.layers.dropout({rate: 0.25}));
    model.add(tfl.layers.flatten());
    model.add(tfl.layers.dense({units: 8, activation: 'relu'}));
    model.add(tfl.layers.dense({units: 4, activation: 'softmax'}));
    const optimizer = tf.train.adam(0.01);
    model.compile({optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy']});
    const n = 20;
    const x = tf.tensor4d(randomValues(n * 64, 3, 0, 1), [n, 8, 8, 1]);
    const oneHot = new Float32Array(n * 4);
    randomInts(n, 4, 0, 3).forEach((l, i) => oneHot[i * 4 + l] = 1);
    const y = tf.tensor2d(oneHot, [n, 4]);
    const beforeFit = tf.memory().numTensors;
    const beforeBuffers = tf.memory().numDataBuffers;

    // Shuffled batches (gather), a partial last batch (20 = 2 * 8 + 4), dropout, a metric.
    const history = await model.fit(x, y, {epochs: 3, batchSize: 8, shuffle: true, verbose: 0});
    expect(history.history.loss.length).toBe(3);
    // Adam's first and second moments, one each per trainable weight (its beta powers were made
    // with the optimizer, before `beforeFit`).
    const optimizerState = 2 * model.trainableWeights.length;
    const afterFit = tf.memory().numTensors;
    expect(afterFit).toBe(beforeFit + optimizerState, 'numTensors after fit = before + optimizer state');
    expect(tf.memory().numDataBuffers).toBe(beforeBuffers + optimizerState, 'numDataBuffers after fit');

    // Steady state: a second fit with validation, then evaluate and predict, add nothing.
    await model.fit(x, y, {epochs: 2, batchSize: 8, shuffle: true, verbose: 0, validationData: [x, y]});
    expect(tf.memory().numTensors).toBe(afterFit, 'numTensors after a second fit');
    const scores = model.evaluate(x, y, {batchSize: 8}) as tf.Scalar[];
    await Promise.all(scores.map(s => s.data()));
    tf.dispose(scores);
    const p = model.predict(x) as tf.Tensor;
    await p.data();
    p.dispose();
    expect(tf.memory().numTensors).toBe(afterFit, 'numTensors after evaluate and predict');

    tf.dispose([x, y]);
    model.dispose();
    optimizer.dispose();
    expect(tf.memory().numTensors).toBe(start, 'numTensors after disposing everything');
  });
});
