// Trains Keras's InceptionV3 (demos/inception/model.ts, tfjs-layers) with Adam on synthetic
// images, one `trainOnBatch` per step (forward, gradients, update, and the loss read back as Keras's
// train_on_batch does), and prints images/s, step times, GPU memory and mpsgpu's graph statistics.
//
//   npm run demo:inception -- [--backend mpsgpu] [--batch-size 64] [--image-size 299] [--steps 10]
//                              [--warmup 2] [--classes 1000] [--lr 0.001] [--flags MPSGPU_FUSION=false,...]
//                              [--json out.json] [--profile N]
//
// --profile N (mpsgpu): one more step with MPSGPU_KERNEL_TIMING, then the N programs that took
// the most GPU time, with their calls.
//
// The default adapter is used (on a machine without a GPU: lavapipe, where 299² takes minutes per
// step: try --batch-size 2 --image-size 75). Absolute speeds mean something only on a real GPU.
import '../../bench/webgpu_node_setup.js';

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import * as tfl from '@tensorflow/tfjs-layers';
import fs from 'fs';

import {mpsgpu} from '../../src/node.js';

import {inceptionV3, syntheticBatch} from './model.js';

const DEFAULTS = {backend: 'mpsgpu', batchSize: 64, imageSize: 299, steps: 10, warmup: 2, classes: 1000, lr: 0.001, flags: '', json: '', profile: 0};
type Options = typeof DEFAULTS;

function parseArgs(argv: string[]): Options {
  const opts = {...DEFAULTS};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-(\w)/g, (_, c: string) => c.toUpperCase()) as keyof Options;
    if (!(key in opts) || argv[i + 1] === undefined) {
      throw new Error(`unknown option or missing value: ${argv[i]} (options: ${Object.keys(DEFAULTS).join(', ')})`);
    }
    (opts as Record<string, string|number>)[key] = typeof DEFAULTS[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  return opts;
}

function setFlags(text: string) {
  for (const item of text.split(',').filter(Boolean)) {
    const [k, v] = item.split('=');
    tf.env().set(k, v === 'true' ? true : v === 'false' ? false : Number(v));
  }
}

const MiB = 1024 * 1024;

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!(await tf.setBackend(opts.backend))) throw new Error(`backend ${opts.backend} did not initialize`);
  setFlags(opts.flags);
  const isMps = opts.backend === 'mpsgpu';
  if (isMps) {
    const info = mpsgpu.device().adapterInfo;
    console.log(`adapter: ${`${info.vendor} ${info.architecture} ${info.device} ${info.description}`.trim()}`);
  }
  const model = inceptionV3({imageSize: opts.imageSize, classes: opts.classes});
  model.compile({optimizer: tf.train.adam(opts.lr), loss: 'categoricalCrossentropy'});
  console.log(`InceptionV3: ${(model.countParams() / 1e6).toFixed(2)} M parameters, input ${opts.imageSize}², ` +
              `batch ${opts.batchSize}, ${opts.classes} classes, Adam ${opts.lr}, backend ${opts.backend}${opts.flags ? ` (${opts.flags})` : ''}`);
  const {xs, ys} = syntheticBatch(opts.batchSize, opts.imageSize, opts.classes, 1);

  const stepTimes: number[] = [];
  const losses: number[] = [];
  for (let step = 0; step < opts.warmup + opts.steps; ++step) {
    if (step === opts.warmup && isMps) mpsgpu.resetStats();
    const before = isMps ? mpsgpu.stats() : null;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const loss = await model.trainOnBatch(xs, ys) as number;
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (!Number.isFinite(loss)) throw new Error(`step ${step}: loss ${loss}`);
    losses.push(loss);
    if (step >= opts.warmup) stepTimes.push(ms);
    // Flushes of the step whose plans were reused (src/graph/plan_cache.ts).
    let plans = '';
    if (before) {
      const after = mpsgpu.stats();
      plans = `, plans reused for ${after.planCacheHits - before.planCacheHits} of ${after.flushes - before.flushes} flushes`;
    }
    // CPU time of the process (all its threads) over the step: near the wall time, the step is CPU-bound.
    console.log(`step ${String(step).padStart(3)}${step < opts.warmup ? ' (warm-up)' : ''}: ${ms.toFixed(1)} ms ` +
                `(process CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms), loss ${loss.toFixed(4)}${plans}`);
  }
  const total = stepTimes.reduce((a, b) => a + b, 0);
  const imagesPerSecond = (opts.batchSize * stepTimes.length) / (total / 1000);
  const sorted = [...stepTimes].sort((a, b) => a - b);
  const mem = tf.memory() as tf.MemoryInfo & {numBytesInGPU?: number; numBytesInGPUAllocated?: number};
  console.log(`\n${opts.backend}: ${imagesPerSecond.toFixed(1)} images/s; step ${(total / stepTimes.length).toFixed(1)} ms mean, ` +
              `${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms median`);
  if (mem.numBytesInGPUAllocated !== undefined) {
    console.log(`GPU memory: ${((mem.numBytesInGPU ?? 0) / MiB).toFixed(0)} MiB held by tensors, ` +
                `${(mem.numBytesInGPUAllocated / MiB).toFixed(0)} MiB allocated`);
  }
  let stats: Record<string, number> = {};
  if (isMps) {
    const s = mpsgpu.stats();
    const n = stepTimes.length;
    stats = {
      nodesPerStep: s.nodesRecorded / n, dispatchesPerStep: s.dispatches / n, fusedGroupsPerStep: s.fusedGroups / n,
      nodesFusedPerStep: s.nodesFused / n, flushesPerStep: s.flushes / n, peakAllocatedMiB: s.peakAllocatedBytes / MiB,
      peakLiveMiB: s.peakLiveBytes / MiB, arenaValuesPerStep: s.arenaValues / n, peakArenaMiB: s.peakArenaBytes / MiB,
      virtualizedPerStep: s.virtualized / n, virtualMiBPerStep: s.virtualBytes / MiB / n, recomputedPerStep: s.recomputed / n,
      planCacheHitsPerStep: s.planCacheHits / n, planCacheMissesPerStep: s.planCacheMisses / n,
    };
    console.log(`per step: ${stats.nodesPerStep.toFixed(0)} nodes recorded, ${stats.dispatchesPerStep.toFixed(0)} dispatches ` +
                `(${stats.fusedGroupsPerStep.toFixed(0)} fused groups folding ${stats.nodesFusedPerStep.toFixed(0)} nodes), ` +
                `${stats.flushesPerStep.toFixed(1)} flushes (plans reused ${stats.planCacheHitsPerStep.toFixed(1)}, planned ` +
                `${stats.planCacheMissesPerStep.toFixed(1)}), ${(s.submissions / n).toFixed(1)} submissions, ` +
                `${(s.uploads / n).toFixed(1)} uploads, ${(s.readbacks / n).toFixed(1)} readbacks, ` +
                `${(s.bindGroupsReused / n).toFixed(0)} bind groups reused, ` +
                `${(s.buffersCreated / n).toFixed(0)} buffers created and ${(s.buffersDestroyed / n).toFixed(0)} destroyed`);
    console.log(`peak GPU bytes over the timed steps: ${stats.peakAllocatedMiB.toFixed(0)} MiB allocated, ` +
                `${stats.peakLiveMiB.toFixed(0)} MiB live (ratio ${(s.peakAllocatedBytes / Math.max(1, s.peakLiveBytes)).toFixed(2)}); ` +
                `${stats.arenaValuesPerStep.toFixed(0)} temporaries per step in arenas, the largest flush's arenas ${stats.peakArenaMiB.toFixed(0)} MiB`);
    console.log(`virtual values per step: ${stats.virtualizedPerStep.toFixed(0)} (${stats.virtualMiBPerStep.toFixed(0)} MiB never stored), ` +
                `${stats.recomputedPerStep.toFixed(0)} recomputations`);
    const errors = mpsgpu.device().uncapturedErrors;
    if (errors.length > 0) throw new Error(`WebGPU errors: ${errors.join('; ')}`);
  }
  if (isMps && opts.profile > 0) await profileStep(model, xs, ys, opts.profile);
  if (opts.json) {
    fs.writeFileSync(opts.json, JSON.stringify({...opts, date: new Date().toISOString(), imagesPerSecond, stepTimes, losses, stats}, null, 2));
  }
  tf.dispose([xs, ys]);
  model.dispose();
  process.exit(0);
}

/** One step with every dispatch timed on the GPU; prints the programs that took longest. */
async function profileStep(model: tfl.LayersModel, xs: tf.Tensor, ys: tf.Tensor, top: number) {
  tf.env().set('MPSGPU_KERNEL_TIMING', true);
  // Every dispatch timed: segments within the timer's 1024 passes per flush.
  const threshold = tf.env().getNumber('MPSGPU_FLUSH_THRESHOLD');
  tf.env().set('MPSGPU_FLUSH_THRESHOLD', Math.min(threshold, 1000));
  mpsgpu.resetStats();
  const t0 = performance.now();
  await model.trainOnBatch(xs, ys);
  const wall = performance.now() - t0;
  await mpsgpu.sync();
  // Timestamps are read back after their submissions complete.
  for (let i = 0; i < 200 && mpsgpu.stats().untimedPasses + [...mpsgpu.kernelTimes().values()].reduce((n, v) => n + v.calls, 0) < mpsgpu.stats().dispatches; ++i) {
    await new Promise(r => setTimeout(r, 10));
  }
  tf.env().set('MPSGPU_KERNEL_TIMING', false);
  tf.env().set('MPSGPU_FLUSH_THRESHOLD', threshold);
  const rows = [...mpsgpu.kernelTimes().entries()].sort((a, b) => b[1].ms - a[1].ms);
  const gpu = rows.reduce((n, [, v]) => n + v.ms, 0);
  console.log(`\nprofiled step: ${wall.toFixed(0)} ms wall (each dispatch in its own pass), ${gpu.toFixed(0)} ms GPU in ${mpsgpu.stats().dispatches} dispatches ` +
              `(${mpsgpu.stats().untimedPasses} untimed)`);
  for (const [name, v] of rows.slice(0, top)) {
    console.log(`${v.ms.toFixed(1).padStart(9)} ms ${String(v.calls).padStart(6)} calls  ${name}`);
  }
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
