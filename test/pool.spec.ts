// Specs for the pool kernels (see docs/WRITING_KERNELS.md): MaxPool, AvgPool, MaxPoolWithArgmax,
// MaxPoolGrad, AvgPoolGrad, compared with tfjs-backend-cpu.
import * as tf from '@tensorflow/tfjs-core';

import {describeLazyAndEager, expectMatchesCpu, randomInts, randomValues} from './util.js';

type Pad = 'same'|'valid'|number|[[number, number], [number, number], [number, number], [number, number]];

interface PoolCase {
  x: [number, number, number, number];
  f: number|[number, number];
  strides: number|[number, number];
  pad: Pad;
  rounding?: 'floor'|'round'|'ceil';
}

const t = (shape: number[], seed: number) => tf.tensor(randomValues(tf.util.sizeFromShape(shape), seed), shape);
/** Small integers as floats: many ties inside each window. */
const ties = (shape: number[], seed: number) => tf.tensor(Float32Array.from(randomInts(tf.util.sizeFromShape(shape), seed, 0, 2)), shape);
const tag = (c: PoolCase) => `x [${c.x}] f ${JSON.stringify(c.f)} s ${JSON.stringify(c.strides)} pad ${JSON.stringify(c.pad)}${c.rounding ? ` ${c.rounding}` : ''}`;

const CASES: PoolCase[] = [
  {x: [1, 7, 9, 3], f: 3, strides: 1, pad: 'same'},
  {x: [2, 8, 7, 1], f: [2, 3], strides: 2, pad: 'valid'},
  {x: [1, 9, 9, 17], f: 5, strides: 2, pad: 'same'},
  {x: [2, 6, 5, 3], f: 1, strides: 2, pad: 'same'},
  {x: [1, 5, 5, 2], f: 1, strides: 1, pad: 'valid'},
  {x: [1, 7, 6, 3], f: 3, strides: 2, pad: 1, rounding: 'ceil'},
  {x: [2, 7, 6, 2], f: [3, 2], strides: [2, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]]},
  {x: [3, 10, 10, 4], f: 3, strides: 3, pad: 'valid'},
  {x: [1, 3, 3, 1], f: 2, strides: 2, pad: 2},  // windows entirely in the padding
];

describeLazyAndEager('maxPool and avgPool match tfjs-backend-cpu', () => {
  for (const c of CASES) {
    it(tag(c), async () => {
      await expectMatchesCpu(() => {
        const x = t(c.x, 1) as tf.Tensor4D;
        return [tf.maxPool(x, c.f, c.strides, c.pad, c.rounding), tf.avgPool(x, c.f, c.strides, c.pad, c.rounding)];
      }, 1e-3, tag(c));
    });
  }

  it('ties, NaN (ignored by max) and int32 maxPool', async () => {
    await expectMatchesCpu(() => {
      const v = randomValues(2 * 5 * 5 * 3, 4);
      v[0] = NaN; v[7] = NaN; v[3 * 5 * 3] = NaN;
      const withNaN = tf.tensor(v, [2, 5, 5, 3]) as tf.Tensor4D;
      const ints = tf.tensor(randomInts(2 * 6 * 6 * 2, 5, -5, 5), [2, 6, 6, 2], 'int32') as tf.Tensor4D;
      return [tf.maxPool(ties([1, 6, 7, 3], 3) as tf.Tensor4D, 3, 2, 'same'), tf.maxPool(withNaN, 2, 1, 'valid'),
              tf.avgPool(withNaN, 2, 1, 'valid'), tf.maxPool(ints, 3, 2, 'same')];
    }, 1e-3);
  });

  it('rank-3 input and tf.pool', async () => {
    await expectMatchesCpu(() => {
      const x = t([6, 7, 3], 6) as tf.Tensor3D;
      return [tf.maxPool(x, 2, 2, 'same'), tf.avgPool(x, 3, 1, 'valid'),
              tf.pool(t([1, 8, 8, 2], 7) as tf.Tensor4D, [3, 3], 'max', 'same', 1, 2),
              tf.pool(t([1, 8, 8, 2], 8) as tf.Tensor4D, [2, 2], 'avg', 'valid', 1, 1)];
    });
  });

  it('errors: rank-3 x to the kernel, int32 AvgPool; a following op works', async () => {
    const x3 = t([5, 5, 3], 1);
    expect(() => tf.engine().runKernel('MaxPool', {x: x3}, {filterSize: 2, strides: 2, pad: 'valid'}))
      .toThrowError(/MaxPool: input 'x' must be rank 4 \(NHWC\), got shape \[5,5,3\]/);
    const xi = tf.tensor([1, 2, 3, 4], [1, 2, 2, 1], 'int32');
    expect(() => tf.engine().runKernel('AvgPool', {x: xi}, {filterSize: 2, strides: 1, pad: 'valid'}))
      .toThrowError(/AvgPool: input 'x' must be float32/);
    tf.dispose([x3, xi]);
    await expectMatchesCpu(() => tf.maxPool(t([1, 4, 4, 2], 2) as tf.Tensor4D, 2, 2, 'valid'));
  });
});

describeLazyAndEager('maxPoolWithArgmax matches tfjs-backend-cpu', () => {
  const cases: Array<[PoolCase, boolean]> = [
    [{x: [2, 7, 9, 3], f: 3, strides: 2, pad: 'same'}, false],
    [{x: [2, 7, 9, 3], f: 3, strides: 2, pad: 'same'}, true],
    [{x: [3, 8, 6, 1], f: [2, 3], strides: 1, pad: 'valid'}, true],
    [{x: [1, 6, 6, 17], f: 2, strides: 2, pad: 'valid'}, false],
  ];
  for (const [c, includeBatch] of cases) {
    it(`${tag(c)} includeBatchInIndex ${includeBatch}`, async () => {
      await expectMatchesCpu(() => {
        const {result, indexes} = tf.maxPoolWithArgmax(ties(c.x, 2) as tf.Tensor4D, c.f, c.strides, c.pad as 'same', includeBatch);
        const r2 = tf.maxPoolWithArgmax(t(c.x, 3) as tf.Tensor4D, c.f, c.strides, c.pad as 'same', includeBatch);
        return [result, indexes, r2.result, r2.indexes];
      }, 1e-3);
    });
  }
});

describeLazyAndEager('pooling gradients match tfjs-backend-cpu', () => {
  const cases: PoolCase[] = [
    {x: [2, 7, 9, 3], f: 3, strides: 2, pad: 'same'},
    {x: [1, 8, 7, 1], f: [2, 3], strides: 1, pad: 'valid'},
    {x: [1, 9, 9, 17], f: 5, strides: 2, pad: 'same'},
    {x: [2, 6, 5, 3], f: 1, strides: 2, pad: 'valid'},
    {x: [1, 7, 6, 3], f: 3, strides: 2, pad: 1, rounding: 'ceil'},
    {x: [2, 7, 6, 2], f: [3, 2], strides: [2, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]]},
    {x: [1, 5, 5, 2], f: 1, strides: 1, pad: 'same'},
  ];
  for (const c of cases) {
    it(`maxPool ${tag(c)} (ties)`, async () => {
      await expectMatchesCpu(() => {
        const w = t(tf.maxPool(tf.zeros(c.x) as tf.Tensor4D, c.f, c.strides, c.pad, c.rounding).shape, 9);
        return tf.grad((x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, c.f, c.strides, c.pad, c.rounding).mul(w))(ties(c.x, 5));
      }, 1e-3, tag(c));
    });
    it(`maxPool ${tag(c)} (distinct values)`, async () => {
      await expectMatchesCpu(() => tf.grad((x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, c.f, c.strides, c.pad, c.rounding).square())(t(c.x, 6)),
                             1e-3, tag(c));
    });
    it(`avgPool ${tag(c)}`, async () => {
      await expectMatchesCpu(() => tf.grad((x: tf.Tensor) => tf.avgPool(x as tf.Tensor4D, c.f, c.strides, c.pad, c.rounding).square())(t(c.x, 7)),
                             1e-3, tag(c));
    });
  }

  it('MaxPoolGrad and AvgPoolGrad kernels directly, with windows entirely in the padding', async () => {
    await expectMatchesCpu(() => {
      const x = t([1, 3, 3, 2], 1);
      const attrs = {filterSize: 2, strides: 2, pad: 2};
      const y = tf.maxPool(x as tf.Tensor4D, 2, 2, 2);
      const dy = t(y.shape, 2);
      return [tf.engine().runKernel('MaxPoolGrad', {dy, input: x, output: y}, attrs) as tf.Tensor,
              tf.engine().runKernel('AvgPoolGrad', {dy, input: x}, attrs) as tf.Tensor];
    });
  });
});

describeLazyAndEager('3-D pooling matches tfjs-backend-cpu', () => {
  const cases: Array<{x: [number, number, number, number, number], f: number|[number, number, number],
                      strides: number|[number, number, number], pad: 'same'|'valid'|number, rounding?: 'floor'|'ceil'}> = [
    {x: [1, 5, 6, 7, 3], f: 3, strides: 1, pad: 'same'},
    {x: [2, 7, 5, 6, 2], f: [2, 3, 2], strides: [2, 1, 2], pad: 'valid'},
    {x: [1, 4, 5, 5, 1], f: 2, strides: 2, pad: 1, rounding: 'ceil'},
  ];
  for (const c of cases) {
    const name = `x [${c.x}] f ${JSON.stringify(c.f)} s ${JSON.stringify(c.strides)} ${c.pad}${c.rounding ? ` ${c.rounding}` : ''}`;
    it(`maxPool3d and avgPool3d ${name}`, async () => {
      await expectMatchesCpu(() => {
        const x = t(c.x, 1) as tf.Tensor5D;
        return [tf.maxPool3d(x, c.f, c.strides, c.pad, c.rounding), tf.avgPool3d(x, c.f, c.strides, c.pad, c.rounding)];
      });
    });
    it(`gradients ${name}`, async () => {
      await expectMatchesCpu(() => {
        const mp = tf.grad((x: tf.Tensor) => tf.maxPool3d(x as tf.Tensor5D, c.f, c.strides, c.pad, c.rounding).square());
        const ap = tf.grad((x: tf.Tensor) => tf.avgPool3d(x as tf.Tensor5D, c.f, c.strides, c.pad, c.rounding).square());
        // Cubic windows for the tie case: tfjs-backend-cpu's 3-D max positions assume effH == effW.
        const cubic = typeof c.f === 'number';
        return cubic ? [mp(t(c.x, 2)), ap(t(c.x, 3)), mp(ties(c.x, 4))] : [ap(t(c.x, 3))];
      });
    });
  }

  it('maxPool3d gradient with a non-cubic window equals the 2-D one (depth 1)', async () => {
    // tfjs-backend-cpu's MaxPool3DGrad mixes effH and effW in its window positions, so where they
    // differ its 3-D gradient is wrong; its 2-D MaxPoolGrad is the reference here.
    await expectMatchesCpu(() => {
      const x = t([2, 1, 7, 6, 2], 6);  // distinct values: 2-D keeps the first maximum, 3-D the last
      if (tf.getBackend() === 'cpu') {
        const x4 = x.reshape([2, 7, 6, 2]);
        return tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, [3, 2], [1, 2], 'same').square())(x4).reshape(x.shape);
      }
      return tf.grad((a: tf.Tensor) => tf.maxPool3d(a as tf.Tensor5D, [1, 3, 2], [1, 1, 2], 'same').square())(x);
    });
  });
});
