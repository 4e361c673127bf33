// Side-by-side training throughput of the activity classifier (demos/activity: Conv1D → LSTM →
// Conv1D → softmax on 2,000 × 6 sensor recordings): one `model.fit` epoch on mpsgpu and on the
// official backends in one process, on the same adapter, same generated recordings and weights.
// Prints recordings/s per backend and mpsgpu's speed-up over each; JSON with --json FILE.
//
//   npm run bench:activity -- [--backends mpsgpu,webgpu] [--batch-size 64] [--steps 10] [--warmup 10]
//                             [--units 128] [--layer stock|mpsgpu] [--json out.json]
//
// Backends and the warm-up as in bench/fit.ts (mpsgpu:nofusion, mpsgpu:noramp, cpu, ...).
// --layer mpsgpu builds the model with mpsgpu's fused LSTM layer (src/layers) on every backend.
// Only ratios mean something on lavapipe (a CPU driver); absolute rates only on a real GPU.
import './webgpu_node_setup.js';

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import fs from 'fs';

import {CHANNELS, CLASSES, generateRecordings, SAMPLES} from '../demos/activity/data.js';
import {activityModel, lstmFactory, parseLayerKind} from '../demos/activity/model.js';

import {parseOptions, requirePositiveIntegers, usageOf} from '../demos/cli.js';

import {adapterDescription, printComparison, timeFit} from './harness.js';

const DEFAULTS = {backends: ['mpsgpu', 'webgpu'], batchSize: 64, steps: 10, warmup: 10, units: 128, filters: 32, layer: 'stock', json: ''};

const usage = usageOf(DEFAULTS);

function parseArgs(argv: string[]) {
  const opts = parseOptions(argv, DEFAULTS, usage);
  requirePositiveIntegers(opts, ['batchSize', 'steps', 'warmup', 'units', 'filters'], usage);
  return {...opts, layer: parseLayerKind(opts.layer)};
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const lstm = await lstmFactory(opts.layer);
  const adapter = await adapterDescription();
  console.log(`adapter: ${adapter}; activity classifier (${opts.layer} LSTM, ${opts.units} units), batch ${opts.batchSize}, ${opts.steps} steps`);
  // Generated once: every backend trains on the same recordings.
  const data = generateRecordings(opts.batchSize * opts.steps, 1);
  const makeData = (n: number) => ({
    xs: tf.tensor3d(data.x.subarray(0, n * SAMPLES * CHANNELS), [n, SAMPLES, CHANNELS]),
    ys: tf.tensor2d(data.y.subarray(0, n * CLASSES), [n, CLASSES]),
  });
  const buildModel = () => activityModel({units: opts.units, filters: opts.filters, seed: 1, lstm, learningRate: 1e-3});
  const results: Record<string, number> = {};
  for (const name of opts.backends) {
    try {
      results[name] = await timeFit(name, {buildModel, makeData, batchSize: opts.batchSize, steps: opts.steps, warmup: opts.warmup});
      console.log(`${name.padEnd(8)} ${results[name].toFixed(2)} recordings/s`);
    } catch (e) {
      console.log(`${name.padEnd(8)} failed: ${(e as Error).message}`);
    }
  }
  printComparison(results, 'recordings/s', true, 2);
  if (opts.json) {
    fs.writeFileSync(opts.json, JSON.stringify({adapter, date: new Date().toISOString(), ...opts, recordingsPerSecond: results}, null, 2));
  }
  process.exit(0);
}

await main();
