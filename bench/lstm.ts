// LSTM forward and forward+backward time, side by side on mpsgpu and the official backends in one
// process on the same adapter: one tf.layers.lstm (returnSequences) over [batch, sequence, input],
// and the gradient of the sum of its outputs with respect to the input and every weight
// (tf.variableGrads: kernel, recurrent kernel, bias). bench/torch_lstm.py times PyTorch's cuDNN
// nn.LSTM on the same shape.
//
//   npm run bench:lstm -- [--backends mpsgpu,webgpu] [--batch 64] [--sequence 100] [--input 128]
//                         [--hidden 256] [--reps 10] [--warmup 2] [--layer stock|mpsgpu]
//                         [--recurrent-activation sigmoid] [--json out.json]
//
// Method: inputs and weights made once per backend; `warmup` untimed executions (shader
// compilation, pools); then each rep is one execution, submitted and waited for (no readback of
// the results): start → forward (+ gradients) recorded and dispatched → the backend's queue idle
// → stop. The figure is the median over the reps. It includes the JavaScript cost of recording
// and dispatching, as PyTorch's includes its dispatch.
//
// The recurrent activation defaults to sigmoid, cuDNN's (tf.layers.lstm's default is hardSigmoid).
// Only ratios mean something on lavapipe (a CPU driver); there use a reduced size, e.g.
// --batch 16 --sequence 20 --input 32 --hidden 64.
import './webgpu_node_setup.js';

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import fs from 'fs';

import {LstmFactory, lstmFactory, parseLayerKind} from '../demos/activity/model.js';

import {parseOptions, usageOf} from '../demos/cli.js';

import {adapterDescription, printComparison, useBackend, waitForBackend} from './harness.js';

const DEFAULTS = {
  backends: ['mpsgpu', 'webgpu'], batch: 64, sequence: 100, input: 128, hidden: 256, reps: 10, warmup: 2,
  layer: 'stock', recurrentActivation: 'sigmoid', json: '',
};

const usage = usageOf(DEFAULTS);

function parseArgs(argv: string[]) {
  const opts = parseOptions(argv, DEFAULTS, usage);
  return {...opts, layer: parseLayerKind(opts.layer)};
}

type Options = ReturnType<typeof parseArgs>;

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface Timing {forwardMs: number; forwardBackwardMs: number; loss: number}

async function timeBackend(name: string, lstm: LstmFactory, opts: Options): Promise<Timing> {
  await useBackend(name);
  const layer = lstm({
    units: opts.hidden, returnSequences: true,
    recurrentActivation: opts.recurrentActivation as Parameters<typeof tfl.layers.lstm>[0]['recurrentActivation'],
    kernelInitializer: tfl.initializers.glorotUniform({seed: 1}),
    // glorotUniform, not the default orthogonal: its QR on the CPU takes seconds at 256 × 1024.
    recurrentInitializer: tfl.initializers.glorotUniform({seed: 2}),
  });
  const x = tf.variable(tf.randomNormal([opts.batch, opts.sequence, opts.input], 0, 1, 'float32', 3));
  const forward = () => layer.apply(x) as tf.Tensor;
  tf.dispose(forward());  // builds the weights
  const variables = [x, ...layer.trainableWeights.map(w => w.read() as tf.Variable)];
  const forwardBackward = () => {
    const {value, grads} = tf.variableGrads(() => tf.sum(forward()) as tf.Scalar, variables);
    return [value, ...Object.values(grads)];
  };

  const time = async (run: () => tf.Tensor | tf.Tensor[]): Promise<number> => {
    const times: number[] = [];
    for (let rep = 0; rep < opts.warmup + opts.reps; ++rep) {
      const start = performance.now();
      const results = run();
      await waitForBackend();
      if (rep >= opts.warmup) times.push(performance.now() - start);
      tf.dispose(results);
    }
    return median(times);
  };
  const forwardMs = await time(forward);
  const forwardBackwardMs = await time(forwardBackward);

  // A check, untimed: the loss and the gradients are finite.
  const results = forwardBackward();
  const sumTensors = results.map(t => tf.sum(t));
  const sums = await Promise.all(sumTensors.map(async t => (await t.data())[0]));
  tf.dispose([...results, ...sumTensors]);
  if (!sums.every(Number.isFinite)) throw new Error(`${name}: non-finite loss or gradient sums: ${sums.join(', ')}`);
  layer.dispose();
  x.dispose();
  return {forwardMs, forwardBackwardMs, loss: sums[0]};
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const lstm = await lstmFactory(opts.layer);
  const adapter = await adapterDescription();
  console.log(`adapter: ${adapter}; ${opts.layer} LSTM (recurrent activation ${opts.recurrentActivation}), ` +
              `batch ${opts.batch}, sequence ${opts.sequence}, input ${opts.input}, hidden ${opts.hidden}; ` +
              `median of ${opts.reps} reps after ${opts.warmup} warm-up`);
  const results: Record<string, Timing> = {};
  for (const name of opts.backends) {
    try {
      results[name] = await timeBackend(name, lstm, opts);
      const r = results[name];
      console.log(`${name.padEnd(8)} forward ${r.forwardMs.toFixed(2)} ms, forward+backward ${r.forwardBackwardMs.toFixed(2)} ms (loss ${r.loss.toPrecision(6)})`);
    } catch (e) {
      console.log(`${name.padEnd(8)} failed: ${(e as Error).message}`);
    }
  }
  const pick = (key: keyof Timing) => Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v[key]]));
  printComparison(pick('forwardMs'), 'forward ms', false, 2);
  printComparison(pick('forwardBackwardMs'), 'fwd+bwd ms', false, 2);
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({adapter, date: new Date().toISOString(), ...opts, results}, null, 2));
  process.exit(0);
}

await main();
