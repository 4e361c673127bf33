// Specs for the pool kernels (see docs/WRITING_KERNELS.md): MaxPool, AvgPool, MaxPoolWithArgmax,
// MaxPoolGrad, AvgPoolGrad, compared with tfjs-backend-cpu.
import * as tf from '@tensorflow/tfjs-core';

import {mpsgpu} from '../src/index.js';

import {describeLazyAndEager, expectMatchesCpu, randomInts, randomValues} from './util.js';

type Shape4 = [number, number, number, number];
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

// The programs take 4 channels per invocation (vec4) where C % 4 == 0 and one otherwise; a window
// covering a whole image of many pixels is a reduction.
describeLazyAndEager('2-D pooling: vec4 and scalar paths, special values, global windows', () => {
  type Pads4 = [[number, number], [number, number], [number, number], [number, number]];
  const explicit: Pads4 = [[0, 0], [2, 1], [0, 2], [0, 0]];
  const paths: PoolCase[] = [
    {x: [1, 9, 11, 8], f: 3, strides: 2, pad: 'same'},       // vec4, batch 1
    {x: [2, 9, 11, 5], f: 3, strides: 2, pad: 'same'},       // scalar
    {x: [2, 8, 7, 4], f: [2, 3], strides: [1, 2], pad: explicit},
    {x: [1, 8, 7, 3], f: [2, 3], strides: [1, 2], pad: explicit},
    {x: [3, 6, 6, 12], f: 2, strides: 2, pad: 'valid'},
    {x: [1, 7, 5, 4], f: 4, strides: 3, pad: 2, rounding: 'floor'},  // windows entirely in the padding
  ];
  for (const c of paths) {
    it(`forward, argmax and gradients ${tag(c)}`, async () => {
      await expectMatchesCpu(() => {
        const x = t(c.x, 11) as tf.Tensor4D;
        const tied = ties(c.x, 12) as tf.Tensor4D;
        const maxGrad = tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, c.f, c.strides, c.pad, c.rounding).square());
        const avgGrad = tf.grad((a: tf.Tensor) => tf.avgPool(a as tf.Tensor4D, c.f, c.strides, c.pad, c.rounding).square());
        const out = [tf.maxPool(x, c.f, c.strides, c.pad, c.rounding), tf.avgPool(x, c.f, c.strides, c.pad, c.rounding),
                     maxGrad(x), maxGrad(tied), avgGrad(x)];
        if (typeof c.pad !== 'object' && c.rounding == null) {
          for (const includeBatch of [false, true]) {
            const r = tf.maxPoolWithArgmax(tied, c.f, c.strides, c.pad as 'same', includeBatch);
            out.push(r.result, r.indexes);
          }
        }
        return out;
      }, 1e-3, tag(c));
    });
  }

  it('dilation 2 through tf.pool, forward and gradients, vec4 and scalar', async () => {
    await expectMatchesCpu(() => {
      const out: tf.Tensor[] = [];
      for (const [shape, pad] of [[[2, 9, 10, 4], 'same'], [[1, 11, 8, 3], 'valid']] as Array<[Shape4, 'same'|'valid']>) {
        const x = t(shape, 13) as tf.Tensor4D;
        for (const type of ['max', 'avg'] as const) {
          out.push(tf.pool(x, [3, 2], type, pad, 2, 1));
          out.push(tf.grad((a: tf.Tensor) => tf.pool(a as tf.Tensor4D, [3, 2], type, pad, 2, 1).square())(x));
        }
      }
      return out;
    }, 1e-3);
  });

  it('int32: maxPool, argmax and MaxPoolGrad, windows in the padding, vec4 and scalar', async () => {
    await expectMatchesCpu(() => {
      const out: tf.Tensor[] = [];
      for (const shape of [[2, 7, 6, 4], [1, 7, 6, 3]] as Shape4[]) {
        const xi = tf.tensor(randomInts(tf.util.sizeFromShape(shape), 14, -3, 3), shape, 'int32') as tf.Tensor4D;
        out.push(tf.maxPool(xi, 3, 2, 'same'), tf.maxPool(xi, 2, 3, 2));
        const r = tf.maxPoolWithArgmax(xi, 3, 2, 'same', true);
        out.push(r.result, r.indexes);
        const y = tf.maxPool(xi, 3, 2, 'same');
        const dy = t(y.shape, 15);
        out.push(tf.engine().runKernel('MaxPoolGrad', {dy, input: xi, output: y}, {filterSize: 3, strides: 2, pad: 'same'}) as tf.Tensor);
      }
      return out;
    }, 1e-3);
  });

  it('NaN and -inf windows: max ignores NaN, all-NaN and all -inf windows give -inf and no position', async () => {
    await expectMatchesCpu(() => {
      const out: tf.Tensor[] = [];
      for (const c of [4, 3]) {
        const shape: Shape4 = [2, 6, 6, c];
        const v = randomValues(tf.util.sizeFromShape(shape), 16);
        const at = (b: number, r: number, col: number, d: number) => ((b * 6 + r) * 6 + col) * c + d;
        for (let r = 0; r < 2; ++r) for (let col = 0; col < 2; ++col) { v[at(0, r, col, 0)] = NaN; v[at(0, r, col, 1)] = -Infinity; }
        v[at(1, 3, 3, 2)] = NaN;
        v[at(1, 2, 2, 0)] = Infinity;
        v[at(1, 4, 4, 1)] = -Infinity;
        const x = tf.tensor(v, shape) as tf.Tensor4D;
        out.push(tf.maxPool(x, 2, 2, 'valid'), tf.avgPool(x, 2, 2, 'valid'), tf.maxPool(x, 3, 1, 'same'));
        const r = tf.maxPoolWithArgmax(x, 2, 2, 'valid', false);
        out.push(r.result, r.indexes);
        const dy = t([2, 3, 3, c], 17);
        out.push(tf.engine().runKernel('MaxPoolGrad', {dy, input: x, output: tf.maxPool(x, 2, 2, 'valid')},
                                       {filterSize: 2, strides: 2, pad: 'valid'}) as tf.Tensor);
      }
      return out;
    }, 1e-3);
  });

  it('global windows over short rows (the pool program): maxPool, avgPool, their gradients, NaN, int32', async () => {
    await expectMatchesCpu(() => {
      const v = randomValues(2 * 7 * 9 * 5, 18);
      v[3] = NaN; v[8] = NaN;  // channel 3 of pixel 0, channel 3 of pixel 1 in batch 0
      for (let p = 0; p < 7 * 9; ++p) v[p * 5 + 1] = NaN;  // channel 1 of batch 0 all NaN
      const x = tf.tensor(v, [2, 7, 9, 5]) as tf.Tensor4D;
      const x8 = t([3, 6, 5, 8], 19) as tf.Tensor4D;
      const xi = tf.tensor(randomInts(2 * 5 * 4 * 4, 20), [2, 5, 4, 4], 'int32') as tf.Tensor4D;
      const sq = (f: (a: tf.Tensor4D) => tf.Tensor) => tf.grad((a: tf.Tensor) => f(a as tf.Tensor4D).square());
      return [tf.maxPool(x, [7, 9], 1, 'valid'), tf.avgPool(x, [7, 9], 1, 'valid'),
              tf.maxPool(x8, [6, 5], [6, 5], 'same'), tf.avgPool(x8, [6, 5], [6, 5], 'same'), tf.avgPool(x8, [8, 7], 1, [[0, 0], [1, 1], [1, 1], [0, 0]]),
              tf.maxPool(x8, [8, 7], 1, [[0, 0], [2, 0], [0, 2], [0, 0]]),
              tf.maxPool(xi, [5, 4], 1, 'valid'),
              sq(a => tf.maxPool(a, [6, 5], 1, 'valid'))(x8), sq(a => tf.avgPool(a, [6, 5], 1, 'valid'))(x8)];
    }, 1e-3);
  });

  it('global windows over long rows (a reduction over H·W, one and two passes): NaN, int32, pads', async () => {
    await expectMatchesCpu(() => {
      const withNaN = (shape: Shape4, seed: number) => {
        const v = randomValues(tf.util.sizeFromShape(shape), seed);
        const c = shape[3];
        v[c + 2] = NaN; v[7 * c + 2] = NaN;  // channel 2 of batch 0: two NaN pixels
        for (let p = 0; p < shape[1] * shape[2]; ++p) v[p * c] = NaN;  // channel 0 of batch 0: all NaN
        return tf.tensor(v, shape) as tf.Tensor4D;
      };
      const x = withNaN([2, 48, 50, 5], 22);
      const big = withNaN([1, 131, 129, 4], 23);
      const xi = tf.tensor(randomInts(45 * 46 * 3, 24), [1, 45, 46, 3], 'int32') as tf.Tensor4D;
      return [tf.maxPool(x, [48, 50], 1, 'valid'), tf.avgPool(x, [48, 50], 1, 'valid'),
              tf.maxPool(x, [49, 52], 1, [[0, 0], [1, 0], [1, 1], [0, 0]]), tf.avgPool(x, [48, 50], [48, 50], 'same'),
              tf.maxPool(big, [131, 129], 1, 'valid'), tf.avgPool(big, [131, 129], 1, 'valid'),
              tf.maxPool(xi, [45, 46], 1, 'valid')];
    }, 1e-3);
  });
});

// MaxPoolGrad finds the window maxima in its gradient pass (one dispatch) for small float inputs on
// a CPU adapter (kernels/pool_grad.ts, INLINE_MAX_LOADS), and records them in a positions pass
// first otherwise: the same rule (first strict maximum, NaN never wins) on both paths.
describeLazyAndEager('MaxPoolGrad: one pass (small inputs) and two passes', () => {
  const cases: PoolCase[] = [
    {x: [3, 7, 13, 5], f: 3, strides: 2, pad: 'same'},    // the kernel benchmark's odd case (one pass)
    {x: [3, 7, 13, 8], f: 3, strides: 2, pad: 'same'},    // vec4
    {x: [1, 6, 5, 4], f: 3, strides: 1, pad: 'same'},     // batch 1, stride 1
    {x: [2, 5, 6, 3], f: 2, strides: 2, pad: 2},          // windows entirely in the padding
    {x: [1, 7, 6, 3], f: [3, 2], strides: [2, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]]},
    {x: [2, 20, 20, 8], f: 3, strides: 2, pad: 'same'},   // two passes
    {x: [3, 15, 15, 5], f: 3, strides: 2, pad: 'valid'},  // two passes, scalar
  ];
  /** Values with NaN, ±inf and runs of ties. */
  const special = (shape: Shape4, seed: number) => {
    const v = randomValues(tf.util.sizeFromShape(shape), seed);
    for (let i = 0; i < v.length; i += 7) v[i] = NaN;
    for (let i = 3; i < v.length; i += 11) v[i] = -Infinity;
    for (let i = 5; i < v.length; i += 13) v[i] = 1;
    for (let i = 6; i < v.length; i += 13) v[i] = 1;
    v[1] = Infinity;
    return tf.tensor(v, shape) as tf.Tensor4D;
  };
  for (const c of cases) {
    it(`${tag(c)}: distinct values, ties, NaN and ±inf, and the kernel directly`, async () => {
      await expectMatchesCpu(() => {
        const grad = tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, c.f, c.strides, c.pad, c.rounding).square());
        const x = special(c.x, 41);
        const y = tf.maxPool(x, c.f, c.strides, c.pad, c.rounding);
        const dy = t(y.shape, 42);
        const kernel = tf.engine().runKernel('MaxPoolGrad', {dy, input: x, output: y},
                                             {filterSize: c.f, strides: c.strides, pad: c.pad} as unknown as tf.NamedAttrMap) as tf.Tensor;
        return [grad(t(c.x, 43)), grad(ties(c.x, 44)), kernel];
      }, 1e-3, tag(c));
    });
  }

  it('takes one dispatch for a small float input on a CPU adapter, two for a large one or int32', async () => {
    const cpu = /llvmpipe|lavapipe|swiftshader/i.test(JSON.stringify(mpsgpu.device().adapterInfo));
    const dispatches = async (x: tf.Tensor4D) => {
      const y = tf.maxPool(x, 3, 2, 'same');
      const dy = t(y.shape, 45);
      await Promise.all([y.data(), dy.data()]);
      await mpsgpu.sync();
      mpsgpu.resetStats();
      const dx = tf.engine().runKernel('MaxPoolGrad', {dy, input: x, output: y}, {filterSize: 3, strides: 2, pad: 'same'}) as tf.Tensor;
      await dx.data();
      const n = mpsgpu.stats().dispatches;
      tf.dispose([y, dy, dx]);
      return n;
    };
    const small = t([3, 7, 13, 5], 46) as tf.Tensor4D;
    const large = t([2, 20, 20, 8], 47) as tf.Tensor4D;
    const ints = tf.tensor(randomInts(3 * 7 * 13 * 5, 48, -3, 3), [3, 7, 13, 5], 'int32') as tf.Tensor4D;
    expect(await dispatches(small)).toBe(cpu ? 1 : 2);
    expect(await dispatches(large)).toBe(2);
    expect(await dispatches(ints)).toBe(2);
    tf.dispose([small, large, ints]);
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
