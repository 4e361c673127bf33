// Specs for the batchnorm kernels (see docs/WRITING_KERNELS.md): FusedBatchNorm compared with
// tfjs-backend-cpu, for every parameter layout tfjs-core's batchNorm accepts.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {mpsgpu} from '../src/index.js';
import {describeLazyAndEager, expectClose, expectGpuMatches, expectMatchesCpu, randomInts, randomValues} from './util.js';

// Typed as 1-D for the ops' parameter types; batchNorm takes any broadcastable rank.
const t = <R extends tf.Rank = tf.Rank.R1>(shape: number[], seed: number, lo = -2, hi = 2): tf.Tensor<R> => {
  const x: tf.Tensor = tf.tensor(randomValues(tf.util.sizeFromShape(shape), seed, lo, hi), shape);
  return x as tf.Tensor<R>;
};
/** Variances: positive. */
const v = (shape: number[], seed: number) => t(shape, seed, 0.1, 3);

describeLazyAndEager('batchNorm (FusedBatchNorm) matches tfjs-backend-cpu', () => {
  it('4-D x with [depth] parameters, with and without offset and scale', async () => {
    await expectMatchesCpu(() => {
      const x = t([2, 5, 7, 17], 1);
      const m = t([17], 2), va = v([17], 3), off = t([17], 4), sc = t([17], 5);
      return [tf.batchNorm(x, m, va, off, sc, 1e-3), tf.batchNorm(x, m, va), tf.batchNorm(x, m, va, off),
              tf.batchNorm(x, m, va, undefined, sc, 0.1)];
    });
  });

  it('2-D and 3-D x, channels 1 and 3', async () => {
    await expectMatchesCpu(() => [
      tf.batchNorm2d(t<tf.Rank.R2>([5, 3], 1), t<tf.Rank.R1>([3], 2), v([3], 3), t<tf.Rank.R1>([3], 4), t<tf.Rank.R1>([3], 5)),
      tf.batchNorm3d(t<tf.Rank.R3>([2, 4, 1], 6), t<tf.Rank.R1>([1], 7), v([1], 8), t<tf.Rank.R1>([1], 9), t<tf.Rank.R1>([1], 10), 1e-5),
      tf.batchNorm4d(t<tf.Rank.R4>([1, 3, 3, 3], 11), t<tf.Rank.R1>([3], 12), v([3], 13)),
    ]);
  });

  it('parameters of the same shape as x, and same rank with leading 1s', async () => {
    await expectMatchesCpu(() => {
      const x = t([2, 3, 4], 1);
      const full = [tf.batchNorm(x, t([2, 3, 4], 2), v([2, 3, 4], 3), t([2, 3, 4], 4), t([2, 3, 4], 5))];
      const x4 = t([2, 3, 3, 5], 6);
      full.push(tf.batchNorm(x4, t([1, 1, 1, 5], 7), v([1, 1, 1, 5], 8), t([1, 1, 1, 5], 9), t([1, 1, 1, 5], 10)));
      full.push(tf.batchNorm(x4, t([1, 1, 3, 5], 11), v([1, 1, 3, 5], 12)));
      return full;
    });
  });

  it('scalars, and parameters read cyclically (a length that is no trailing block of x)', async () => {
    await expectMatchesCpu(() => {
      const x = t([2, 3], 1);
      return [tf.batchNorm(x, tf.scalar(0.5), tf.scalar(2), tf.scalar(1), tf.scalar(-1)),
              tf.batchNorm(x, t([2], 2), v([2], 3), t([2], 4), t([2], 5)),
              tf.batchNorm(t([3, 4], 6), t([6], 7), v([3], 8))];
    });
  });

  it('int32 x', async () => {
    await expectMatchesCpu(() => tf.batchNorm(tf.tensor([1, 5, -3, 7, 2, 0], [2, 3], 'int32'), t([3], 1), v([3], 2)));
  });

  it('gradients with respect to x, mean, variance, offset and scale', async () => {
    await expectMatchesCpu(() => {
      const x = t([2, 3, 3, 4], 1), m = t([4], 2), va = v([4], 3), off = t([4], 4), sc = t([4], 5);
      return tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor, e: tf.Tensor) =>
        tf.batchNorm(a, b, c, d, e, 1e-3).square())([x, m, va, off, sc]);
    });
  });

  it('tfjs-layers BatchNormalization: training (moments, then batchNorm) and inference', async () => {
    await expectMatchesCpu(() => {
      const layer = tfl.layers.batchNormalization({axis: -1, momentum: 0.9});
      const x = t([4, 3, 3, 5], 1);
      const train = layer.apply(x, {training: true}) as tf.Tensor;
      const infer = layer.apply(x, {training: false}) as tf.Tensor;
      layer.dispose();
      return [train, infer];
    });
  });

  it('an empty x, and errors (missing mean, string dtype); a following op works', async () => {
    await expectMatchesCpu(() => tf.batchNorm(tf.zeros([0, 3]), t([3], 1), v([3], 2)));
    const x = t([2, 3], 1), va = v([3], 2);
    expect(() => tf.engine().runKernel('FusedBatchNorm', {x, variance: va}, {varianceEpsilon: 1e-3}))
      .toThrowError(/FusedBatchNorm: input 'mean' is required/);
    tf.dispose([x, va]);
    await expectMatchesCpu(() => tf.batchNorm(t([2, 3], 3), t([3], 4), v([3], 5)));
  });
});

describeLazyAndEager('mpsgpu.moments (one pass) matches tf.moments on tfjs-backend-cpu', () => {
  const CASES: Array<[number[], number[]|null]> = [
    [[4, 5, 5, 8], [0, 1, 2]], [[3, 7, 7, 3], [0, 1, 2]], [[2, 9, 11, 288], [0, 1, 2]], [[64, 3, 3, 1], [0, 1, 2]],
    [[300000, 4], [0]], [[100003, 3], [0]], [[6, 50], [1]], [[3, 70001], [1]], [[5, 4, 3], null], [[2, 3, 40, 5], [1, 3]],
    [[1, 1, 12], [0, 1]], [[7], [0]], [[1], [0]], [[4, 1, 6], [1]],
  ];
  for (const [shape, axes] of CASES) {
    for (const keepDims of [false, true]) {
      it(`float32 [${shape}] axes ${JSON.stringify(axes)} keepDims ${keepDims}`, async () => {
        const v = randomValues(tf.util.sizeFromShape(shape), 61, -3, 5);
        await expectGpuMatches(() => {
          const {mean, variance} = mpsgpu.moments(tf.tensor(v, shape), axes ?? undefined, keepDims);
          return [mean, variance];
        }, () => {
          const {mean, variance} = tf.moments(tf.tensor(v, shape), axes ?? undefined, keepDims);
          return [mean, variance];
        }, 1e-4);
      });
    }
  }

  it('int32 input gives float32 statistics', async () => {
    const v = randomInts(5 * 6 * 8, 63, -50, 50);
    await expectGpuMatches(() => {
      const {mean, variance} = mpsgpu.moments(tf.tensor(v, [5, 6, 8], 'int32'), [0, 1]);
      return [mean, variance];
    }, () => {
      const {mean, variance} = tf.moments(tf.tensor(v, [5, 6, 8], 'int32'), [0, 1]);
      return [mean, variance];
    }, 1e-5);
  });

  it('is numerically stable: a large offset does not cancel the variance (float64 reference)', async () => {
    for (const [rows, cols] of [[5000, 4], [200000, 3]]) {
      const v = randomValues(rows * cols, 67, -1, 1).map((d, i) => 10000 + (i % cols) * 1000 + d);
      const {mean, variance} = mpsgpu.moments(tf.tensor(v, [rows, cols]), [0]);
      const m = new Float64Array(cols), q = new Float64Array(cols);
      for (let i = 0; i < v.length; ++i) m[i % cols] += v[i] / rows;
      for (let i = 0; i < v.length; ++i) q[i % cols] += (v[i] - m[i % cols]) ** 2 / rows;
      expectClose(await mean.data(), m, 1e-6, 'mean');
      expectClose(await variance.data(), q, 2e-3, 'variance');
      tf.dispose([mean, variance]);
    }
  });

  it('NaN in a column gives NaN mean and variance there only', async () => {
    const v = randomValues(20000 * 8, 71);
    v[100 * 8 + 5] = NaN;
    const {mean, variance} = mpsgpu.moments(tf.tensor(v, [20000, 8]), [0]);
    const [m, q] = [await mean.data(), await variance.data()];
    for (let c = 0; c < 8; ++c) {
      expect(Number.isNaN(m[c])).toBe(c === 5);
      expect(Number.isNaN(q[c])).toBe(c === 5);
    }
    tf.dispose([mean, variance]);
  });

  it('gradient with respect to x matches tf.moments\'s', async () => {
    const v = randomValues(3 * 4 * 4 * 6, 73);
    const w = randomValues(6, 74);
    await expectGpuMatches(() => tf.grad((x: tf.Tensor) => {
      const {mean, variance} = mpsgpu.moments(x, [0, 1, 2]);
      return tf.add(tf.sum(tf.mul(mean, tf.tensor(w))), tf.sum(variance));
    })(tf.tensor(v, [3, 4, 4, 6])), () => tf.grad((x: tf.Tensor) => {
      const {mean, variance} = tf.moments(x, [0, 1, 2]);
      return tf.add(tf.sum(tf.mul(mean, tf.tensor(w))), tf.sum(variance));
    })(tf.tensor(v, [3, 4, 4, 6])), 1e-4);
  });

  it('empty input and errors (repeated axes, another backend); a following call works', async () => {
    await expectGpuMatches(() => {
      const {mean, variance} = mpsgpu.moments(tf.zeros([0, 3]), [0]);
      return [mean, variance];
    }, () => {
      const {mean, variance} = tf.moments(tf.zeros([0, 3]), [0]);
      return [mean, variance];
    });
    await tf.setBackend('mpsgpu');
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    expect(() => mpsgpu.moments(x, [0, 0])).toThrowError(/repeat/);
    expect(() => mpsgpu.moments(x, [2])).toThrowError(/axis/i);
    await tf.setBackend('cpu');
    expect(() => mpsgpu.moments(tf.scalar(1), [])).toThrowError(/setBackend/);
    await tf.setBackend('mpsgpu');
    const {mean, variance} = mpsgpu.moments(x, [0]);
    expect(Array.from(await mean.data())).toEqual([2, 3]);
    expect(Array.from(await variance.data())).toEqual([1, 1]);
    tf.dispose([x, mean, variance]);
  });
});
