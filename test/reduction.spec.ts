// Specs for the reduction kernels (see docs/WRITING_KERNELS.md): Sum, Prod, Mean, Max, Min, Any,
// All, ArgMax, ArgMin and Softmax against tfjs-backend-cpu.
import * as tf from '@tensorflow/tfjs-core';

import {describeLazyAndEager, expectMatchesCpu, randomInts, randomValues} from './util.js';

type Axis = number|number[]|null;

// Shapes and axes: every rank 0..5, contiguous and strided axes, several reduced groups, size-1 dims.
const CASES: Array<[number[], Axis]> = [
  [[], null], [[7], null], [[7], 0], [[1], 0],
  [[3, 5], 0], [[3, 5], 1], [[3, 5], [0, 1]], [[3, 5], -1], [[3, 5], null], [[3, 5], []],
  [[2, 3, 4], [0, 2]], [[2, 3, 4], 1], [[2, 3, 4], [1, 2]], [[2, 3, 4], [2, 0]],
  [[2, 3, 1, 5], [1, 3]], [[2, 3, 1, 5], 2], [[2, 3, 1, 5], [0, 1, 2]],
  [[2, 1, 3, 2, 4], [0, 2, 4]], [[2, 1, 3, 2, 4], [1, 3]], [[3, 2, 5, 2, 3], [0, 1, 3]],
];

const OPS: Record<string, (x: tf.Tensor, axis: Axis, keepDims: boolean) => tf.Tensor> = {
  sum: (x, a, k) => tf.sum(x, a ?? undefined, k),
  prod: (x, a, k) => tf.prod(x, a ?? undefined, k),
  mean: (x, a, k) => tf.mean(x, a ?? undefined, k),
  max: (x, a, k) => tf.max(x, a ?? undefined, k),
  min: (x, a, k) => tf.min(x, a ?? undefined, k),
};

function values(op: string, n: number, seed: number): Float32Array {
  // Products stay near 1 so they neither vanish nor overflow.
  return op === 'prod' ? randomValues(n, seed, 0.7, 1.3) : randomValues(n, seed, -5, 5);
}

describeLazyAndEager('reductions match tfjs-backend-cpu', () => {
  for (const op of Object.keys(OPS)) {
    for (const [shape, axis] of CASES) {
      for (const keepDims of [false, true]) {
        it(`${op} float32 [${shape}] axis ${JSON.stringify(axis)} keepDims ${keepDims}`, async () => {
          const v = values(op, tf.util.sizeFromShape(shape), shape.length + 3);
          await expectMatchesCpu(() => OPS[op](tf.tensor(v, shape), axis, keepDims), 1e-4, op);
        });
      }
      it(`${op} int32 [${shape}] axis ${JSON.stringify(axis)}`, async () => {
        const lo = op === 'prod' ? -2 : -100, hi = op === 'prod' ? 2 : 100;
        const v = randomInts(tf.util.sizeFromShape(shape), shape.length + 5, lo, hi);
        await expectMatchesCpu(() => OPS[op](tf.tensor(v, shape, 'int32'), axis, false), op === 'mean' ? 1e-5 : 0, op);
      });
    }
  }

  for (const [shape, axis] of CASES) {
    it(`any/all bool [${shape}] axis ${JSON.stringify(axis)}`, async () => {
      const n = tf.util.sizeFromShape(shape);
      const mostlyTrue = randomInts(n, 3, 0, 5).map(v => (v > 0 ? 1 : 0));
      const mostlyFalse = randomInts(n, 4, 0, 5).map(v => (v > 3 ? 1 : 0));
      await expectMatchesCpu(() => {
        const t = tf.tensor(mostlyTrue, shape, 'bool'), f = tf.tensor(mostlyFalse, shape, 'bool');
        return [tf.any(t, axis ?? undefined), tf.all(t, axis ?? undefined), tf.any(f, axis ?? undefined, true),
                tf.all(f, axis ?? undefined, true)];
      }, 0);
    });
  }

  it('Sum and Prod of bool give int32; Max and Min of bool stay bool (kernels called directly)', async () => {
    const v = randomInts(12, 9, 0, 1);
    await expectMatchesCpu(() => {
      const x = tf.tensor(v, [3, 4], 'bool');
      return ['Sum', 'Prod', 'Max', 'Min'].map(k => tf.engine().runKernel(k, {x},
        k === 'Max' ? {reductionIndices: [1], keepDims: false} : {axis: [1], keepDims: false}) as tf.Tensor);
    }, 0);
  });

  it('Mean of int32 is float32', async () => {
    await expectMatchesCpu(() => tf.mean(tf.tensor([1, 2, 3, 4, 6], [5], 'int32')), 1e-6);
  });

  it('int32 Sum stays exact for large values', async () => {
    const v = randomInts(3000, 7, -1000000, 1000000);
    await expectMatchesCpu(() => [tf.sum(tf.tensor(v, [3, 1000], 'int32'), 1), tf.sum(tf.tensor(v, [3000], 'int32'))], 0);
  });

  it('Max and Min propagate NaN; rows without NaN unaffected', async () => {
    const v = randomValues(40, 5);
    v[3] = NaN; v[17] = NaN; v[0 + 30] = NaN;
    await expectMatchesCpu(() => {
      const x = tf.tensor(v, [4, 10]);
      return [tf.max(x, 1), tf.min(x, 1), tf.max(x, 0), tf.min(x, 0), tf.max(x), tf.sum(x, 1), tf.mean(x, 0)];
    }, 1e-5);
  });

  it('Max and Min with infinities', async () => {
    await expectMatchesCpu(() => {
      const x = tf.tensor([Infinity, 1, -Infinity, 2, -Infinity, -Infinity, Infinity, Infinity], [4, 2]);
      return [tf.max(x, 1), tf.min(x, 1), tf.sum(x, 1)];
    }, 0);
  });

  it('empty rows and empty outputs', async () => {
    await expectMatchesCpu(() => {
      const x = tf.zeros([0, 3]);
      return [tf.sum(x, 0), tf.prod(x, 0), tf.mean(x, 1), tf.max(x, 1), tf.sum(x, 1), tf.sum(tf.zeros([0, 3], 'int32'), 0)];
    }, 0);
  });

  // Long rows: two passes (chunks, then partials); strided and contiguous; many short rows.
  const LONG: Array<[number[], Axis]> = [
    [[100000], null], [[2, 100000], 1], [[100000, 3], 0], [[3, 70001], null], [[50, 2000, 3], [0, 1]],
    [[5000, 7], 1], [[100, 3000], 0], [[40, 300], 0], [[16, 20000], 1], [[17, 4096], 1], [[2000, 200], 0],
    [[3, 5000, 7], 1], [[4100, 130], 0], [[20000, 20], [0]],
  ];
  for (const [shape, axis] of LONG) {
    it(`long: sum/mean/max/min float32 [${shape}] axis ${JSON.stringify(axis)}`, async () => {
      const v = randomValues(tf.util.sizeFromShape(shape), 11, -1, 1);
      await expectMatchesCpu(() => {
        const x = tf.tensor(v, shape);
        const a = axis ?? undefined;
        return [tf.sum(x, a), tf.mean(x, a), tf.max(x, a), tf.min(x, a)];
      }, 1e-3);
    });
    it(`long: int32 sum/max, bool any/all [${shape}] axis ${JSON.stringify(axis)}`, async () => {
      const n = tf.util.sizeFromShape(shape);
      const v = randomInts(n, 13, -1000, 1000);
      const allTrue = new Int32Array(n).fill(1);
      allTrue[n - 2] = 0;
      await expectMatchesCpu(() => {
        const x = tf.tensor(v, shape, 'int32');
        const a = axis ?? undefined;
        const bt = tf.tensor(allTrue, shape, 'bool');
        return [tf.sum(x, a), tf.max(x, a), tf.min(x, a), tf.any(tf.logicalNot(bt), a), tf.all(bt, a)];
      }, 0);
    });
  }

  it('long rows with NaN', async () => {
    const v = randomValues(200000, 17);
    v[150001] = NaN;
    await expectMatchesCpu(() => {
      const x = tf.tensor(v, [2, 100000]);
      return [tf.max(x, 1), tf.min(x, 1), tf.max(x)];
    }, 0);
  });

  it('errors: axis out of range throws before any GPU work, then ops still work', async () => {
    await tf.setBackend('mpsgpu');
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    expect(() => tf.sum(x, 2)).toThrowError(/axis/i);
    expect(() => tf.max(x, [0, 0])).toThrowError();
    expectArraysEqual(await tf.sum(x, 1).data(), [3, 7]);
    x.dispose();
  });
});

function expectArraysEqual(actual: ArrayLike<number>, expected: number[]) {
  expect(Array.from(actual)).toEqual(expected);
}

// Column reductions (kernels/reduce.ts: columnLayout): over outer axes with contiguous columns kept,
// channels a multiple of 4 (vec4) or not, one to three passes, outer kept dimensions, several
// reduced groups, size-1 dimensions, single-element rows.
describeLazyAndEager('column reductions (and vec4 rows) match tfjs-backend-cpu', () => {
  const COLS: Array<[number[], number[]]> = [
    [[16, 5, 5, 12], [0, 1, 2]], [[7, 5, 5, 7], [0, 1, 2]], [[3, 9, 11, 288], [0, 1, 2]],
    [[200000, 4], [0]], [[120001, 3], [0]], [[5, 3000, 8], [1]], [[4, 8, 8, 2048], [1, 2]],
    [[2, 37, 9, 33], [0, 2]], [[9000, 1, 36], [0, 1]], [[33, 1], [0]], [[40, 1, 2], [0, 1]],
    [[3000, 130], [0]], [[64, 6, 6, 1], [0, 1, 2]], [[1, 1, 20], [0, 1]],
    // Contiguous rows read as vec4 (the same layout with one column).
    [[5, 4000], [1]], [[2, 30, 80], [0, 2]], [[3, 8, 100], [1, 2]], [[400000], [0]], [[256, 1024], [1]],
  ];
  for (const [shape, axes] of COLS) {
    it(`sum/mean/max/min/prod float32 [${shape}] axes [${axes}]`, async () => {
      const n = tf.util.sizeFromShape(shape);
      const v = randomValues(n, 41, -1, 1);
      const p = randomValues(n, 43, 0.999, 1.001);
      await expectMatchesCpu(() => {
        const x = tf.tensor(v, shape);
        return [tf.sum(x, axes), tf.mean(x, axes, true), tf.max(x, axes), tf.min(x, axes), tf.prod(tf.tensor(p, shape), axes)];
      }, 1e-3);
    });
    it(`int32 sum/max/min, bool any/all [${shape}] axes [${axes}]`, async () => {
      const n = tf.util.sizeFromShape(shape);
      const v = randomInts(n, 47, -1000, 1000);
      const ones = new Int32Array(n).fill(1);
      ones[Math.floor(n / 2)] = 0;
      await expectMatchesCpu(() => {
        const x = tf.tensor(v, shape, 'int32');
        const b = tf.tensor(ones, shape, 'bool');
        return [tf.sum(x, axes), tf.max(x, axes), tf.min(x, axes), tf.mean(x, axes), tf.all(b, axes), tf.any(tf.logicalNot(b), axes, true)];
      }, 1e-5);
    });
  }

  it('NaN and infinities propagate per column, other columns unaffected (one and several passes)', async () => {
    for (const shape of [[30, 8], [50000, 8], [30, 7], [50000, 7]]) {
      const n = tf.util.sizeFromShape(shape);
      const v = randomValues(n, 51);
      const c = shape[1];
      v[5 * c + 1] = NaN;
      v[(shape[0] - 1) * c + 2] = Infinity;
      v[3 * c + 3] = -Infinity;
      await expectMatchesCpu(() => {
        const x = tf.tensor(v, shape);
        // prod of long columns only where short: the CPU multiplies in float64, no underflow to 0.
        const prod = shape[0] < 100 ? [tf.prod(x, 0)] : [];
        return [tf.sum(x, 0), tf.max(x, 0), tf.min(x, 0), tf.mean(x, 0), ...prod];
      }, 1e-3, `[${shape}]`);
    }
  });

  it('reductions tf.moments and batch-norm gradients use: mean over N·H·W, squared difference', async () => {
    const v = randomValues(6 * 7 * 7 * 20, 53, -3, 3);
    await expectMatchesCpu(() => {
      const x = tf.tensor(v, [6, 7, 7, 20]);
      const {mean, variance} = tf.moments(x, [0, 1, 2]);
      const dy = tf.mul(x, 0.5);
      return [mean, variance, tf.sum(tf.mul(dy, tf.sub(x, mean)), [0, 1, 2])];
    }, 1e-4);
  });
});

describeLazyAndEager('ArgMax and ArgMin match tfjs-backend-cpu', () => {
  const shapes: Array<[number[], number]> = [
    [[7], 0], [[3, 5], 0], [[3, 5], 1], [[3, 5], -1], [[2, 3, 4], 1], [[2, 3, 4], 0], [[2, 3, 4], 2],
    [[2, 1, 3, 2, 4], 2], [[2, 1, 3, 2, 4], 4], [[1], 0], [[300, 40], 1], [[40, 300], 0],
  ];
  for (const [shape, axis] of shapes) {
    it(`float32 and int32 (ties) [${shape}] axis ${axis}`, async () => {
      const n = tf.util.sizeFromShape(shape);
      const f = randomValues(n, 21);
      const ints = randomInts(n, 22, 0, 3);
      await expectMatchesCpu(() => {
        const x = tf.tensor(f, shape), xi = tf.tensor(ints, shape, 'int32');
        return [tf.argMax(x, axis), tf.argMin(x, axis), tf.argMax(xi, axis), tf.argMin(xi, axis)];
      }, 0);
    });
  }

  it('NaN: first element NaN gives 0, other NaNs are skipped', async () => {
    await expectMatchesCpu(() => {
      const x = tf.tensor([NaN, 1, 5, 2, NaN, 4, 1, 2, 2, NaN, -1, NaN, NaN, NaN, NaN, 7], [4, 4]);
      return [tf.argMax(x, 1), tf.argMin(x, 1), tf.argMax(x, 0), tf.argMin(x, 0)];
    }, 0);
  });

  it('long rows (two passes), ties and NaN', async () => {
    const v = randomInts(300000, 23, -50, 50);
    const f = Float32Array.from(v);
    f[0] = NaN;                   // row 0: NaN first → 0
    f[100000 + 5] = NaN;          // row 1: a NaN in the middle is skipped
    f[200000 + 70000] = 1000;     // row 2: a unique maximum in a late chunk
    await expectMatchesCpu(() => {
      const x = tf.tensor(f, [3, 100000]), xi = tf.tensor(v, [3, 100000], 'int32');
      return [tf.argMax(x, 1), tf.argMin(x, 1), tf.argMax(xi, 1), tf.argMin(xi, 1),
              tf.argMax(tf.tensor(v, [100000, 3], 'int32'), 0), tf.argMax(tf.tensor(v.slice(0, 150000), [150000]))];
    }, 0);
  });

  it('bool input', async () => {
    await expectMatchesCpu(() => tf.argMax(tf.tensor([0, 1, 1, 0, 0, 0], [2, 3], 'bool'), 1), 0);
  });
});

describeLazyAndEager('Softmax matches tfjs-backend-cpu', () => {
  const shapes = [[1], [10], [4, 7], [3, 33], [3, 100], [7, 36], [64, 1000], [2, 3, 1000], [1, 5000], [200, 10], [2, 70000], [2, 2, 2, 3, 5]];
  for (const shape of shapes) {
    it(`[${shape}]`, async () => {
      const v = randomValues(tf.util.sizeFromShape(shape), 31, -8, 8);
      await expectMatchesCpu(() => tf.softmax(tf.tensor(v, shape)), 1e-5);
    });
  }

  it('is stable for large logits; NaN and infinities as on the CPU', async () => {
    await expectMatchesCpu(() => [
      tf.softmax(tf.tensor([1000, 1001, 1002, -1000], [2, 2])),
      tf.softmax(tf.tensor([1, NaN, 3, 4, 5, 6], [2, 3])),
      tf.softmax(tf.tensor([-Infinity, 0, 1, Infinity, 1, 2], [2, 3])),
      tf.softmax(tf.tensor(Array.from({length: 80}, (_, i) => (i === 41 ? NaN : i * 50)), [2, 40])),
    ], 1e-5);
  });

  it('errors: a non-last dim throws, then ops still work', async () => {
    await tf.setBackend('mpsgpu');
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    expect(() => tf.softmax(x, 0)).toThrowError(/non-last/);
    expect(() => tf.engine().runKernel('Softmax', {logits: x}, {dim: 0})).toThrowError(/last axis/);
    const y = await tf.softmax(x).data();
    expect(Math.abs(y[0] + y[1] - 1)).toBeLessThan(1e-6);
    x.dispose();
  });
});
