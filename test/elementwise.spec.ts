import * as tf from '@tensorflow/tfjs-core';

import {BINARY} from '../kernels/binary.js';
import {UNARY} from '../kernels/unary.js';
import {describeLazyAndEager, expectMatchesCpu, randomInts, randomValues} from './util.js';

// Inputs chosen inside each op's domain where the op has one (tfjs returns NaN outside, as we do).
const DOMAIN: Record<string, [number, number]> = {
  Acos: [-0.99, 0.99], Asin: [-0.99, 0.99], Atanh: [-0.99, 0.99], Acosh: [1.01, 5],
  Log: [0.01, 5], Log1p: [-0.9, 5], Sqrt: [0.01, 5], Rsqrt: [0.05, 5], Reciprocal: [0.1, 5],
};

const ATTRS: Record<string, tf.NamedAttrMap> = {
  Step: {alpha: 0.25}, LeakyRelu: {alpha: 0.2}, ClipByValue: {clipValueMin: -0.5, clipValueMax: 0.75},
};

describeLazyAndEager('unary kernels match tfjs-backend-cpu', () => {
  for (const name of Object.keys(UNARY)) {
    it(`${name} float32`, async () => {
      const [lo, hi] = DOMAIN[name] ?? [-3, 3];
      const values = randomValues(2 * 3 * 5, name.length, lo, hi);
      await expectMatchesCpu(() => tf.engine().runKernel(name, {x: tf.tensor3d(values, [2, 3, 5])}, ATTRS[name] ?? {}) as tf.Tensor, 1e-3, name);
    });
    if (UNARY[name].i32) {
      it(`${name} int32`, async () => {
        const values = randomInts(17, name.length, -6, 6);
        await expectMatchesCpu(() => tf.engine().runKernel(name, {x: tf.tensor1d(values, 'int32')}, ATTRS[name] ?? {}) as tf.Tensor, 0, name);
      });
    }
  }
});

const INPUT_NAMES: Record<string, [string, string]> = {EluGrad: ['dy', 'y'], Prelu: ['x', 'alpha']};
function binaryInputs(name: string, a: tf.Tensor, b: tf.Tensor): tf.NamedTensorMap {
  const [na, nb] = INPUT_NAMES[name] ?? ['a', 'b'];
  return {[na]: a, [nb]: b};
}

describeLazyAndEager('binary kernels match tfjs-backend-cpu', () => {
  const shapes: Array<[number[], number[]]> = [[[4, 5], [4, 5]], [[2, 3, 4], [4]], [[3, 1], [1, 5]], [[2, 2], []]];
  for (const name of Object.keys(BINARY)) {
    if (name.startsWith('Logical')) {
      it(`${name} bool`, async () => {
        const a = randomInts(12, 5, 0, 1), b = randomInts(4, 8, 0, 1);
        await expectMatchesCpu(() => tf.engine().runKernel(name, {a: tf.tensor(a, [3, 4], 'bool'), b: tf.tensor(b, [4], 'bool')}) as tf.Tensor, 0, name);
      });
      continue;
    }
    if (name === 'BitwiseAnd') {
      it(`${name} int32`, async () => {
        await expectMatchesCpu(() => tf.engine().runKernel(name, {a: tf.tensor(randomInts(12, 5, -50, 50), [3, 4], 'int32'), b: tf.tensor(randomInts(12, 9, 0, 99), [3, 4], 'int32')}) as tf.Tensor, 0, name);
      });
      continue;
    }
    // EluGrad takes dy and y of one shape (no broadcasting, as on the CPU backend).
    for (const [sa, sb] of name === 'EluGrad' ? shapes.slice(0, 1) : shapes) {
      it(`${name} float32 [${sa}] with [${sb}]`, async () => {
        const a = randomValues(tf.util.sizeFromShape(sa), 3, -3, 3);
        let b = randomValues(tf.util.sizeFromShape(sb), 7, -3, 3);
        if (name === 'Pow') b = b.map(Math.round);
        await expectMatchesCpu(() => tf.engine().runKernel(name, binaryInputs(name, tf.tensor(a, sa), tf.tensor(b, sb))) as tf.Tensor, 2e-3, name);
      });
    }
    if (BINARY[name].i32) {
      it(`${name} int32`, async () => {
        const a = randomInts(12, 5, -9, 9);
        const b = randomInts(12, 11, 1, 5).map((v, i) => (i % 3 === 0 ? -v : v));
        await expectMatchesCpu(() => tf.engine().runKernel(name, binaryInputs(name, tf.tensor(a, [3, 4], 'int32'), tf.tensor(b, [3, 4], 'int32'))) as tf.Tensor, 0, name);
      });
    }
  }

  it('Cast float32 → int32 → bool → float32', async () => {
    const v = randomValues(20, 9, -5, 5);
    await expectMatchesCpu(() => {
      const x = tf.tensor(v);
      return [x.cast('int32'), x.cast('bool'), x.cast('int32').cast('bool').cast('float32')];
    }, 0);
  });

  it('AddN over 11 tensors', async () => {
    await expectMatchesCpu(() => tf.addN(Array.from({length: 11}, (_, i) => tf.tensor(randomValues(6, i + 1), [2, 3]))), 1e-5);
  });

  it('Fill, ZerosLike, OnesLike', async () => {
    await expectMatchesCpu(() => {
      const x = tf.tensor(randomValues(6, 2), [3, 2]);
      return [tf.fill([2, 3], 1.5), tf.fill([4], 7, 'int32'), tf.zerosLike(x), tf.onesLike(x)];
    }, 0);
  });
});
