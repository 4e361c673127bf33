// Specs for the batchnorm kernels (see docs/WRITING_KERNELS.md): FusedBatchNorm compared with
// tfjs-backend-cpu, for every parameter layout tfjs-core's batchNorm accepts.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {describeLazyAndEager, expectMatchesCpu, randomValues} from './util.js';

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
