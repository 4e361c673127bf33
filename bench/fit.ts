// Side-by-side training throughput: the MNIST-style CNN trained with tfjs-layers `model.fit` on
// mpsgpu and on the official backends (webgpu, cpu, wasm) in one process, on the same adapter,
// same synthetic data and model. Prints images/s per backend and the ratio to mpsgpu, and writes
// JSON (--json FILE).
//
//   npm run bench:fit -- [--backends mpsgpu,webgpu,cpu] [--batch-size 256] [--steps 10] [--warmup 10]
//                        [--json out.json]
//
// Each backend first trains a warm-up epoch of --warmup batches (shaders, pools, and the JavaScript
// engine's optimized code), then the timed epoch of --steps batches.
//
// `mpsgpu:nofusion` runs mpsgpu with MPSGPU_FUSION off (the graph's fusion passes skipped),
// `mpsgpu:noramp` without the flush ramp (MPSGPU_FLUSH_FIRST 0). For the
// mpsgpu runs it also prints recorded nodes and dispatches per training step (mpsgpu.stats()).
//
// Only ratios mean something on lavapipe (a CPU driver); absolute times only on a real GPU.
import './webgpu_node_setup.js';

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import fs from 'fs';

import {parseOptions, requirePositiveIntegers, usageOf} from '../demos/cli.js';

import {adapterDescription, printComparison, timeFit} from './harness.js';

const DEFAULTS = {backends: ['mpsgpu', 'webgpu', 'cpu'], batchSize: 256, steps: 10, warmup: 10, json: ''};

const usage = usageOf(DEFAULTS);

function parseArgs(argv: string[]) {
  const opts = parseOptions(argv, DEFAULTS, usage);
  requirePositiveIntegers(opts, ['batchSize', 'steps', 'warmup'], usage);
  return opts;
}

function buildModel(): tfl.Sequential {
  const model = tfl.sequential();
  model.add(tfl.layers.conv2d({inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({seed: 1})}));
  model.add(tfl.layers.maxPooling2d({poolSize: 2}));
  model.add(tfl.layers.conv2d({filters: 64, kernelSize: 3, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({seed: 2})}));
  model.add(tfl.layers.maxPooling2d({poolSize: 2}));
  model.add(tfl.layers.flatten());
  model.add(tfl.layers.dense({units: 128, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({seed: 3})}));
  model.add(tfl.layers.dense({units: 10, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({seed: 4})}));
  model.compile({optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy']});
  return model;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const adapter = await adapterDescription();
  console.log(`adapter: ${adapter}; batch ${opts.batchSize}, ${opts.steps} steps`);
  const makeData = (n: number) => ({
    xs: tf.randomUniform([n, 28, 28, 1], 0, 1, 'float32', 7),
    ys: tf.tidy(() => tf.oneHot(tf.randomUniform([n], 0, 10, 'int32', 8), 10).toFloat()),
  });
  const results: Record<string, number> = {};
  for (const name of opts.backends) {
    try {
      results[name] = await timeFit(name, {buildModel, makeData, batchSize: opts.batchSize, steps: opts.steps, warmup: opts.warmup});
      console.log(`${name.padEnd(8)} ${results[name].toFixed(1)} images/s`);
    } catch (e) {
      console.log(`${name.padEnd(8)} failed: ${(e as Error).message}`);
    }
  }
  printComparison(results, 'images/s', true);
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({adapter, date: new Date().toISOString(), ...opts, imagesPerSecond: results}, null, 2));
  process.exit(0);
}

await main();
