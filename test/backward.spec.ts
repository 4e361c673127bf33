// Specs of the backward pass with early release (src/backward.ts, MPSGPU_RELEASE_BACKWARD): the
// same gradients as tfjs-core's engine.gradients (bit for bit, and as tfjs-backend-cpu's), less
// memory at its peak, higher-order gradients and tfjs-core's errors unchanged.
import * as tf from '@tensorflow/tfjs-core';

import {mpsgpu} from '../src/index.js';
import {expectClose, randomValues, withFlags} from './util.js';

/** A net where tensors have several consumers, a gradient passes dy through, and x is used twice. */
function loss(x: tf.Tensor2D, w1: tf.Tensor2D, w2: tf.Tensor2D): tf.Scalar {
  const h = tf.relu(tf.matMul(x, w1));
  const skip = tf.add(h, tf.tanh(h));
  const out = tf.matMul(tf.add(skip, tf.reshape(h, h.shape)), w2);
  return tf.mean(tf.square(tf.sub(out, tf.sum(x, 1, true))));
}

async function gradsWith(release: boolean, backend = 'mpsgpu'): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  let out: Float32Array[] = [];
  await withFlags({MPSGPU_RELEASE_BACKWARD: release}, async () => {
    const x = tf.tensor2d(randomValues(8 * 16, 1), [8, 16]);
    const w1 = tf.tensor2d(randomValues(16 * 12, 2, -0.5, 0.5), [16, 12]);
    const w2 = tf.tensor2d(randomValues(12 * 4, 3, -0.5, 0.5), [12, 4]);
    const before = tf.memory().numTensors;
    const {value, grads} = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => loss(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D))([x, w1, w2]);
    out = [await value.data() as Float32Array, ...await Promise.all(grads.map(g => g.data() as Promise<Float32Array>))];
    tf.dispose([value, ...grads]);
    // Nothing leaked: only x, w1, w2 remain.
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w1, w2]);
  })();
  await tf.setBackend('mpsgpu');
  return out;
}

describe('mpsgpu backward pass with early release', () => {
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
  });

  it('gives tfjs-core\'s gradients, bit for bit, and tfjs-backend-cpu\'s', async () => {
    const released = await gradsWith(true);
    const kept = await gradsWith(false);
    const cpu = await gradsWith(true, 'cpu');
    released.forEach((g, i) => {
      expect(Array.from(g)).toEqual(Array.from(kept[i]));
      expectClose(g, cpu[i], 1e-4, `gradient ${i}`);
    });
  });

  it('holds less at its peak when flushes cut the backward pass: activations go as it reaches them', async () => {
    const peak = async (release: boolean) => {
      let bytes = 0;
      // Flushes every 8 nodes, as long steps are cut: the lazy graph alone computes a backward pass
      // recorded in one flush after tfjs disposed everything, released or not.
      await withFlags({MPSGPU_RELEASE_BACKWARD: release, MPSGPU_FLUSH_THRESHOLD: 8, MPSGPU_FLUSH_FIRST: 0}, async () => {
        // Activations (512 × 128) outweigh the weights (128 × 128), as in a CNN.
        const x = tf.tensor2d(randomValues(512 * 128, 4), [512, 128]);
        const ws = Array.from({length: 12}, (_, i) => tf.tidy(() => tf.variable(tf.tensor2d(randomValues(128 * 128, 10 + i, -0.09, 0.09), [128, 128]))));
        await mpsgpu.sync();
        mpsgpu.resetStats();
        const {value, grads} = tf.variableGrads(() => {
          let h: tf.Tensor = x;
          for (const w of ws) h = tf.relu(tf.matMul(h, w)).add(0.01);
          return tf.mean(h) as tf.Scalar;
        });
        await value.data();
        await mpsgpu.sync();
        bytes = mpsgpu.stats().peakLiveBytes;
        tf.dispose([value, x, ...ws, ...Object.values(grads)]);
      })();
      return bytes;
    };
    const released = await peak(true);
    const kept = await peak(false);
    expect(released).toBeLessThan(0.8 * kept);
  });

  it('releases what gradient functions make outside their closures, and the terms of summed gradients', async () => {
    // Batch norm's gradient makes dy·scale and x − mean in its body; b feeds three branches, so its
    // gradient is a sum of three terms. Neither may live to the end of the backward pass.
    const layers = 6, rows = 64, cols = 32;
    const activationBytes = rows * cols * 4;
    const x = tf.tensor2d(randomValues(rows * cols, 5), [rows, cols]);
    const ws = Array.from({length: layers}, (_, i) => tf.tensor2d(randomValues(cols * cols, 20 + i, -0.2, 0.2), [cols, cols]));
    const scale = tf.tensor1d(randomValues(cols, 40, 0.5, 1.5)), offset = tf.tensor1d(randomValues(cols, 41));
    let heldAtLast = -1;
    // The first op of the forward pass: its gradient runs last, and measures what tfjs holds then.
    const probe = tf.customGrad((t: tf.Tensor|tf.GradSaveFunc) => ({
      value: tf.mul(t as tf.Tensor, 1),
      gradFunc: (dy: tf.Tensor) => {
        heldAtLast = tf.memory().numBytes;
        return dy.mul(1);
      },
    }));
    const f = (input: tf.Tensor) => {
      let h = probe(input) as tf.Tensor;
      for (let i = 0; i < layers; ++i) {
        const {mean, variance} = tf.moments(h, 0);
        const b = tf.batchNorm(h, mean, variance, offset, scale, 1e-3);
        h = tf.add(tf.add(tf.matMul(b, ws[i]), tf.relu(b)), tf.tanh(b));
      }
      return tf.mean(tf.square(h)) as tf.Scalar;
    };
    const before = tf.memory().numBytes;
    const g = tf.grad(f)(x);
    const got = await g.data();
    // Then: dy of the probe, y's gradient, and at most one more activation-sized tensor.
    expect(heldAtLast - before).toBeLessThanOrEqual(3 * activationBytes);
    g.dispose();
    await tf.setBackend('cpu');
    const want = await tf.grad(f)(x).data();
    await tf.setBackend('mpsgpu');
    expectClose(got, want, 1e-3, 'gradient of x');
    tf.dispose([x, scale, offset, ...ws]);
  });

  it('leaves higher-order gradients to tfjs-core (the inner tape is read again)', async () => {
    const f = (x: tf.Tensor) => tf.sum(tf.mul(tf.pow(x, 3), tf.sin(x)));
    const x = tf.tensor1d([0.3, -1.2, 2.5, 0.7]);
    const second = tf.grad(tf.grad(f));
    const got = await second(x).data();
    await tf.setBackend('cpu');
    const want = await tf.grad(tf.grad(f))(tf.tensor1d([0.3, -1.2, 2.5, 0.7])).data();
    await tf.setBackend('mpsgpu');
    expectClose(got, want, 1e-4, 'second derivative');
    x.dispose();
  });

  it('throws tfjs-core\'s errors', () => {
    const x = tf.scalar(2), unrelated = tf.scalar(3);
    expect(() => tf.grads((a: tf.Tensor) => tf.mul(unrelated, 2))([x])).toThrowError(/Cannot compute gradient of y=f\(x\) with respect to x/);
    expect(() => tf.grads((a: tf.Tensor) => a)([])).toThrowError(/empty list of xs/);
    tf.dispose([x, unrelated]);
  });
});
