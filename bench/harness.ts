// What the side-by-side benchmarks share (bench/fit.ts, bench/activity.ts, bench/lstm.ts): the
// adapter's name, switching backends (with mpsgpu's variants), waiting for a backend's queue,
// timing one `model.fit` epoch, and the results table. Import './webgpu_node_setup.js' first in
// the entry, before tfjs-backend-webgpu.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {mpsgpu} from '../src/node.js';

/** The adapter mpsgpu runs on (webgpu uses the same `navigator.gpu`), as one line. */
export async function adapterDescription(): Promise<string> {
  if (!(await tf.setBackend('mpsgpu'))) throw new Error('mpsgpu did not initialize');
  const info = mpsgpu.device().adapterInfo;
  return `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.trim();
}

/** MPSGPU_FLUSH_FIRST as registered, before any variant changes it. */
const DEFAULT_FLUSH_FIRST = tf.env().getNumber('MPSGPU_FLUSH_FIRST');

/**
 * Activates `name`: a backend, or `mpsgpu:nofusion` (MPSGPU_FUSION off) / `mpsgpu:noramp`
 * (MPSGPU_FLUSH_FIRST 0). Returns the backend's name.
 */
export async function useBackend(name: string): Promise<string> {
  const [backend, variant] = name.split(':');
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} did not initialize`);
  if (backend === 'mpsgpu') {
    tf.env().set('MPSGPU_FUSION', variant !== 'nofusion');
    tf.env().set('MPSGPU_FLUSH_FIRST', variant === 'noramp' ? 0 : DEFAULT_FLUSH_FIRST);
  }
  return backend;
}

/**
 * Resolves once everything recorded or submitted on the active backend has run: mpsgpu flushes and
 * waits for its queue; other backends read a new scalar, which waits behind their queue.
 */
export async function waitForBackend(): Promise<void> {
  if (tf.getBackend() === 'mpsgpu') return mpsgpu.sync();
  const t = tf.scalar(0);
  await tf.backend().read(t.dataId);
  t.dispose();
}

export interface FitCase {
  buildModel: () => tfl.LayersModel;
  /** `batchSize × steps` inputs and one-hot labels, made on the active backend. */
  makeData: (count: number) => {xs: tf.Tensor; ys: tf.Tensor};
  batchSize: number;
  steps: number;
  /** Batches of the warm-up epoch (at most `steps`). */
  warmup: number;
}

/**
 * Examples per second of one `model.fit` epoch of `steps` batches on backend `name` (see
 * useBackend), after a warm-up epoch of `warmup` batches that compiles shaders, fills pools and lets
 * the JavaScript engine optimize the step's code (timed cold, the first backend of a process pays
 * for tfjs-core's too). For
 * mpsgpu it also prints recorded nodes, dispatches, fused groups and flushes per step, and plan reuse.
 */
export async function timeFit(name: string, c: FitCase): Promise<number> {
  const backend = await useBackend(name);
  const n = c.batchSize * c.steps;
  const {xs, ys} = c.makeData(n);
  const model = c.buildModel();
  const warm = Math.min(c.warmup * c.batchSize, n);
  await model.fit(xs.slice(0, warm), ys.slice(0, warm), {batchSize: c.batchSize, epochs: 1, verbose: 0});
  if (backend === 'mpsgpu') mpsgpu.resetStats();
  const start = performance.now();
  const history = await model.fit(xs, ys, {batchSize: c.batchSize, epochs: 1, verbose: 0, shuffle: false});
  await waitForBackend();
  const seconds = (performance.now() - start) / 1000;
  if (backend === 'mpsgpu') {
    const s = mpsgpu.stats();
    const per = (v: number) => (v / c.steps).toFixed(0);
    console.log(`  ${name}: per step ${per(s.nodesRecorded)} nodes recorded, ${per(s.dispatches)} dispatches, ` +
                `${per(s.fusedGroups)} fused groups, ${per(s.flushes)} flushes; in all ${s.planCacheHits} plans reused, ` +
                `${s.planCacheMisses} made, ${s.pipelinesCompiled} pipelines compiled`);
  }
  const loss = history.history.loss[0] as number;
  if (!Number.isFinite(loss)) throw new Error(`${name}: loss is ${loss}`);
  model.dispose();
  tf.dispose([xs, ys]);
  return n / seconds;
}

/**
 * The table of a side-by-side run: each backend's figure and how many times mpsgpu's it is
 * (`higherIsBetter`: a rate, mpsgpu ÷ it; otherwise a time, it ÷ mpsgpu; > 1: mpsgpu faster).
 */
export function printComparison(results: Record<string, number>, unit: string, higherIsBetter: boolean, digits = 1) {
  const base = results.mpsgpu;
  const width = Math.max(9, ...Object.keys(results).map(k => k.length + 1));
  console.log(`\n${'backend'.padEnd(width)} ${unit.padStart(12)}   mpsgpu speed-up`);
  for (const [name, v] of Object.entries(results)) {
    const ratio = base === undefined ? '-' : `${(higherIsBetter ? base / v : v / base).toFixed(2)}x`;
    console.log(`${name.padEnd(width)} ${v.toFixed(digits).padStart(12)}   ${ratio}`);
  }
}
