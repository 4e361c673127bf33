// Per-kernel timings: each kernel on mpsgpu and on tfjs-backend-webgpu in one process, on the same
// adapter, same shapes and inputs. Prints a table of median times (ms per execution) and the ratio
// webgpu ÷ mpsgpu (> 1: mpsgpu faster), and writes JSON (--json FILE).
//
//   npm run bench:kernels -- [--backends mpsgpu,webgpu] [--filter conv] [--reps N] [--inner K] [--quick] [--json out.json]
//   (defaults: 10 reps × K = 5 executions; --quick: 5 reps × K = 2)
//
// Shapes: the reference shapes of ../shared/DESIGN.md (conv2d 3×3 on 32×56×56×64 → 64 and its two
// backprops, maxPool 3×3/2, matmul 2048²), the MNIST CNN's convolutions, some InceptionV3
// convolutions, odd sizes, batch 1, pooling gradients, depthwise, batchNorm, a reduction, softmax
// and a broadcast add. --quick scales them down (batch 1–16, smaller spatial sizes) for lavapipe.
//
// Timing method. Both backends are asynchronous (mpsgpu even records lazily and computes at a
// flush), so timing one call measures only the recording. Per kernel and backend: inputs are
// created once; 2 warm-up executions compile the pipelines; then each of the N reps is
//   sync; t0; K back-to-back executions (each in tf.tidy, every result kept alive); sync; t1
// and gives (t1 - t0) / K ms; the table shows the median over the reps. "sync" submits all
// recorded work and waits for the GPU to finish it, without reading a tensor back (a readback
// would add a copy, a staging buffer and, on mpsgpu, nothing else the op needs):
//   mpsgpu: `await mpsgpu.sync()` (flush + wait for the queue);
//   webgpu: end its compute pass and submit its command encoder as its own read() does, then
//           `await backend.queue.onSubmittedWorkDone()`.
// The K results stay alive until after the sync because mpsgpu skips nodes whose results die
// unread (a disposed result would not be computed at all); they are disposed afterwards. The
// time therefore includes each backend's CPU-side dispatch/recording cost, as a user sees it.
// tf.memory().numTensors is checked to be the same before and after each kernel.
//
// Only ratios mean something on lavapipe (a CPU driver); absolute times only on a real GPU.
import './webgpu_node_setup.js';

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgpu';
import fs from 'fs';

import {mpsgpu} from '../src/node.js';

interface Options {
  backends: string[];
  filter: string;
  reps: number;
  inner: number;
  quick: boolean;
  json: string;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = {backends: ['mpsgpu', 'webgpu'], filter: '', reps: 0, inner: 0, quick: false, json: ''};
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--backends': opts.backends = value.split(','); i++; break;
      case '--filter': opts.filter = value; i++; break;
      case '--reps': opts.reps = Number(value); i++; break;
      case '--inner': opts.inner = Number(value); i++; break;
      case '--quick': opts.quick = true; break;
      case '--json': opts.json = value; i++; break;
      default: throw new Error(`unknown option ${argv[i]}`);
    }
  }
  if (!opts.reps) opts.reps = opts.quick ? 5 : 10;
  if (!opts.inner) opts.inner = opts.quick ? 2 : 5;
  return opts;
}

type Shape = number[];
type Pad = 'same' | 'valid';

interface Case {
  name: string;
  shape: string;
  // Creates the inputs on the current backend (not timed).
  setup: () => tf.Tensor[];
  // One execution; returns its result.
  run: (inputs: tf.Tensor[]) => tf.Tensor;
}

let seed = 1;
const rand = (shape: Shape) => tf.randomUniform(shape, -1, 1, 'float32', seed++);
const fmt = (s: Shape) => s.join('×');

function convOutShape(x: Shape, filter: Shape, stride: number, pad: Pad): Shape {
  const out = (n: number, k: number) => pad === 'same' ? Math.ceil(n / stride) : Math.floor((n - k) / stride) + 1;
  return [x[0], out(x[1], filter[0]), out(x[2], filter[1]), filter[3]];
}

// conv2d and, unless fwdOnly, its two gradients (the kernels tfjs-core's Conv2D gradient runs).
function convCases(label: string, x: Shape, kh: number, kw: number, cout: number, stride = 1, pad: Pad = 'same', fwdOnly = false): Case[] {
  const f: Shape = [kh, kw, x[3], cout];
  const y = convOutShape(x, f, stride, pad);
  const shape = `${fmt(x)} * ${kh}×${kw}×${cout}${stride > 1 ? ' /' + stride : ''} ${pad}`;
  const attrs = {strides: [stride, stride], pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined};
  const cases: Case[] = [{
    name: `conv2d ${label}`, shape,
    setup: () => [rand(x), rand(f)],
    run: ([a, b]) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad),
  }];
  if (fwdOnly) return cases;
  cases.push({
    name: `conv2dBackpropInput ${label}`, shape,
    setup: () => [rand(y), rand(f)],
    run: ([dy, filter]) => tf.engine().runKernel('Conv2DBackpropInput', {dy, filter}, {...attrs, inputShape: x} as unknown as tf.NamedAttrMap) as tf.Tensor,
  }, {
    name: `conv2dBackpropFilter ${label}`, shape,
    setup: () => [rand(x), rand(y)],
    run: ([xx, dy]) => tf.engine().runKernel('Conv2DBackpropFilter', {x: xx, dy}, {...attrs, filterShape: f} as unknown as tf.NamedAttrMap) as tf.Tensor,
  });
  return cases;
}

function poolCases(label: string, x: Shape, k: number, stride: number, pad: Pad): Case[] {
  const shape = `${fmt(x)} ${k}×${k} /${stride} ${pad}`;
  const y = convOutShape(x, [k, k, x[3], x[3]], stride, pad);
  const attrs = {filterSize: [k, k], strides: [stride, stride], pad, dimRoundingMode: undefined};
  return [{
    name: `maxPool ${label}`, shape,
    setup: () => [rand(x)],
    run: ([a]) => tf.maxPool(a as tf.Tensor4D, k, stride, pad),
  }, {
    name: `avgPool ${label}`, shape,
    setup: () => [rand(x)],
    run: ([a]) => tf.avgPool(a as tf.Tensor4D, k, stride, pad),
  }, {
    name: `maxPoolGrad ${label}`, shape,
    setup: () => {
      const input = rand(x);
      return [rand(y), input, tf.maxPool(input as tf.Tensor4D, k, stride, pad)];
    },
    run: ([dy, input, output]) => tf.engine().runKernel('MaxPoolGrad', {dy, input, output}, attrs as unknown as tf.NamedAttrMap) as tf.Tensor,
  }, {
    name: `avgPoolGrad ${label}`, shape,
    setup: () => [rand(y), rand(x)],
    run: ([dy, input]) => tf.engine().runKernel('AvgPoolGrad', {dy, input}, attrs as unknown as tf.NamedAttrMap) as tf.Tensor,
  }];
}

function matmulCase(label: string, m: number, k: number, n: number): Case {
  return {
    name: `matMul ${label}`, shape: `${m}×${k} · ${k}×${n}`,
    setup: () => [rand([m, k]), rand([k, n])],
    run: ([a, b]) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
  };
}

function cases(quick: boolean): Case[] {
  const q = <T>(full: T, small: T) => quick ? small : full;
  // Reference activation: 32×56×56×64 (DESIGN.md); quick: 2×28×28×64.
  const ref: Shape = q([32, 56, 56, 64], [2, 28, 28, 64]);
  const list: Case[] = [
    ...convCases('ref 3×3', ref, 3, 3, 64),
    ...poolCases('ref 3×3/2', ref, 3, 2, 'same'),
    matmulCase('ref', ...q<[number, number, number]>([2048, 2048, 2048], [256, 256, 256])),
    // MNIST CNN (bench/fit.ts, demos/mnist).
    ...convCases('mnist conv1', q([256, 28, 28, 1], [16, 28, 28, 1]), 3, 3, 32, 1, 'valid'),
    ...convCases('mnist conv2', q([256, 13, 13, 32], [16, 13, 13, 32]), 3, 3, 64, 1, 'valid'),
    // InceptionV3 (training batch 64; quick: batch 1, smaller spatial sizes, same channels).
    ...convCases('inception 3×3', q([64, 147, 147, 32], [1, 37, 37, 32]), 3, 3, 64),
    ...convCases('inception 1×1', q([64, 35, 35, 192], [2, 17, 17, 192]), 1, 1, 64),
    ...convCases('inception 1×7', q([64, 17, 17, 768], [1, 8, 8, 768]), 1, 7, 192),
    ...convCases('inception 7×1', q([64, 17, 17, 768], [1, 8, 8, 768]), 7, 1, 192),
    ...convCases('inception 1×1 wide', q([64, 8, 8, 1280], [1, 8, 8, 1280]), 1, 1, 320),
    // Odd sizes.
    ...convCases('odd 5×5/2', [3, 31, 33, 7], 5, 5, 13, 2),
    matmulCase('odd', ...q<[number, number, number]>([1000, 999, 1001], [200, 199, 201])),
    // Batch 1.
    ...convCases('batch 1', q([1, 56, 56, 64], [1, 28, 28, 32]), 3, 3, q(64, 32), 1, 'same', true),
    matmulCase('batch 1 (vector)', ...q<[number, number, number]>([1, 2048, 2048], [1, 1024, 1024])),
  ];
  const dwX = ref;
  list.push({
    name: 'depthwiseConv2d 3×3', shape: `${fmt(dwX)} * 3×3×${dwX[3]}×1 same`,
    setup: () => [rand(dwX), rand([3, 3, dwX[3], 1])],
    run: ([a, f]) => tf.depthwiseConv2d(a as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'),
  }, {
    name: 'batchNorm', shape: `${fmt(ref)}, per-channel`,
    setup: () => [rand(ref), rand([ref[3]]), tf.abs(rand([ref[3]])), rand([ref[3]]), rand([ref[3]])],
    run: ([x, mean, variance, offset, scale]) => tf.batchNorm(x, mean, variance, offset, scale, 1e-3),
  });
  const red: Shape = q([1024, 4096], [256, 1024]);
  const sm: Shape = q([1024, 1000], [256, 1000]);
  list.push({
    name: 'sum (last axis)', shape: fmt(red),
    setup: () => [rand(red)],
    run: ([a]) => tf.sum(a, -1),
  }, {
    name: 'softmax', shape: fmt(sm),
    setup: () => [rand(sm)],
    run: ([a]) => tf.softmax(a),
  }, {
    name: 'add (broadcast)', shape: `${fmt(ref)} + ${ref[3]}`,
    setup: () => [rand(ref), rand([ref[3]])],
    run: ([a, b]) => tf.add(a, b),
  });
  return list;
}

// Submit everything recorded and wait until the GPU has finished it (see the header).
async function sync(name: string): Promise<void> {
  if (name === 'mpsgpu') {
    await mpsgpu.sync();
  } else if (name === 'webgpu') {
    // As the backend's own read() does: close the open compute pass, submit the encoder.
    const b = tf.backend() as unknown as {ensureCommandEncoderReady(): void; endComputePassEncoder(): void; submitQueue(): void; queue: GPUQueue};
    b.ensureCommandEncoderReady();
    b.endComputePassEncoder();
    b.submitQueue();
    await b.queue.onSubmittedWorkDone();
  } else {
    await tf.backend().read(tf.scalar(0).dataId);  // cpu, wasm: synchronous anyway
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function timeCase(c: Case, opts: Options): Promise<number> {
  const before = tf.memory().numTensors;
  const inputs = tf.tidy(() => c.setup());
  const times: number[] = [];
  try {
    for (let i = 0; i < 2; i++) tf.tidy(() => c.run(inputs)).dispose();   // warm-up: compile
    await sync(tf.getBackend());
    for (let r = 0; r < opts.reps; r++) {
      const start = performance.now();
      const results: tf.Tensor[] = [];
      for (let k = 0; k < opts.inner; k++) results.push(tf.tidy(() => c.run(inputs)));
      await sync(tf.getBackend());
      times.push((performance.now() - start) / opts.inner);
      tf.dispose(results);
    }
  } finally {
    tf.dispose(inputs);
  }
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`numTensors grew from ${before} to ${after}`);
  return median(times);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  await tf.setBackend('mpsgpu');
  const info = mpsgpu.device().adapterInfo;
  const adapter = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.trim();
  const list = cases(opts.quick).filter(c => c.name.includes(opts.filter));
  console.log(`adapter: ${adapter}; ${opts.quick ? 'quick shapes; ' : ''}median of ${opts.reps} reps × ${opts.inner} executions; ${list.length} kernels`);
  const results: Record<string, Record<string, number | string>> = {};
  // Kernel by kernel, each on every backend in turn, so that a change in the machine's load
  // affects the backends alike.
  for (const c of list) {
    const key = `${c.name} | ${c.shape}`;
    results[key] = {};
    for (const name of opts.backends) {
      if (!(await tf.setBackend(name))) throw new Error(`backend ${name} did not initialize`);
      try {
        results[key][name] = await timeCase(c, opts);
      } catch (e) {
        results[key][name] = `failed: ${(e as Error).message.split('\n')[0]}`;
      }
      const v = results[key][name];
      console.error(`  ${name} ${key}: ${typeof v === 'number' ? v.toFixed(3) + ' ms' : v}`);
    }
  }
  const cell = (v: number | string | undefined) => typeof v === 'number' ? v.toFixed(3) : v === undefined ? '–' : 'failed';
  const header = ['kernel', 'shape', ...opts.backends.map(b => `${b} ms`)];
  const ratioCol = opts.backends.includes('mpsgpu') && opts.backends.includes('webgpu');
  if (ratioCol) header.push('webgpu ÷ mpsgpu');
  const rows = Object.entries(results).map(([key, r]) => {
    const [kernel, shape] = key.split(' | ');
    const row = [kernel, shape, ...opts.backends.map(b => cell(r[b]))];
    if (ratioCol) row.push(typeof r.mpsgpu === 'number' && typeof r.webgpu === 'number' ? (r.webgpu / r.mpsgpu).toFixed(2) : '–');
    return row;
  });
  console.log(`\n| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  for (const [key, r] of Object.entries(results)) {
    for (const [b, v] of Object.entries(r)) if (typeof v === 'string') console.log(`${b} ${key}: ${v}`);
  }
  if (opts.json) {
    fs.writeFileSync(opts.json, JSON.stringify({adapter, date: new Date().toISOString(), ...opts, method: 'median over reps of (K back-to-back executions + sync) / K, ms', results}, null, 2));
  }
  process.exit(0);
}

await main();
