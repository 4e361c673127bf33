// Random graphs and a seeded generator for the property specs (arenas, plan reuse).
import * as tf from '@tensorflow/tfjs-core';

/** Deterministic generator for the property tests. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A random graph of ops on [8, 8] tensors (elementwise, products, reductions, concat, slices). */
export function randomGraph(seed: number, inputs: tf.Tensor2D[]): tf.Tensor[] {
  const r = rng(seed);
  const values: tf.Tensor2D[] = [...inputs];
  const pick = () => values[Math.floor(r() * values.length)];
  for (let i = 0; i < 24; ++i) {
    const a = pick(), b = pick();
    let out: tf.Tensor2D;
    switch (Math.floor(r() * 8)) {
      case 0: out = tf.add(a, b); break;
      case 1: out = tf.mul(a, tf.tanh(b)); break;
      case 2: out = tf.matMul(a, b).div(8); break;
      case 3: out = tf.relu(tf.sub(a, b)) as tf.Tensor2D; break;
      case 4: out = tf.add(a, tf.sum(b, 0, true)).div(4); break;
      case 5: out = tf.slice(tf.concat([a, b], 1), [0, 3], [8, 8]); break;
      case 6: out = tf.sigmoid(tf.matMul(a, b, false, true).mul(0.125)) as tf.Tensor2D; break;
      default: out = tf.transpose(a).sub(tf.max(b, 1, true)); break;
    }
    values.push(out);
  }
  return [values[values.length - 1], values[values.length - 5], values[values.length - 9]];
}

