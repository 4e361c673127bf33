// Property test of the concatenation and slice passes (src/fusion/concat_producers.ts,
// slice_views.ts): random graphs of splits, concatenations (nested too), slices of slices,
// transposes, tiles and elementwise kernels over [8, 8] tensors, run on two sets of inputs and on
// the first again (plans reused), under three segmentations, against tfjs-backend-cpu, with no
// WebGPU error.
import * as tf from '@tensorflow/tfjs-core';

import {mpsgpu} from '../src/index.js';
import {randomValues, withFlags} from './util.js';

const GRAPHS = 25;

function rngOf(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Random graph `seed` over `inputs`; returns three of its values. */
function randomConcatGraph(seed: number, inputs: tf.Tensor2D[]): tf.Tensor[] {
  const r = rngOf(seed);
  const values: tf.Tensor2D[] = [...inputs];
  const pick = () => values[Math.floor(r() * values.length)];
  const elementwise = (x: tf.Tensor2D): tf.Tensor2D => {
    switch (Math.floor(r() * 5)) {
      case 0: return tf.relu(x);
      case 1: return tf.neg(x);
      case 2: return tf.mul(x, tf.slice(pick(), [0, 0], x.shape));
      case 3: return tf.add(x, tf.tile(tf.slice(pick(), [Math.floor(r() * 8), 0], [1, x.shape[1]]), [x.shape[0], 1]));
      default: return tf.abs(x).add(0.5);
    }
  };
  const widths = () => [[8], [4, 4], [3, 5], [1, 7], [2, 3, 3], [4, 1, 3], [1, 1, 1, 1, 4]][Math.floor(r() * 7)];
  for (let i = 0; i < 16; ++i) {
    const a = pick();
    const axis = r() < 0.5 ? 1 : 0;
    let out: tf.Tensor2D;
    switch (Math.floor(r() * 7)) {
      case 0:
        out = tf.concat((tf.split(a, widths(), axis) as tf.Tensor2D[]).map(p => (r() < 0.7 ? elementwise(p) : p)), axis);
        break;
      case 1: {
        // Joined, split again otherwise, joined again.
        const joined = tf.concat((tf.split(a, widths(), axis) as tf.Tensor2D[]).map(elementwise), axis);
        out = tf.concat((tf.split(joined, widths(), axis) as tf.Tensor2D[]).map(p => (r() < 0.5 ? elementwise(p) : p)), axis);
        break;
      }
      case 2: out = elementwise(tf.transpose(a)); break;
      case 3: {
        const s = tf.slice(tf.concat([a, pick()], axis), axis ? [0, 2] : [2, 0], [8, 8]) as tf.Tensor2D;
        out = elementwise(tf.slice(tf.concat([s, a], 1 - axis), axis ? [1, 0] : [0, 1], [8, 8]) as tf.Tensor2D);
        break;
      }
      case 4: {
        const inner = tf.concat([elementwise(tf.slice(a, [0, 0], [8, 4]) as tf.Tensor2D), elementwise(tf.slice(pick(), [0, 4], [8, 4]) as tf.Tensor2D)], 1);
        out = tf.concat([tf.slice(inner, [0, 0], [4, 8]), elementwise(tf.slice(pick(), [4, 0], [4, 8]) as tf.Tensor2D)], 0);
        break;
      }
      case 5: out = elementwise(a); break;
      default: out = tf.tile(tf.slice(a, [Math.floor(r() * 8), 0], [1, 8]), [8, 1]).mul(pick()); break;
    }
    values.push(out);
  }
  return [values[values.length - 1], values[values.length - 3], values[values.length - 6]];
}

describe('fusion: random graphs of splits and concatenations', () => {
  const segmentations: Array<Record<string, number>> = [{}, {MPSGPU_FLUSH_FIRST: 0, MPSGPU_FLUSH_THRESHOLD: 12}, {MPSGPU_FLUSH_FIRST: 0, MPSGPU_FLUSH_THRESHOLD: 40}];
  segmentations.forEach((flags, k) => it(`match tfjs-backend-cpu (segmentation ${k})`, async () => {
    const errorsBefore = (await backendErrors()).length;
    let failures = 0;
    for (let seed = 1; seed <= GRAPHS; ++seed) {
      const run = async (backend: string, inputSeed: number) => {
        await tf.setBackend(backend);
        let values: Array<ArrayLike<number>> = [];
        await withFlags(backend === 'cpu' ? {} : flags, async () => {
          const inputs = [0, 1, 2].map(j => tf.tensor2d(randomValues(64, inputSeed + j), [8, 8]));
          const out = tf.tidy(() => randomConcatGraph(seed, inputs));
          values = await Promise.all(out.map(x => x.data() as Promise<ArrayLike<number>>));
          tf.dispose([...out, ...inputs]);
        })();
        return values;
      };
      const cpuA = await run('cpu', seed * 10), cpuB = await run('cpu', seed * 10 + 5);
      const gpu = [[await run('mpsgpu', seed * 10), cpuA], [await run('mpsgpu', seed * 10 + 5), cpuB], [await run('mpsgpu', seed * 10), cpuA]];
      for (const [got, want] of gpu) {
        got.forEach((v, i) => {
          for (let j = 0; j < v.length; ++j) {
            if (Math.abs(v[j] - want[i][j]) <= 1e-4 * Math.max(1, Math.abs(want[i][j]))) continue;
            if (failures++ === 0) fail(`graph ${seed}, output ${i}, element ${j}: ${v[j]}, cpu ${want[i][j]}`);
            break;
          }
        });
      }
    }
    await tf.setBackend('mpsgpu');
    expect(failures).toBe(0);
    expect((await backendErrors()).slice(errorsBefore)).toEqual([]);
  }));
});

async function backendErrors(): Promise<string[]> {
  await tf.setBackend('mpsgpu');
  return mpsgpu.device().uncapturedErrors.map(String);
}
