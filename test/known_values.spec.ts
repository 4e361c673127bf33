// Specs of values known on the CPU alongside the GPU (MpsgpuBackend.knowValues): small slices and
// casts of values the CPU holds are computed there too, equal to what the GPU computes, so reading
// them (GatherV2 checking model.fit's batch indices) waits for no GPU work.
import * as tf from '@tensorflow/tfjs-core';

import {mpsgpu} from '../src/index.js';
import {expectClose, expectMatchesCpu, randomValues} from './util.js';

describe('mpsgpu known values', () => {
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
  });

  // Fractions of both signs, NaN, infinities, out-of-int32-range values, an int above 2^24, zeros.
  const edgy = [0.5, -0.5, 1.9, -1.9, NaN, Infinity, -Infinity, 3e9, -3e9, 16777217, 0, -0, 7, -2147483648];

  /** `t`'s values as the GPU computed them: copied by a kernel that never knows values. */
  async function gpuValues(t: tf.Tensor) {
    const both = tf.concat([t.reshape([-1]), t.reshape([-1])]);
    const values = Array.from(await both.data() as ArrayLike<number>).slice(0, t.size);
    both.dispose();
    return values;
  }

  // Values where tfjs-backend-cpu's casts agree with the GPU's (it wraps out-of-range floats and
  // keeps int32 values beyond float32's precision; the GPU clamps and rounds, as Cast.ts says).
  const inRange = [0.5, -0.5, 1.9, -1.9, NaN, 0, -0, 7, 16777216, -2147483648];

  // [name, computation, whether tfjs-backend-cpu computes the same]
  const cases: Array<[string, () => tf.Tensor, boolean]> = [
    ['float → int32', () => tf.tensor1d(edgy).cast('int32'), false],
    ['float → int32 (in range)', () => tf.tensor1d(inRange).cast('int32'), true],
    ['float → bool', () => tf.tensor1d(edgy).cast('bool'), true],
    ['int32 → float32', () => tf.tensor1d([16777217, -16777219, 2147483647, -5, 0], 'int32').cast('float32'), false],
    ['int32 → float32 (exact)', () => tf.tensor1d([16777216, -16777215, -5, 0], 'int32').cast('float32'), true],
    ['int32 → bool', () => tf.tensor1d([3, 0, -1], 'int32').cast('bool'), true],
    ['bool → int32', () => tf.tensor1d([1, 0, 1], 'bool').cast('int32'), true],
    ['bool → float32', () => tf.tensor1d([0, 1, 1], 'bool').cast('float32'), true],
    ['slice of floats, then cast', () => tf.tensor1d(edgy).slice([2], [9]).cast('int32'), false],
    ['slice of floats, then cast (in range)', () => tf.tensor1d(inRange).slice([2], [6]).cast('int32'), true],
    ['strided 2-D slice', () => tf.tensor2d(randomValues(6 * 7, 3), [6, 7]).slice([1, 2], [4, 3]), true],
    ['int32 slice with stride -2', () => tf.stridedSlice(tf.tensor1d([1, 2, 3, 4, 5, 6, 7], 'int32'), [5], [0], [-2]), true],
    ['bool slice', () => tf.tensor2d([1, 0, 0, 1, 1, 0], [2, 3], 'bool').slice([0, 1], [2, 2]), true],
  ];

  for (const [name, make, cpuAgrees] of cases) {
    it(`${name}: CPU values equal the GPU's, read without a GPU round trip`, async () => {
      const t = make();
      const before = mpsgpu.stats().readbacks;
      const known = Array.from(t.dataSync() as ArrayLike<number>);
      expect(mpsgpu.stats().readbacks).toBe(before, 'a GPU readback');
      expectClose(known, await gpuValues(t), 0, 'known values against the GPU result');
      t.dispose();
      if (cpuAgrees) await expectMatchesCpu(make, 0, name);
    });
  }

  it('values above the size limit are read back from the GPU', async () => {
    const t = tf.tensor1d(randomValues(5000, 4, -100, 100)).cast('int32');
    const before = mpsgpu.stats().readbacks;
    const values = await t.data();
    expect(mpsgpu.stats().readbacks).toBe(before + 1);
    expect(values.length).toBe(5000);
    t.dispose();
  });

  it('values computed by the GPU from unknown inputs stay unknown', async () => {
    const t = tf.tidy(() => tf.tensor1d([1.5, 2.5, 3.5]).square().slice([1], [2]).cast('int32'));
    const before = mpsgpu.stats().readbacks;
    expect(Array.from(t.dataSync())).toEqual([6, 12]);
    expect(mpsgpu.stats().readbacks).toBe(before + 1);
    t.dispose();
  });

  it('GatherV2 on sliced and cast indices reads none back, and still ends the segment there', async () => {
    const table = tf.tensor2d(randomValues(32 * 5, 5), [32, 5]);
    const order = tf.tensor1d([5, 31, 0, 17, 3, 3, 12, 30, 1, 2, 8, 9]);
    const run = () => tf.tidy(() => tf.gather(table.square(), order.slice([2], [8]).cast('int32')));
    const before = mpsgpu.stats();
    const out = run();
    const after = mpsgpu.stats();
    expect(after.readbacks).toBe(before.readbacks, 'readbacks');
    // The square was submitted where the indices were read, as a read of them would.
    expect(after.flushes).toBeGreaterThan(before.flushes, 'flushes');
    const expected = tf.tidy(() => {
      const t = table.arraySync();
      return [0, 17, 3, 3, 12, 30, 1, 2].flatMap(r => t[r].map(v => Math.fround(v * v)));
    });
    expectClose(await out.data(), expected, 1e-6, 'gathered rows');
    tf.dispose([table, order, out]);
  });

  it('an out-of-range index among known values throws before any GPU work, and the backend stays usable', async () => {
    const table = tf.tensor2d(randomValues(4 * 3, 6), [4, 3]);
    const ids = tf.tensor1d([0, 1, 4, 2]);
    expect(() => tf.gather(table, ids.slice([1], [3]).cast('int32'))).toThrowError(/index value 4 is not in \[0, 3\]/);
    const ok = tf.gather(table, ids.slice([0], [2]).cast('int32'));
    expectClose(await ok.data(), Array.from(await table.slice([0, 0], [2, 3]).data()), 0, 'rows 0 and 1');
    tf.dispose([table, ids, ok]);
  });
});
