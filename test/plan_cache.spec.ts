// Specs of plan reuse (src/graph/plan_cache.ts): a repeated segment takes the fused schedule and
// arena placement planned the first time, and computes exactly what planning anew computes; a
// segment that differs in anything the plan depends on is planned anew.
import * as tf from '@tensorflow/tfjs-core';

import {mpsgpu} from '../src/index.js';
import {randomGraph} from './random_graph.js';
import {expectMatchesCpu, randomValues, withFlags} from './util.js';

describe('mpsgpu plan reuse', () => {
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
  });

  /** Losses and final weights of `steps` Adam steps of a small conv net with batch statistics. */
  async function train(steps: number, afterStep: (step: number) => void = () => {}) {
    const w1 = tf.variable(tf.tensor4d(randomValues(3 * 3 * 3 * 8, 31, -0.4, 0.4), [3, 3, 3, 8]));
    const gamma = tf.variable(tf.ones([8]));
    const beta = tf.variable(tf.zeros([8]));
    const w2 = tf.variable(tf.tensor2d(randomValues(8 * 5, 32, -0.4, 0.4), [8, 5]));
    const x = tf.tensor4d(randomValues(4 * 9 * 9 * 3, 33), [4, 9, 9, 3]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 5);
    const optimizer = tf.train.adam(0.02);
    const losses: number[] = [];
    for (let step = 0; step < steps; ++step) {
      const loss = optimizer.minimize(() => {
        const h = tf.conv2d(x, w1 as tf.Tensor4D, 1, 'same');
        const {mean, variance} = tf.moments(h, [0, 1, 2]);
        const normed = tf.batchNorm(h, mean, variance, beta, gamma, 1e-3).relu();
        const logits = normed.mean([1, 2]).matMul(w2);
        return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
      }, true)!;
      losses.push((await loss.data())[0]);
      loss.dispose();
      afterStep(step);
    }
    const weights = await Promise.all([w1, gamma, beta, w2].map(w => w.data() as Promise<Float32Array>));
    optimizer.dispose();
    tf.dispose([w1, gamma, beta, w2, x, y]);
    return {losses, weights};
  }

  it('a repeated training step reuses every flush\'s plan and computes the same numbers', async () => {
    // Segments cut every 24 nodes, whatever the GPU's progress (with few submissions allowed in
    // flight, where a cut falls would depend on timing, and each cut has its plan).
    const segments = {MPSGPU_FLUSH_THRESHOLD: 24, MPSGPU_FLUSH_FIRST: 0, MPSGPU_MAX_IN_FLIGHT: 64};
    const steps = 7, warmup = 3;
    const run = (cache: boolean) => withFlags({...segments, MPSGPU_PLAN_CACHE: cache}, async () => {
      const dispatches: number[] = [];
      let last = 0;
      mpsgpu.resetStats();
      const result = await train(steps, step => {
        const s = mpsgpu.stats();
        dispatches.push(s.dispatches - last);
        last = s.dispatches;
        // The first steps differ: Adam creates its moments, and values made virtual by one step
        // are stored or recomputed by the next, until the pattern repeats.
        if (step === warmup - 1) {
          mpsgpu.resetStats();
          last = 0;
        }
      });
      const s = mpsgpu.stats();
      results.set(cache, {...result, dispatches, hits: s.planCacheHits, misses: s.planCacheMisses, flushes: s.flushes});
    })();
    const results = new Map<boolean, Awaited<ReturnType<typeof train>>&{dispatches: number[]; hits: number; misses: number; flushes: number}>();
    await run(true);
    await run(false);
    const reused = results.get(true)!, planned = results.get(false)!;
    expect(reused.flushes).toBeGreaterThanOrEqual(2 * (steps - warmup));
    expect(reused.misses).toBe(0);
    expect(reused.hits).toBe(reused.flushes);
    expect(planned.hits + planned.misses).toBe(0);
    expect(reused.dispatches).toEqual(planned.dispatches);
    expect(reused.losses).toEqual(planned.losses);
    for (let k = 0; k < 4; ++k) expect(Array.from(reused.weights[k])).toEqual(Array.from(planned.weights[k]));
    expect(reused.losses[steps - 1]).toBeLessThan(reused.losses[0]);
  });

  it('random graphs run again with other values reuse their plans and match tfjs-backend-cpu', async () => {
    for (let seed = 1; seed <= 8; ++seed) {
      for (const round of [0, 1]) {
        const data = [0, 1, 2].map(k => randomValues(64, seed * 100 + round * 10 + k, -1, 1));
        const make = () => randomGraph(seed, data.map(d => tf.tensor2d(d, [8, 8])));
        await mpsgpu.sync();
        mpsgpu.resetStats();
        const outs = tf.tidy(make);
        const values = await Promise.all(outs.map(t => t.data() as Promise<Float32Array>));
        const s = mpsgpu.stats();
        if (round === 1) expect(s.planCacheMisses).toBe(0, `seed ${seed}`);
        expect(s.planCacheHits + s.planCacheMisses).toBe(s.flushes);
        tf.dispose(outs);
        expect(values.every(v => v.every(Number.isFinite))).toBe(true);
        // Runs the graph once more on mpsgpu (reusing the plans) and on tfjs-backend-cpu.
        await expectMatchesCpu(make, 1e-4);
      }
    }
  });

  it('a segment that keeps another of its values is planned anew', withFlags({MPSGPU_REMATERIALIZE: false}, async () => {
    const x = tf.tensor1d(randomValues(256, 41));
    const xv = await x.data();
    await mpsgpu.sync();
    const run = async (keepA: boolean) => {
      mpsgpu.resetStats();
      const outs = tf.tidy(() => {
        const a = x.add(1);
        const b = a.mul(2).exp();
        return keepA ? [a, b] : [b];
      });
      const values = await Promise.all(outs.map(t => t.data() as Promise<Float32Array>));
      tf.dispose(outs);
      return {values, stats: mpsgpu.stats()};
    };
    await run(false);
    const again = await run(false);
    expect(again.stats.planCacheHits).toBe(1);
    expect(again.stats.dispatches).toBe(1);
    const kept = await run(true);
    // The fused kernel now stores `a` too: another plan.
    expect(kept.stats.planCacheMisses).toBe(1);
    expect(kept.stats.dispatches).toBe(1);
    for (let i = 0; i < 256; ++i) {
      expect(kept.values[0][i]).toBeCloseTo(xv[i] + 1, 5);
      expect(Math.abs(kept.values[1][i] - Math.exp(2 * (xv[i] + 1))) / Math.exp(2 * (xv[i] + 1))).toBeLessThan(1e-5);
    }
    x.dispose();
  }));

  it('attributes a fused kernel bakes in are part of the key; other kernels run with their own', async () => {
    const x = tf.tensor1d(randomValues(128, 42));
    const xv = await x.data();
    const idx = tf.tensor1d([0, 3, 1, 2], 'int32');
    await mpsgpu.sync();
    const leaky = async (alpha: number) => {
      mpsgpu.resetStats();
      const y = tf.tidy(() => tf.leakyRelu(x.mul(3), alpha));
      const v = await y.data();
      y.dispose();
      for (let i = 0; i < 128; ++i) expect(v[i]).toBeCloseTo(xv[i] > 0 ? 3 * xv[i] : 3 * xv[i] * alpha, 5);
      return mpsgpu.stats();
    };
    await leaky(0.1);
    expect((await leaky(0.1)).planCacheHits).toBe(1);
    expect((await leaky(0.3)).planCacheMisses).toBe(1);
    // OneHot's on and off values are its own uniforms: the plan is reused, the values are new.
    const oneHot = async (on: number, off: number) => {
      mpsgpu.resetStats();
      const y = tf.tidy(() => tf.oneHot(idx, 4, on, off).mul(x.slice(0, 16).reshape([4, 4])));
      const v = await y.data();
      y.dispose();
      const hot = [0, 3, 1, 2];
      for (let r = 0; r < 4; ++r) {
        for (let c = 0; c < 4; ++c) expect(v[r * 4 + c]).toBeCloseTo((c === hot[r] ? on : off) * xv[r * 4 + c], 5);
      }
      return mpsgpu.stats();
    };
    await oneHot(1, 0);
    const second = await oneHot(5, -2);
    expect(second.planCacheHits).toBe(1);
    expect(second.planCacheMisses).toBe(0);
    tf.dispose([x, idx]);
  });

  it('a GEMM\'s attributes are part of the key once a reader is fused into its epilogue', async () => {
    const x = tf.tensor4d(randomValues(2 * 5 * 5 * 3, 61), [2, 5, 5, 3]);
    const w = tf.tensor4d(randomValues(3 * 3 * 3 * 4, 62), [3, 3, 3, 4]);
    await mpsgpu.sync();
    const run = async (alpha: number) => {
      mpsgpu.resetStats();
      const y = tf.tidy(() => tf.fused.conv2d({x, filter: w, strides: 1, pad: 'same', activation: 'leakyrelu', leakyreluAlpha: alpha}).mul(2));
      const values = await y.data();
      y.dispose();
      return {values, stats: mpsgpu.stats()};
    };
    await run(0.1);
    const again = await run(0.1);
    expect(again.stats.planCacheHits).toBe(1);
    expect(again.stats.dispatches).toBe(1);
    const other = await run(0.3);
    expect(other.stats.planCacheMisses).toBe(1);
    const expected = await tf.tidy(() => tf.conv2d(x, w, 1, 'same').leakyRelu(0.3).mul(2)).data();
    for (let i = 0; i < expected.length; ++i) expect(Math.abs(other.values[i] - expected[i])).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(expected[i])));
    tf.dispose([x, w]);
  });

  it('a slice\'s offset and a concatenation\'s columns are part of the key once fusion bakes them in', async () => {
    const x = tf.tensor2d(randomValues(4 * 12, 71), [4, 12]);
    const xv = await x.data();
    const parts = [1, 2, 3, 5, 6, 7].map(w => tf.tensor2d(randomValues(4 * w, 72 + w), [4, w]));
    await mpsgpu.sync();
    const run = async (fn: () => tf.Tensor) => {
      mpsgpu.resetStats();
      const y = tf.tidy(fn);
      const values = await y.data();
      y.dispose();
      return {values, stats: mpsgpu.stats()};
    };
    // Only the slice's offset differs: its reader reads through the view (src/fusion/slice_views.ts).
    const slice = (begin: number) => run(() => x.slice([0, begin], [4, 4]).relu());
    await slice(0);
    expect((await slice(0)).stats.planCacheHits).toBe(1);
    const shifted = await slice(5);
    expect(shifted.stats.planCacheMisses).toBe(1);
    for (let r = 0; r < 4; ++r) for (let c = 0; c < 4; ++c) expect(shifted.values[r * 4 + c]).toBe(Math.max(0, xv[r * 12 + 5 + c]));
    // Only the widths of the copied inputs differ (3 + 5 against 1 + 7): the relu is computed in the
    // concatenation (src/fusion/concat_producers.ts), whose columns the key must tell apart.
    const [p1, p2, p3, p5, , p7] = parts;
    const joined = (a: tf.Tensor, b: tf.Tensor) => run(() => tf.concat([p2.relu(), a, b], 1));
    await joined(p3, p5);
    expect((await joined(p3, p5)).stats.planCacheHits).toBe(1);
    const other = await joined(p1, p7);
    expect(other.stats.planCacheMisses).toBe(1);
    const expected = await tf.tidy(() => tf.concat([p2.relu(), p1, p7], 1).add(0)).data();
    await mpsgpu.sync();
    expect(Array.from(other.values)).toEqual(Array.from(expected));
    tf.dispose([x, ...parts]);
  });
});
