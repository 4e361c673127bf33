// Specs of the fusion passes (src/fusion): a recorded graph runs fused and unfused
// (MPSGPU_FUSION), and the fused run must dispatch what the pass promises and give the unfused
// run's numbers (and tfjs-backend-cpu's).
import * as tf from '@tensorflow/tfjs-core';

import {composeViews, stridesOver} from '../src/fusion/slice_views.js';
import {mpsgpu} from '../src/index.js';
import {bytesInGpu, expectClose, expectMatchesCpu, randomValues, withFlags} from './util.js';

interface Run {
  values: Array<ArrayLike<number>>;
  dispatches: number;
  fusedGroups: number;
  nodesFused: number;
}

/** `fn` on mpsgpu with fusion on or off: its values and the dispatch counts of its one flush. */
async function runWith(fusion: boolean, fn: () => tf.Tensor|tf.Tensor[]): Promise<Run> {
  let run: Run|null = null;
  await withFlags({MPSGPU_FUSION: fusion}, async () => {
    await mpsgpu.sync();
    mpsgpu.resetStats();
    const out = tf.tidy(fn);
    const list = Array.isArray(out) ? out : [out];
    const values = await Promise.all(list.map(t => t.data()));
    const s = mpsgpu.stats();
    run = {values, dispatches: s.dispatches, fusedGroups: s.fusedGroups, nodesFused: s.nodesFused};
    tf.dispose(list);
  })();
  return run!;
}

/**
 * Fused and unfused give the same values (to f32 rounding: a fused kernel may contract a·b + c
 * into one fma), the fused run saves `saved` dispatches, and both match tfjs-backend-cpu.
 */
async function expectFused(fn: () => tf.Tensor|tf.Tensor[], saved: number, what: string): Promise<Run> {
  const fused = await runWith(true, fn);
  const plain = await runWith(false, fn);
  expect(plain.nodesFused).toBe(0, `${what}: unfused run`);
  expect(plain.dispatches - fused.dispatches).toBe(saved, `${what}: dispatches ${plain.dispatches} unfused, ${fused.dispatches} fused`);
  expect(fused.nodesFused).toBe(saved, what);
  fused.values.forEach((v, i) => expectClose(v, plain.values[i], 1e-6, `${what}: output ${i} fused vs unfused`));
  await expectMatchesCpu(fn, 1e-4, what);
  return fused;
}

const t = (shape: number[], seed: number) => tf.tensor(randomValues(tf.util.sizeFromShape(shape), seed), shape);
/** Branch k: [2, 5, 3, channels[k]] values. */
const branchesOf = (channels: number[], seed: number) => channels.map((c, k) => t([2, 5, 3, c], seed + k));

describe('fusion: elementwise chains', () => {
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
  });

  it('a chain with scalar and broadcast inputs is one kernel', async () => {
    const x = t([4, 6, 8], 1), bias = t([8], 2);
    // x and bias get their buffers at their first use.
    const warm = x.add(bias);
    await warm.data();
    warm.dispose();
    await mpsgpu.sync();
    const bytesBefore = bytesInGpu();
    const run = await expectFused(() => x.add(bias).mul(2).relu().sub(x).abs(), 4, 'chain');
    expect(run.dispatches).toBe(1);
    expect(run.fusedGroups).toBe(1);
    // Every buffer the fused and unfused runs used went back: the bookkeeping moved readers right.
    await mpsgpu.sync();
    expect(bytesInGpu()).toBe(bytesBefore);
    tf.dispose([x, bias]);
  });

  it('the relu gradient (step, cast, multiply) and a loss (square, mean’s input) fuse', async () => {
    const x = t([5, 7], 3), dy = t([5, 7], 4);
    // Unfused 9 kernels (the sum is a reduction, not elementwise; its gradient broadcasts with a
    // GPU fill of ones, src/gradients.ts); fused 2.
    const run = await expectFused(() => tf.grad((a: tf.Tensor) => a.relu().mul(dy).square().sum())(x), 7, 'relu grad');
    expect(run.dispatches).toBe(2);
    tf.dispose([x, dy]);
  });

  it('an intermediate tfjs still holds is stored by the fused kernel as a second output', async () => {
    const x = t([64], 5);
    const held = () => {
      const kept = x.exp();
      return [kept, kept.mul(3).add(1)];
    };
    // exp, mul and add are one kernel writing both kept and the result.
    const run = await expectFused(held, 2, 'held intermediate');
    expect(run.dispatches).toBe(1);
    tf.dispose(x);
  });

  it('held intermediates along a chain, read again after the flush', async () => {
    const x = t([4, 16], 12), bias = t([16], 13);
    const a = x.add(bias);
    const b = a.relu();
    const c = b.mul(2).sub(a);
    await mpsgpu.sync();
    // b (held, read once) is a second output of the kernel that computes c; a (read twice) is its
    // own. Later kernels read both from memory.
    const later = tf.tidy(() => a.neg().add(b));
    const [av, bv, cv, lv, xv, biasv] = await Promise.all([a, b, c, later, x, bias].map(v => v.data()));
    for (let i = 0; i < 64; ++i) {
      const ai = xv[i] + biasv[i % 16];
      expect(av[i]).toBeCloseTo(ai, 5);
      expect(bv[i]).toBeCloseTo(Math.max(ai, 0), 5);
      expect(cv[i]).toBeCloseTo(2 * Math.max(ai, 0) - ai, 5);
      expect(lv[i]).toBeCloseTo(Math.max(ai, 0) - ai, 5);
    }
    tf.dispose([x, bias, a, b, c, later]);
  });

  it('an intermediate with two readers is fused into neither (the readers share a dispatch)', async () => {
    const x = t([32], 6);
    const twoReaders = () => {
      const shared = x.mul(2);
      return [shared.sin(), shared.cos()];
    };
    const fused = await runWith(true, twoReaders);
    // The product stays a kernel of its own; sin and cos, independent, are siblings (below).
    expect(fused.dispatches).toBe(2);
    expect(fused.nodesFused).toBe(1);
    await expectMatchesCpu(twoReaders, 1e-5, 'two readers');
    tf.dispose(x);
  });

  it('a diamond (two readers that meet again) becomes one kernel', async () => {
    const x = t([32], 6);
    // add absorbs sin and cos; then it is the only reader of the shared product, and absorbs it.
    const run = await expectFused(() => {
      const shared = x.mul(2);
      return shared.sin().add(shared.cos());
    }, 3, 'diamond');
    expect(run.dispatches).toBe(1);
    tf.dispose(x);
  });

  it('a tile that only broadcasts is read inside its reader (batch-norm gradient)', async () => {
    const dy = t([2, 3, 4, 5], 9), rsqrtVar = t([5], 10);
    const run = await expectFused(() => dy.mul(tf.tile(rsqrtVar.reshape([1, 1, 1, 5]), [2, 3, 4, 1])).mul(2), 2, 'tile');
    expect(run.dispatches).toBe(1);
    tf.dispose([dy, rsqrtVar]);
  });

  it('a producer of another shape (broadcast into its reader) is not fused', async () => {
    const row = t([8], 7), m = t([6, 8], 8);
    const fused = await runWith(true, () => m.add(row.exp()).neg());
    // exp's [8] output is broadcast: it stays; add and neg fuse.
    expect(fused.dispatches).toBe(2);
    await expectMatchesCpu(() => m.add(row.exp()).neg(), 1e-5, 'broadcast producer');
    tf.dispose([row, m]);
  });

  it('the same intermediate read twice by its one reader (x·x) fuses', async () => {
    const x = t([16], 9);
    await expectFused(() => {
      const y = x.add(1);
      return y.mul(y);
    }, 1, 'x·x');
    tf.dispose(x);
  });

  it('attributes of fused kernels are kept apart (two leaky relus, a clip)', async () => {
    const x = t([40], 10);
    await expectFused(() => x.leakyRelu(0.1).mul(-1).leakyRelu(0.3).clipByValue(-0.5, 0.25), 3, 'attributes');
    tf.dispose(x);
  });

  it('bool and int32 chains fuse with the right types', async () => {
    const x = t([30], 11), k = tf.tensor(Array.from({length: 30}, (_, i) => i - 15), [30], 'int32');
    await expectFused(() => x.greater(0).logicalAnd(k.less(5)).cast('int32').add(k).mul(k), 6, 'bool/int');
    tf.dispose([x, k]);
  });

  it('a sum of more inputs than one kernel may bind splits at the adapter limit', async () => {
    const limit = mpsgpu.device().limits.maxStorageBuffersPerShaderStage;
    const inputs = Array.from({length: limit + 3}, (_, i) => t([50], 20 + i));
    const sum = () => inputs.slice(1).reduce((acc, x) => acc.add(x), inputs[0].neg());
    const fused = await runWith(true, sum);
    // The adds form one chain; a kernel reads at most limit − 1 buffers, so it takes at least two.
    expect(fused.dispatches).toBeGreaterThanOrEqual(2);
    expect(fused.dispatches).toBeLessThan(inputs.length);
    await expectMatchesCpu(sum, 1e-5, 'wide sum');
    tf.dispose(inputs);
  });

  it('an Adam step: the same weights with fewer dispatches', async () => {
    // Adam's update per variable is about ten elementwise kernels; fused, a few.
    const results: Array<{w: Float32Array; dispatches: number}> = [];
    for (const fusion of [true, false]) {
      await withFlags({MPSGPU_FUSION: fusion}, async () => {
        const w = tf.variable(t([12, 5], 30));
        const x = t([8, 12], 31);
        const optimizer = tf.train.adam(0.05);
        mpsgpu.resetStats();
        for (let i = 0; i < 3; ++i) optimizer.minimize(() => x.matMul(w).relu().square().mean() as tf.Scalar);
        const values = await w.data() as Float32Array;
        results.push({w: values, dispatches: mpsgpu.stats().dispatches});
        optimizer.dispose();
        tf.dispose([w, x]);
      })();
    }
    const [fused, plain] = results;
    expectClose(fused.w, plain.w, 1e-5, 'Adam weights fused vs unfused');
    expect(fused.dispatches).toBeLessThan(plain.dispatches * 0.7);
  });
});

describe('fusion: elementwise producers into reductions', () => {
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
  });

  // Each reads its input through every reduction layout: over leading axes with 4-channel vector
  // reads (a column reduction), over the last axis (a row reduction), short rows (one invocation
  // per output), a long reduction split into chunks, and everything at once.
  const shapes: Array<[string, number[], number[]]> = [
    ['columns, vec4', [6, 5, 8], [0, 1]],
    ['columns, odd channels', [9, 7, 3], [0, 1]],
    ['rows', [6, 70], [1]],
    ['short rows', [40, 3], [1]],
    ['long, chunked', [3, 9000], [1]],
    ['all', [13, 11], [0, 1]],
  ];
  for (const [label, shape, axes] of shapes) {
    it(`sum(a·b + c) and max(relu(a)) read through the reduction (${label})`, async () => {
      const a = t(shape, 40), b = t(shape, 41), c = t([shape[shape.length - 1]], 42);
      const sum = await expectFused(() => a.mul(b).add(c).sum(axes), 2, `${label}: sum`);
      // The reduction's dispatches are all that is left (one pass, or a pass and its partials).
      expect(sum.nodesFused).toBe(2);
      await expectFused(() => a.relu().max(axes), 1, `${label}: max`);
      tf.dispose([a, b, c]);
    });
  }

  it('batch-norm statistics: mean(square(x − mean)) with a kept-dims mean', async () => {
    const x = t([4, 6, 6, 8], 43);
    await expectFused(() => {
      const mean = x.mean([0, 1, 2], true);
      return x.sub(mean).square().mean([0, 1, 2]);
    }, 2, 'variance');
    tf.dispose(x);
  });

  it('int32 sums and a producer the reduction cannot index stay correct', async () => {
    const k = tf.tensor(Array.from({length: 60}, (_, i) => i - 30), [6, 10], 'int32');
    await expectFused(() => k.mul(k).sum(1), 1, 'int sum');
    // A [6, 1] column broadcast against [6, 10] is not read per flat index: not fused.
    const col = t([6, 1], 44), m = t([6, 10], 45);
    const run = await runWith(true, () => m.add(col).sum(0));
    expect(run.nodesFused).toBe(0);
    await expectMatchesCpu(() => m.add(col).sum(0), 1e-4, 'block broadcast');
    tf.dispose([k, col, m]);
  });

  it('a held producer output is not fused into the reduction', async () => {
    const x = t([32, 8], 46);
    const run = await runWith(true, () => {
      const sq = x.square();
      return [sq, sq.sum(0)];
    });
    expect(run.nodesFused).toBe(0);
    tf.dispose(x);
  });
});

describe('fusion: sibling reductions', () => {
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
  });

  // A batch-norm gradient's per-channel sums over N·H·W: of dy, of dy·(x − mean), and a mean and
  // a max beside them, each of its own expression of dy and x; mean and scale are given.
  const each = (x: tf.Tensor, dy: tf.Tensor, mean: tf.Tensor, scale: tf.Tensor): Array<() => tf.Tensor> => [
    () => dy.sum([0, 1, 2]),
    () => dy.mul(x.sub(mean)).sum([0, 1, 2]),
    () => dy.mul(scale).mean([0, 1, 2]),
    () => x.sub(mean).abs().max([0, 1, 2]),
  ];
  const sums = (x: tf.Tensor, dy: tf.Tensor, mean: tf.Tensor, scale: tf.Tensor) => each(x, dy, mean, scale).map(f => f());

  for (const [label, shape] of [['one pass', [4, 8, 8, 8]], ['partials', [16, 32, 32, 8]], ['odd channels', [3, 7, 5, 3]]] as Array<[string, number[]]>) {
    it(`a batch-norm gradient's sums over N·H·W share one pass (${label})`, async () => {
      const c = shape[3];
      const x = t(shape, 60), dy = t(shape, 61), mean = t([c], 62), scale = t([c], 63);
      const fused = await runWith(true, () => sums(x, dy, mean, scale));
      const alone: Run[] = [];
      for (const f of each(x, dy, mean, scale)) alone.push(await runWith(true, f));
      // The four first passes become one (second passes over partials stay one per reduction).
      const separately = alone.reduce((n, r) => n + r.dispatches, 0);
      expect(separately - fused.dispatches).toBe(3, `${label}: ${separately} dispatches separately, ${fused.dispatches} together`);
      alone.forEach((r, k) => expectClose(fused.values[k], r.values[0], 0, `${label}: output ${k}, together vs alone`));
      await expectMatchesCpu(() => sums(x, dy, mean, scale), 1e-4, label);
      tf.dispose([x, dy, mean, scale]);
    });
  }

  it('a reduction reading another\'s result, or of another layout, keeps its own pass', async () => {
    const x = t([4, 5, 5, 8], 64), y = t([4, 5, 8, 5], 65);
    const fn = () => {
      const s = x.sum([0, 1, 2]);
      return [s, x.sub(s).sum([0, 1, 2]), y.sum([0, 1, 2])];
    };
    const together = await runWith(true, fn);
    expect(together.nodesFused).toBe(1, 'only x − s fused into its reduction');
    await expectMatchesCpu(fn, 1e-4, 'dependent and other layout');
    tf.dispose([x, y]);
  });
});

describe('fusion: independent kernels of one shape (siblings)', () => {
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
  });

  it('moving averages of mean and variance share one dispatch', async () => {
    const mean = t([24], 11), variance = t([24], 12), movingMean = t([24], 13), movingVar = t([24], 14);
    const run = await expectFused(() => [
      movingMean.sub(movingMean.sub(mean).mul(0.01)),
      movingVar.sub(movingVar.sub(variance).mul(0.01)),
    ], 5, 'moving averages');
    expect(run.dispatches).toBe(1);
    tf.dispose([mean, variance, movingMean, movingVar]);
  });

  it('a kernel read before its sibling does not move to it', async () => {
    const x = t([8, 8], 15), y = t([8, 8], 16);
    const run = await expectFused(() => {
      const a = x.add(1);
      const product = a.matMul(x);
      const b = y.mul(3);
      return [product, b, a];
    }, 0, 'read between');
    expect(run.dispatches).toBe(3);
    tf.dispose([x, y]);
  });

  it('as many as the buffer limit allows, with attributes and output types of their own', async () => {
    const maxBuffers = mpsgpu.device().limits.maxStorageBuffersPerShaderStage;
    const xs = Array.from({length: 10}, (_, k) => t([40], 20 + k));
    // Each kernel binds one input and one output (attributes are uniforms; no scalar tensors).
    const fn = () => xs.map((x, k) => (k % 3 === 0 ? tf.leakyRelu(x, 0.1 * (k + 1)) : k % 3 === 1 ? tf.isNaN(x.sqrt()) : x.exp()));
    const perDispatch = Math.floor(maxBuffers / 2);
    // (isNaN(sqrt(x)) is a chain of two: three such chains fuse first.)
    const run = await expectFused(fn, 3 + 10 - Math.ceil(10 / perDispatch), 'ten siblings');
    expect(run.dispatches).toBe(Math.ceil(10 / perDispatch));
    run.values.forEach((v, k) => {
      if (k % 3 === 1) expect(Array.from(v).every(e => e === 0 || e === 1)).toBe(true);
    });
    tf.dispose(xs);
  });
});

describe('fusion: elementwise readers into pooling epilogues', () => {
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
  });

  // 8 channels: vec4 loads and stores; 3: scalar ones.
  for (const c of [8, 3]) {
    it(`max and average pooling with a relu, a per-channel scale and a scalar applied in the store (${c} channels)`, async () => {
      const x = t([2, 9, 11, c], 50), scale = t([c], 51);
      for (const [label, pool] of [['max', () => tf.maxPool(x as tf.Tensor4D, 3, 2, 'same')], ['avg', () => tf.avgPool(x as tf.Tensor4D, 3, 1, 'same')]] as const) {
        const run = await expectFused(() => pool().relu().mul(scale).add(0.5), 3, `${label}Pool, ${c} channels`);
        expect(run.dispatches).toBe(1);
      }
      tf.dispose([x, scale]);
    });

    it(`a pooling branch's input gradient added to another branch's in the pooling gradient's store (${c} channels)`, async () => {
      const x = t([2, 7, 8, c], 52);
      // The other branch elementwise (a GEMM's input gradient would take the sum in its own epilogue).
      const grad = (pool: (v: tf.Tensor4D) => tf.Tensor) => () => tf.grad((v: tf.Tensor) =>
        tf.add(pool(v as tf.Tensor4D).square().sum(), tf.relu(v).mul(v).sum()))(x);
      for (const [label, pool] of [['max', (v: tf.Tensor4D) => tf.maxPool(v, 3, 2, 'same')], ['avg', (v: tf.Tensor4D) => tf.avgPool(v, 3, 1, 'same')]] as const) {
        const fused = await runWith(true, grad(pool));
        const plain = await runWith(false, grad(pool));
        // At least the accumulation's Add runs in the pooling gradient (others fuse elsewhere too).
        expect(fused.dispatches).toBeLessThan(plain.dispatches, `${label}: ${fused.dispatches} fused, ${plain.dispatches} unfused`);
        expectClose(fused.values[0], plain.values[0], 1e-5, `${label}: fused vs unfused`);
        await expectMatchesCpu(grad(pool), 1e-4, `${label}Pool gradient, ${c} channels`);
      }
      x.dispose();
    });
  }

  for (const c of [8, 3]) {
    it(`MaxPoolGrad and AvgPoolGrad take the sum with another gradient into their store (${c} channels)`, async () => {
      const x = t([2, 7, 8, c], 54), other = t([2, 7, 8, c], 55);
      const output = tf.maxPool(x as tf.Tensor4D, 3, 2, 'same');
      const maxDy = t(output.shape, 56), avgDy = t([2, 7, 8, c], 57);
      const attrs = (strides: number) => ({filterSize: 3, strides, pad: 'same'}) as unknown as tf.NamedAttrMap;
      await expectFused(() => (tf.engine().runKernel('MaxPoolGrad', {dy: maxDy, input: x, output}, attrs(2)) as tf.Tensor).add(other),
                        1, `MaxPoolGrad + Add, ${c} channels`);
      await expectFused(() => (tf.engine().runKernel('AvgPoolGrad', {dy: avgDy, input: x}, attrs(1)) as tf.Tensor).add(other),
                        1, `AvgPoolGrad + Add, ${c} channels`);
      tf.dispose([x, other, output, maxDy, avgDy]);
    });
  }

  it('an int32 max pooling keeps its reader apart, and stays exact', async () => {
    const k = tf.tensor4d(Array.from({length: 2 * 5 * 5 * 4}, (_, i) => (i * 37) % 23 - 11), [2, 5, 5, 4], 'int32');
    const run = await runWith(true, () => tf.maxPool(k, 2, 2, 'valid').add(tf.scalar(3, 'int32')));
    expect(run.nodesFused).toBe(0);
    await expectMatchesCpu(() => tf.maxPool(k, 2, 2, 'valid').add(tf.scalar(3, 'int32')), 0, 'int max pool');
    k.dispose();
  });
});

describe('fusion: elementwise readers into GEMM epilogues', () => {
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
  });

  it('relu gradient and batch-norm terms applied in the input gradient of a convolution', async () => {
    const dy = t([2, 6, 7, 8], 31), w = t([3, 3, 5, 8], 32), x = t([2, 6, 7, 5], 33);
    const scale = t([5], 34), shift = t([5], 35);
    const run = await expectFused(() => {
      const dx = tf.conv2dTranspose(dy as tf.Tensor4D, w as tf.Tensor4D, [2, 6, 7, 5], 1, 'same');
      // relu'(x·scale + shift) · dx, with a scalar factor: same-shape, per-channel and scalar inputs.
      return tf.step(x.mul(scale).add(shift)).mul(dx).mul(0.5);
    }, 5, 'conv transpose epilogue');
    expect(run.dispatches).toBe(1);
    tf.dispose([dy, w, x, scale, shift]);
  });

  it('the sum of two branches\' gradients, and a matmul with bias and an attribute', async () => {
    const dy = t([1, 5, 5, 6], 36), w1 = t([1, 1, 4, 6], 37), w2 = t([3, 3, 4, 6], 38);
    const a = t([9, 12], 39), b = t([12, 16], 40), bias = t([16], 41);
    const run = await expectFused(() => {
      const g1 = tf.conv2dTranspose(dy as tf.Tensor4D, w1 as tf.Tensor4D, [1, 5, 5, 4], 1, 'same');
      const g2 = tf.conv2dTranspose(dy as tf.Tensor4D, w2 as tf.Tensor4D, [1, 5, 5, 4], 1, 'same');
      const y = tf.leakyRelu(a.matMul(b).add(bias), 0.3);
      return [g1.add(g2), y];
    }, 3, 'branches and matmul');
    // g1's conv applies the add reading g2; the matmul applies bias-add and leaky relu.
    expect(run.dispatches).toBe(3);
    tf.dispose([dy, w1, w2, a, b, bias]);
  });

  it('a GEMM output read twice, or read through a broadcast it cannot load, is stored', async () => {
    const a = t([8, 12], 42), b = t([12, 16], 43), col = t([1, 8, 1], 44);
    // (The readers differ in shape, so none of them shares a dispatch as siblings either.)
    const run = await expectFused(() => {
      const p = a.matMul(b);
      return [p.add(1), p.sum(), a.matMul(b).mul(col)];
    }, 0, 'not absorbed');
    expect(run.dispatches).toBe(5);
    tf.dispose([a, b, col]);
  });

  it('composes with the GEMM\'s own epilogue, and with split-K\'s summing pass', async () => {
    const x = t([2, 7, 7, 4], 45), w = t([3, 3, 4, 8], 46), bias = t([8], 47), scale = t([8], 48);
    const a = t([4, 4096], 49), b = t([4096, 8], 50);
    const run = await expectFused(() => [
      tf.fused.conv2d({x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias, activation: 'relu'}).mul(scale).sub(1),
      a.matMul(b).add(bias).sigmoid(),
    ], 4, 'own epilogue, split-K');
    // The convolution (bias, relu, then the reader) and the matmul's two passes (on CPU adapters
    // and GPUs alike, a 4096-long reduction over 4 × 8 outputs is split).
    expect(run.dispatches).toBe(3);
    tf.dispose([x, w, bias, scale, a, b]);
  });
});

describe('fusion: producers of a concatenation write into its columns', () => {
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
  });


  it('an Inception block: each branch\'s relu computed in the concatenation (one dispatch)', async () => {
    const xs = branchesOf([8, 12, 4, 16], 40);
    const run = await expectFused(() => tf.concat(xs.map(x => x.relu()), 3), 4, 'four relu branches');
    expect(run.dispatches).toBe(1);
    tf.dispose(xs);
  });

  it('branches of odd widths with per-channel terms (batch norm and relu), along any axis', async () => {
    const xs = branchesOf([3, 5, 1], 50);
    const scales = [3, 5, 1].map((c, k) => t([c], 60 + k)), shifts = [3, 5, 1].map((c, k) => t([c], 70 + k));
    const branch = (k: number) => xs[k].mul(scales[k]).add(shifts[k]).relu();
    // Each branch's chain fuses (2 dispatches saved), then goes into the concatenation.
    await expectFused(() => tf.concat([0, 1, 2].map(branch), 3), 3 * 2 + 3, 'odd widths, last axis');
    await expectFused(() => tf.concat([branch(0), branch(0).neg()], 0), 2 * 2 + 1 + 2, 'first axis');
    await expectFused(() => tf.concat([branch(1), xs[1].exp()], 1), 2 + 2, 'a middle axis');
    tf.dispose([...xs, ...scales, ...shifts]);
  });

  it('branches whose inputs exceed one dispatch\'s bindings fill the output in parts', async () => {
    const maxBuffers = mpsgpu.device().limits.maxStorageBuffersPerShaderStage;
    const xs = branchesOf([4, 4, 8, 4, 12, 4, 4, 8, 4], 80), ys = branchesOf([4, 4, 8, 4, 12, 4, 4, 8, 4], 90);
    // Nine branches of two inputs each: as many per dispatch as fit beside the output.
    const parts = Math.ceil(9 / Math.floor((maxBuffers - 1) / 2));
    // Unfused: nine products and a concatenation of nine in two dispatches (seven inputs each at most).
    const run = await expectFused(() => tf.concat(xs.map((x, k) => x.mul(ys[k])), 3), 9 + 2 - parts, 'nine branches');
    expect(run.dispatches).toBe(parts);
    tf.dispose([...xs, ...ys]);
  });

  it('a branch tfjs keeps, another kernel reads, or that is no elementwise kernel is copied', async () => {
    const xs = branchesOf([4, 8, 4, 4], 100);
    const run = await expectFused(() => {
      const kept = xs[0].relu();
      const shared = xs[1].relu();
      const pooled = tf.maxPool(xs[2] as tf.Tensor4D, 1, 1, 'same');
      const branches = [kept, shared, pooled, xs[3].abs()];
      return [tf.concat(branches, 3), kept, shared.sum()];
    }, 1, 'kept, shared, pooled, absorbed');
    // kept, shared, the pooling, the sum's pass(es) and the concatenation (abs inside it).
    expect(run.values[0].length).toBe(2 * 5 * 3 * 20);
    tf.dispose(xs);
  });

  it('a nested concatenation (Inception\'s mixed 9 and 10) is one with its reader', async () => {
    const xs = branchesOf([8, 4, 4, 12, 16], 120);
    // Unfused: four elementwise kernels, two inner concatenations and the outer one.
    const fn = () => tf.concat([xs[0].relu(), tf.concat([xs[1].relu(), xs[2].abs()], 3), tf.concat([xs[3].relu(), xs[4]], 3)], 3);
    const run = await expectFused(fn, 6, 'nested');
    expect(run.dispatches).toBe(1);
    // Odd widths inside a vec4-wide outer one: the inner concatenation stays its own.
    const ys = branchesOf([3, 5, 8], 125);
    const odd = await expectFused(() => tf.concat([tf.concat([ys[0].relu(), ys[1].relu()], 3), ys[2].relu()], 3), 3, 'odd inner widths');
    expect(odd.dispatches).toBe(2);
    tf.dispose([...xs, ...ys]);
  });

  it('a broadcasting producer (Tile over unit axes) is computed, not copied', async () => {
    // Tile of [1, C] records a bare read of the smaller input: a broadcast, read per column.
    const a = t([1, 4], 1), b = t([3, 4], 2), c = t([1, 3], 3), d = t([3, 5], 4);
    await expectFused(() => tf.concat([tf.tile(a, [3, 1]), b], 1), 1, 'tile, vec4');
    await expectFused(() => tf.concat([tf.tile(c, [3, 1]), d], 1), 1, 'tile, odd widths');
    tf.dispose([a, b, c, d]);
  });

  it('int32 and bool branches keep their types', async () => {
    const a = tf.tensor2d([1, -2, 3, 4, 5, -6], [2, 3], 'int32'), b = tf.tensor2d([7, 8, -9, 10], [2, 2], 'int32');
    await expectFused(() => tf.concat([a.abs(), b.mul(b)], 1), 2, 'int32');
    // (tfjs casts the int32 operands to float32 for the comparisons with a float scalar: 2 casts fuse.)
    await expectFused(() => tf.concat([a.greater(0), b.less(8)], 1), 4, 'bool');
    tf.dispose([a, b]);
  });

  it('virtual branch values of an earlier flush are recomputed in the concatenation, and its gradient is right', async () => {
    const xs = branchesOf([8, 4, 12], 110);
    // tfjs holds the relu outputs across the flush: they become virtual (src/memory/rematerialize.ts).
    const relus = xs.map(x => x.relu());
    await mpsgpu.sync();
    mpsgpu.resetStats();
    const joined = tf.concat(relus, 3);
    const values = await joined.data();
    expect(mpsgpu.stats().dispatches).toBe(1);
    // Expected: row by row (2·5·3 rows), each branch's relu'd channels in turn.
    const channels = [8, 4, 12];
    const inputs = await Promise.all(xs.map(x => x.data()));
    const expected: number[] = [];
    for (let row = 0; row < 30; ++row) {
      channels.forEach((c, k) => { for (let j = 0; j < c; ++j) expected.push(Math.max(0, inputs[k][row * c + j])); });
    }
    expectClose(values, expected, 0, 'recomputed branches');
    const grad = (...ins: tf.Tensor[]) => tf.grads((...v: tf.Tensor[]) => tf.concat(v.map(x => x.relu().mul(2)), 3).square().sum())(ins);
    await expectMatchesCpu(() => grad(...xs), 1e-5, 'gradient through the concatenation');
    tf.dispose([...xs, ...relus, joined]);
  });
});

describe('fusion: elementwise readers of slices read through the view', () => {
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
  });

  it('the split of a concatenation\'s gradient: each branch reads its columns in place', async () => {
    const dy = t([2, 5, 3, 28], 130), xs = branchesOf([8, 4, 16], 140);
    // relu'(x)·dy per branch, as tfjs's gradient of relu after a concatenation computes it.
    const fn = () => tf.split(dy, [8, 4, 16], 3).map((piece, k) => piece.mul(xs[k].step()));
    // Unfused: three slices, three steps, three products; fused: three kernels.
    const run = await expectFused(fn, 6, 'split of dy');
    expect(run.dispatches).toBe(3);
    tf.dispose([dy, ...xs]);
  });

  it('a slice of a slice (nested concatenations), and a slice two kernels read', async () => {
    const dy = t([2, 5, 3, 24], 160), xs = branchesOf([4, 12, 8], 161);
    const fn = () => {
      const [a, rest] = tf.split(dy, [4, 20], 3);
      const [b, c] = tf.split(rest, [12, 8], 3);
      return [a.mul(xs[0].step()), b.mul(xs[1].step()), c.mul(xs[2].step()), c.add(1)];
    };
    // Unfused: 4 copies, 3 steps, 3 products and an add. Fused: each step in its product, every
    // copy read through (composed) views, and c's two readers share a dispatch (siblings).
    const run = await expectFused(fn, 8, 'nested slices');
    expect(run.dispatches).toBe(3);
    tf.dispose([dy, ...xs]);
  });

  it('views compose only where no coordinate carries over', () => {
    // [6, 10] at offset 2 with row stride 16: a [3, 4] window read with strides [20, 1] from 5.
    const view = {shape: [6, 10], strides: [16, 1], offset: 2};
    expect(composeViews([20, 1], 5, [3, 4], view)).toEqual({strides: [32, 1], offset: 2 + 5});
    // Columns 5 … 8 of rows 0, 2, 4 of the copy; columns 8 … 11 would carry into the next row.
    expect(composeViews([20, 1], 8, [3, 4], view)).toBeNull();
    // A stride that is no multiple of a row, past one row.
    expect(composeViews([15, 1], 0, [2, 4], view)).toBeNull();
    expect(stridesOver(view, [2, 3, 5, 2])).toEqual([48, 16, 2, 1]);
    expect(stridesOver(view, [4, 15])).toBeNull();
  });

  it('transposes, broadcasts and slices of other layouts; a slice that is kept or read elsewhere stays', async () => {
    const x = t([6, 4, 5], 150), y = t([5, 4, 6], 151);
    await expectFused(() => x.transpose([2, 1, 0]).add(y), 1, 'transpose');
    await expectFused(() => x.slice([1, 0, 2], [4, 4, 3]).mul(x.slice([0, 0, 0], [4, 4, 3])), 2, 'two slices, one reader');
    await expectFused(() => tf.broadcastTo(t([4, 1], 152), [6, 4, 5]).sub(x), 1, 'broadcast');
    // [3, 20] out of [6, 20] is read as [3, 4, 5]: rows of the view split into the reader's dimensions.
    await expectFused(() => x.reshape([6, 20]).slice([2, 0], [3, 20]).reshape([3, 4, 5]).exp(), 1, 'reshaped slice');
    const run = await expectFused(() => {
      const kept = x.slice([0, 1, 0], [6, 2, 5]);
      const shared = x.slice([0, 0, 0], [6, 2, 5]);
      return [kept.abs(), kept, shared.neg(), shared.sum()];
    }, 1, 'kept and shared slices');
    // Both slices stored; only abs and neg share a dispatch (siblings).
    expect(run.dispatches).toBe(4);
    // A reversed copy (negative strides) is stored.
    await expectFused(() => tf.reverse(x, 1).relu(), 0, 'reverse');
    tf.dispose([x, y]);
  });
});
