// Specs of virtual values (src/memory/rematerialize.ts): elementwise results that tfjs holds at a
// flush are not stored but recomputed where read (by an elementwise reader inside its kernel, by
// others into a temporary), their inputs stay while they live, variables are always stored, and
// chains of virtual values do not grow across flushes. A budget flush (MPSGPU_FLUSH_THRESHOLD)
// cuts segments while tfjs still holds the values.
import * as tf from '@tensorflow/tfjs-core';

import {mpsgpu} from '../src/index.js';
import {sizeClass} from '../src/memory/pool.js';
import {bytesInGpu, expectMatchesCpu, randomValues, withFlags} from './util.js';

/** A flush after every `n` recorded nodes, no ramp. */
const every = (n: number) => ({MPSGPU_FLUSH_THRESHOLD: n, MPSGPU_FLUSH_FIRST: 0, MPSGPU_MAX_IN_FLIGHT: 64});

/** Uploads `ts` (a read on the CPU does not), so that byte counts start with them on the GPU. */
async function upload(...ts: tf.Tensor[]) {
  for (const t of ts) {
    const copy = t.neg();
    await copy.data();
    copy.dispose();
  }
  await mpsgpu.sync();
}

function expectValues(got: ArrayLike<number>, want: (i: number) => number, what: string) {
  for (let i = 0; i < got.length; ++i) expect(Math.abs(got[i] - want(i))).toBeLessThan(1e-5, `${what} [${i}]`);
}

describe('mpsgpu virtual values', () => {
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
  });

  it('a held elementwise result is not stored, and reads recompute it', withFlags(every(2), async () => {
    const xv = randomValues(256, 1);
    const x = tf.tensor(xv);
    await upload(x);
    const before = bytesInGpu();
    mpsgpu.resetStats();
    // Two nodes: the budget flushes while the tidy still holds x - 1.
    const y = tf.tidy(() => x.sub(1).relu());
    expect(mpsgpu.stats().flushes).toBe(0);
    expect(mpsgpu.stats().virtualized).toBe(2);
    expect(bytesInGpu()).toBe(before);
    // An elementwise reader computes y inside its own kernel: one dispatch.
    const z = y.mul(3);
    expectValues(await z.data(), i => 3 * Math.max(0, xv[i] - 1), 'z');
    expect(mpsgpu.stats().dispatches).toBe(1);
    expect(mpsgpu.stats().recomputed).toBe(2);
    // Reading y itself stores it.
    expectValues(await y.data(), i => Math.max(0, xv[i] - 1), 'y');
    tf.dispose([x, y, z]);
  }));

  it('a convolution reading a virtual value gets it computed into a temporary', withFlags(every(2), async () => {
    const x = tf.tensor4d(randomValues(2 * 6 * 6 * 3, 2), [2, 6, 6, 3]);
    const w = tf.tensor4d(randomValues(3 * 3 * 3 * 4, 3), [3, 3, 3, 4]);
    await upload(x, w);
    mpsgpu.resetStats();
    const y = tf.tidy(() => x.mul(0.5).add(0.25)) as tf.Tensor4D;
    expect(mpsgpu.stats().virtualized).toBe(2);
    const before = bytesInGpu();
    const z = tf.conv2d(y, w, 1, 'same');
    await z.data();
    // The recomputation's output lived in an arena of that flush; only z's buffer stays (of z's
    // size class, or a larger free one the pool handed out instead of growing).
    const zBuffer = (tf.backend() as unknown as {data: {get(id: object): {buffer: GPUBuffer}}}).data.get(z.dataId).buffer;
    expect(zBuffer.size).toBeGreaterThanOrEqual(sizeClass(2 * 6 * 6 * 4 * 4));
    expect(bytesInGpu() - before).toBe(zBuffer.size);
    expect(mpsgpu.stats().recomputed).toBeGreaterThan(0);
    await expectMatchesCpu(() => tf.conv2d(x.mul(0.5).add(0.25) as tf.Tensor4D, w, 1, 'same'), 1e-4);
    const cpuZ = await z.data();
    const again = tf.conv2d(y, w, 1, 'same');
    expect(Array.from(await again.data())).toEqual(Array.from(cpuZ));
    tf.dispose([x, w, y, z, again]);
  }));

  it('inputs stay while a virtual value lives, and go with it', withFlags(every(1), async () => {
    const x = tf.tensor(randomValues(1024, 4));
    await upload(x);
    const base = bytesInGpu();
    const y = x.exp();
    expect(mpsgpu.stats().virtualized).toBeGreaterThan(0);
    x.dispose();
    // x's buffer stays: y is computed from it.
    expect(bytesInGpu()).toBe(base);
    const yv = await y.data();
    expect(yv[0]).toBeCloseTo(Math.exp(randomValues(1, 4)[0]), 4);
    y.dispose();
    expect(bytesInGpu()).toBe(base - 4096);
  }));

  it('a gradient\'s temporaries are recomputed inside the recipe: relu\'(x)·dy holds x and dy only', withFlags(every(3), async () => {
    const x = tf.tensor(randomValues(4096, 5));
    const dy = tf.tensor(randomValues(4096, 6));
    await upload(x, dy);
    const base = bytesInGpu();
    mpsgpu.resetStats();
    // step(x) is a temporary that dies with the tidy, before the flush (at the third node); the
    // product is held, and its recipe computes step(x) itself.
    const dx = tf.tidy(() => dy.mul(tf.step(x)));
    const other = x.add(2);
    expect(mpsgpu.stats().virtualized).toBe(2);
    expect(bytesInGpu()).toBe(base);
    const xv = await x.data(), dyv = await dy.data();
    expectValues(await dx.data(), i => (xv[i] > 0 ? dyv[i] : 0), 'dx');
    // One recomputation (of step(x)·dy together): one dispatch.
    expect(mpsgpu.stats().dispatches).toBe(1);
    tf.dispose([x, dy, dx, other]);
  }));

  it('variables are stored, never virtual', withFlags(every(2), async () => {
    const x = tf.tensor(randomValues(512, 7));
    const v = tf.variable(x);
    await upload(x);
    mpsgpu.resetStats();
    // One node, pending when assign makes it the variable's value; the second node flushes both.
    tf.tidy(() => { v.assign(v.add(1)); });
    const other = x.neg();
    // Only the other result is virtual.
    expect(mpsgpu.stats().virtualized).toBe(1);
    mpsgpu.resetStats();
    const xv = await x.data();
    expectValues(await v.data(), i => xv[i] + 1, 'v');
    expect(mpsgpu.stats().dispatches).toBe(0);
    tf.dispose([x, v, other]);
  }));

  it('a variable assigned a virtual value stores it at the next flush', withFlags(every(1), async () => {
    const x = tf.tensor(randomValues(512, 10));
    const v = tf.variable(x);
    await upload(x);
    mpsgpu.resetStats();
    const t = x.mul(2);
    expect(mpsgpu.stats().virtualized).toBe(1);
    v.assign(t);
    const other = x.neg();
    mpsgpu.resetStats();
    const xv = await x.data();
    expectValues(await v.data(), i => 2 * xv[i], 'v');
    expect(mpsgpu.stats().dispatches).toBe(0);
    tf.dispose([x, v, t, other]);
  }));

  it('explicit flushes compute the readers of virtual values', withFlags(every(1), async () => {
    const x = tf.tensor(randomValues(256, 11));
    await upload(x);
    const y = x.mul(3);
    expect(mpsgpu.stats().virtualized).toBeGreaterThan(0);
    // tf.time flushes explicitly (no budget flush before): the reader of y runs in it.
    tf.env().set('MPSGPU_FLUSH_THRESHOLD', 1024);
    let z: tf.Tensor|null = null;
    await tf.time(() => { z = y.add(1); });
    mpsgpu.resetStats();
    const xv = await x.data();
    expectValues(await z!.data(), i => 3 * xv[i] + 1, 'z');
    expect(mpsgpu.stats().dispatches).toBe(0);
    tf.dispose([x, y, z!]);
  }));

  it('recipes substitute virtual values of earlier flushes, up to a bounded size', withFlags(every(1), async () => {
    const x = tf.tensor(randomValues(256, 8));
    await upload(x);
    const xv = await x.data();
    const base = bytesInGpu();
    mpsgpu.resetStats();
    const chain: tf.Tensor[] = [x];
    for (let i = 0; i < 200; ++i) chain.push(chain[chain.length - 1].add(1));
    const s = mpsgpu.stats();
    // Most are virtual; a recipe grows to its limit (operations, or buffers: each add reads a
    // scalar tensor of its own), then a value is stored.
    expect(s.virtualized).toBeGreaterThan(150);
    // Values with a buffer of their own (counted, not summed in bytes: the pool may hand out a free
    // buffer larger than 1 KiB).
    const data = (tf.backend() as unknown as {data: {get(id: object): {buffer: GPUBuffer|null}}}).data;
    const stored = chain.slice(1).filter(v => data.get(v.dataId).buffer !== null).length;
    expect(bytesInGpu()).toBeGreaterThan(base);
    const perRecipe = mpsgpu.device().limits.maxStorageBuffersPerShaderStage - 2;
    expect(stored).toBeGreaterThan(0);
    expect(stored).toBeLessThanOrEqual(Math.ceil(200 / perRecipe) + 2);
    mpsgpu.resetStats();
    // The last value: computed by its recipe from the nearest stored one, in one dispatch.
    expectValues(await chain[200].data(), i => xv[i] + 200, 'last');
    expect(mpsgpu.stats().dispatches).toBe(1);
    tf.dispose(chain);
  }));

  it('a training loop holds the same GPU bytes every step (recipes let go of their inputs)', withFlags(every(4), async () => {
    const w1 = tf.variable(tf.tensor2d(randomValues(64 * 32, 12, -0.3, 0.3), [64, 32]));
    const w2 = tf.variable(tf.tensor2d(randomValues(32 * 4, 13, -0.3, 0.3), [32, 4]));
    const x = tf.tensor2d(randomValues(16 * 64, 14), [16, 64]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4);
    const optimizer = tf.train.adam(0.01);
    mpsgpu.resetStats();
    const bytes: number[] = [];
    const losses: number[] = [];
    for (let step = 0; step < 8; ++step) {
      const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, x.matMul(w1).relu().matMul(w2)) as tf.Scalar, true)!;
      losses.push((await loss.data())[0]);
      loss.dispose();
      await mpsgpu.sync();
      bytes.push(bytesInGpu());
    }
    expect(mpsgpu.stats().virtualized).toBeGreaterThan(0);
    expect(losses[7]).toBeLessThan(losses[0]);
    expect(bytes[7]).toBe(bytes[3]);
    optimizer.dispose();
    tf.dispose([w1, w2, x, y]);
  }));

  it('a value read back is computed before the pending readers recorded while it was virtual', async () => {
    for (const fusion of [false, true]) {
      await withFlags({MPSGPU_FUSION: fusion}, async () => {
        const x = tf.tensor2d([1, -2, 3, -4, 5, -6], [2, 3]);
        const v = x.neg(), w = x.exp();
        // The flush makes v virtual (tfjs holds it); the transpose reads it, pending.
        await w.data();
        const r = v.transpose();
        // Reading v records its computation: it must come before the transpose.
        expect(Array.from(await v.data())).toEqual([-1, 2, -3, 4, -5, 6]);
        expect(Array.from(await r.data())).toEqual([-1, 4, 2, -5, -3, 6], `fusion ${fusion}`);
        tf.dispose([x, v, w, r]);
      })();
    }
  });

  it('MPSGPU_REMATERIALIZE=false stores every held value', withFlags({...every(2), MPSGPU_REMATERIALIZE: false}, async () => {
    const x = tf.tensor(randomValues(256, 9));
    await upload(x);
    const before = bytesInGpu();
    mpsgpu.resetStats();
    const y = tf.tidy(() => x.sub(1).relu());
    expect(mpsgpu.stats().virtualized).toBe(0);
    await mpsgpu.sync();
    expect(bytesInGpu() - before).toBe(1024);
    tf.dispose([x, y]);
  }));
});
