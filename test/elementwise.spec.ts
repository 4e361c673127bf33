import * as tf from '@tensorflow/tfjs-core';

import {BINARY} from '../kernels/binary.js';
import {UNARY} from '../kernels/unary.js';
import {describeLazyAndEager, expectGpuMatches, expectMatchesCpu, randomInts, randomValues} from './util.js';

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

  it('Cast float32 → int32 → bool → float32, of computed and of written values, NaN included', async () => {
    const v = [...randomValues(20, 9, -5, 5), NaN, -0.5, 0.5, 0];
    await expectMatchesCpu(() => {
      const written = tf.tensor(v);
      const computed = written.mul(1);
      return [computed, written].flatMap(x => [x.cast('int32'), x.cast('bool'), x.cast('int32').cast('bool').cast('float32')]);
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

/** A complex64 tensor of `shape` with deterministic parts (call inside the compared function). */
function complexRand(shape: number[], seed: number): tf.Tensor {
  const n = tf.util.sizeFromShape(shape);
  return tf.complex(tf.tensor(randomValues(n, seed, -3, 3), shape), tf.tensor(randomValues(n, seed + 100, -3, 3), shape));
}

function runKernel(name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}) {
  return tf.engine().runKernel(name, inputs, attrs) as tf.Tensor;
}


/** t broadcast to `shape` (complex64 part by part). */
function broadcastFull(t: tf.Tensor, shape: number[]): tf.Tensor {
  if (t.dtype !== 'complex64') return tf.broadcastTo(t, shape);
  return tf.complex(tf.broadcastTo(tf.real(t), shape), tf.broadcastTo(tf.imag(t), shape));
}

describeLazyAndEager('complex64 elementwise kernels match tfjs-backend-cpu', () => {
  // tfjs-backend-cpu 4.22 misreads complex operands broadcast over missing leading axes (it takes
  // i % (2·size) of the interleaved values), so the reference broadcasts both operands first.
  const shapes: Array<[number[], number[]]> = [[[5], [5]], [[2, 3, 4], [4]], [[3, 1], [1, 5]], [[2, 2], []], [[7], [1]], [[1], [2, 3]]];
  const binary = (name: string, a: () => tf.Tensor, b: () => tf.Tensor) => expectGpuMatches(
    () => runKernel(name, {a: a(), b: b()}),
    () => {
      const shape = tf.broadcast_util.assertAndGetBroadcastShape(a().shape, b().shape);
      return runKernel(name, {a: broadcastFull(a(), shape), b: broadcastFull(b(), shape)});
    }, 1e-5);
  for (const name of ['Add', 'Sub', 'Multiply']) {
    for (const [sa, sb] of shapes) {
      it(`${name} complex64 [${sa}] with complex64 [${sb}]`, async () => {
        await binary(name, () => complexRand(sa, 1), () => complexRand(sb, 2));
      });
    }
    for (const dtype of ['float32', 'int32'] as const) {
      it(`${name} complex64 with ${dtype}, both ways (the real operand is cast to complex)`, async () => {
        const c = () => complexRand([3, 4], 3);
        const r = () => (dtype === 'float32' ? tf.tensor(randomValues(4, 4, -3, 3), [4]) : tf.tensor(randomInts(4, 4, -5, 5), [4], 'int32'));
        await binary(name, c, r);
        await binary(name, r, c);
        await expectMatchesCpu(() => runKernel(name, {a: complexRand([4], 5), b: r()}), 1e-5);
      });
    }
  }
  it('tf.add, tf.sub, tf.mul on complex64 and a number array (ops cast)', async () => {
    await expectMatchesCpu(() => {
      const c = complexRand([2, 3], 5);
      return [tf.add(c, tf.tensor2d([[1, 2, 3], [4, 5, 6]])), tf.sub(c, c), tf.mul(c, tf.complex([2], [-1])), c.mul(c).add(c)];
    }, 1e-5);
  });
  it('NaN and infinity propagate as on the CPU', async () => {
    await expectMatchesCpu(() => {
      const a = tf.complex([NaN, 1, Infinity, 0, 2], [0, NaN, 1, Infinity, -Infinity]);
      const b = tf.complex([1, 2, 0, 1, 3], [1, 0, 0, NaN, 1]);
      return [tf.add(a, b), tf.sub(a, b), tf.mul(a, b), tf.mul(a, tf.tensor1d([0, 1, 2, NaN, 1]))];
    }, 1e-5);
  });
  it('Cast to and from complex64', async () => {
    await expectMatchesCpu(() => {
      const f = tf.tensor(randomValues(7, 6, -4, 4));
      const c = complexRand([7], 7);
      return [f.cast('complex64'), tf.tensor(randomInts(7, 8, -5, 5), [7], 'int32').cast('complex64'),
              tf.tensor(randomInts(7, 9, 0, 1), [7], 'bool').cast('complex64'),
              c.cast('float32'), c.cast('int32'), c.cast('bool'), c.cast('complex64'), c.cast('complex64').cast('float32')];
    }, 0);
  });
  it('ZerosLike and OnesLike of complex64 (ones: 1 + 0i)', async () => {
    await expectMatchesCpu(() => {
      const c = complexRand([3, 2], 10);
      return [tf.zerosLike(c), tf.onesLike(c), tf.real(tf.onesLike(c)), tf.imag(tf.onesLike(c))];
    }, 0);
  });
  for (const shape of [[5], [2, 3], [2, 3, 4, 5], [0, 3]]) {
    it(`ComplexAbs [${shape}]`, async () => {
      await expectMatchesCpu(() => tf.abs(complexRand(shape, 11)), 1e-6);
    });
  }
  it('ComplexAbs neither underflows nor overflows; NaN and infinity as Math.hypot', async () => {
    await expectMatchesCpu(() => tf.abs(tf.complex([1e-30, 0, 1e-30, 0, 3e38, -2e38, NaN, Infinity, NaN, -Infinity, 1e-45],
                                                   [1e-30, 1e-30, 0, 0, 3e38, 1, 1, NaN, NaN, 2, 1e-45])), 1e-6);
  });
  it('AddN of complex64 (the CPU reference adds the parts)', async () => {
    await tf.setBackend('mpsgpu');
    const gpu = tf.tidy(() => tf.addN(Array.from({length: 10}, (_, i) => complexRand([2, 3], 20 + i))));
    const values = await gpu.data();
    gpu.dispose();
    await tf.setBackend('cpu');
    const cpu = tf.tidy(() => Array.from({length: 10}, (_, i) => complexRand([2, 3], 20 + i)).reduce((a, b) => tf.add(a, b)));
    const expected = await cpu.data();
    cpu.dispose();
    await tf.setBackend('mpsgpu');
    expect(values.length).toBe(12);
    for (let i = 0; i < 12; ++i) expect(Math.abs(values[i] - expected[i])).toBeLessThan(1e-5);
  });
  it('complex arithmetic leaks nothing', async () => {
    await tf.setBackend('mpsgpu');
    const backend = tf.engine().findBackend('mpsgpu')!;
    const before = backend.numDataIds();
    const out = tf.tidy(() => {
      const c = complexRand([4, 3], 12);
      return tf.abs(tf.mul(tf.add(c, tf.onesLike(c)), tf.sub(c, tf.tensor1d([1, 2, 3]))).cast('complex64').add(tf.zerosLike(c)));
    });
    await out.data();
    out.dispose();
    expect(backend.numDataIds()).toBe(before);
  });
  it('RealDiv, Neg and comparisons refuse complex64 (as tfjs-backend-cpu), then work', async () => {
    await tf.setBackend('mpsgpu');
    const c = complexRand([3], 13);
    expect(() => runKernel('RealDiv', {a: c, b: c})).toThrowError(/RealDiv: mpsgpu does not take complex64 input 'a' \(shape \[3\]\)/);
    expect(() => runKernel('Neg', {x: c})).toThrowError(/Neg: mpsgpu does not take complex64 input 'x'/);
    expect(() => runKernel('Equal', {a: c, b: c})).toThrowError(/Equal: mpsgpu does not take complex64/);
    expect(() => runKernel('ComplexAbs', {x: tf.tensor1d([1, 2])})).toThrowError(/ComplexAbs: input 'x' must be complex64/);
    const y = tf.add(c, c);
    const expected = await tf.real(c).mul(2).data();
    const actual = await tf.real(y).data();
    for (let i = 0; i < 3; ++i) expect(actual[i]).toBeCloseTo(expected[i], 5);
    tf.dispose([c, y]);
  });
});

describeLazyAndEager('elementwise edge cases match tfjs-backend-cpu', () => {
  it('Exp is within about one float32 step of the CPU over its whole range', async () => {
    await expectMatchesCpu(() => [tf.exp(tf.tensor(randomValues(301, 3, -87, 87))), tf.exp(tf.tensor1d([10, -10, 20, 0, -0.5], 'int32')),
                                  tf.exp(tf.tensor1d([NaN, Infinity, -Infinity, 88.5, -100]))], 3e-7);
  });
  it('Tan of large arguments (exact reduction modulo pi/2) is within about one float32 step', async () => {
    await expectMatchesCpu(() => [tf.tan(tf.tensor(randomValues(200, 4, -2e9, 2e9))), tf.tan(tf.tensor(randomValues(200, 5, -1000, 1000))),
                                  tf.tan(tf.tensor1d([64, -64, 63.9, 1e38, -3e38, 1e5, 7e4]))], 2e-6);
  });
  it('Sign of NaN is 0; NotEqual of NaN is true; Equal, Less of NaN false', async () => {
    await expectMatchesCpu(() => {
      const a = tf.tensor1d([NaN, 1, -2, 0, NaN, 3]);
      const b = tf.tensor1d([NaN, NaN, -2, 1, 0, 3]);
      return [tf.sign(a), tf.notEqual(a, b), tf.equal(a, b), tf.less(a, b), tf.greaterEqual(a, b)];
    }, 0);
  });
  it('string comparisons (computed on the CPU), with broadcasting', async () => {
    await expectMatchesCpu(() => {
      const a = tf.tensor(['a', 'b', 'ab', '', 'z', 'b'], [2, 3], 'string');
      const b = tf.tensor(['b', 'ab', ''], [3], 'string');
      return ['Equal', 'NotEqual', 'Less', 'LessEqual', 'Greater', 'GreaterEqual'].map(name => runKernel(name, {a, b}));
    }, 0);
  });
});

// NaN, infinities, signed zeros, tiny, huge and out-of-domain arguments: the GPU's builtins leave
// these unspecified (SwiftShader's log(-1) and exp(NaN) are not NaN), so the kernels say them.
const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5, -0.5, 2, -2, 1e-6, -1e-6, 1e-30, 0.999, -0.999, 1.001, 7,
                 -7, 30, -30, 89, -89, 100, -100, 1e5, -1e5, 1e20, -1e20, 3e38, -3e38];
const SPECIAL_PAIRS = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 2, -2, 0.5, 3, -3.5];

describeLazyAndEager('NaN, infinities and out-of-domain arguments match tfjs-backend-cpu', () => {
  for (const name of Object.keys(UNARY)) {
    it(`${name} of special values`, async () => {
      await expectMatchesCpu(() => tf.engine().runKernel(name, {x: tf.tensor1d(SPECIAL)}, ATTRS[name] ?? {}) as tf.Tensor, 1e-3, name);
    });
  }
  for (const name of Object.keys(BINARY)) {
    // Logical ops and BitwiseAnd take bool and int32 tensors (tfjs-core checks it).
    if (name.startsWith('Logical') || name === 'BitwiseAnd') continue;
    it(`${name} of every pair of special values`, async () => {
      await expectMatchesCpu(() => {
        const a = tf.tensor2d(SPECIAL_PAIRS, [SPECIAL_PAIRS.length, 1]);
        const b = tf.tensor1d(SPECIAL_PAIRS);
        // EluGrad takes inputs of one shape.
        return name === 'EluGrad' ? tf.engine().runKernel(name, {dy: tf.tile(a, [1, b.size]), y: tf.tile(b.expandDims(0), [a.size, 1])}) as tf.Tensor
          : tf.engine().runKernel(name, binaryInputs(name, a, b)) as tf.Tensor;
      }, 1e-3, name);
    });
  }
  it('LogicalNot, LogicalAnd and LogicalOr of bool tensors', async () => {
    await expectMatchesCpu(() => {
      const a = tf.tensor1d([true, false, true, false], 'bool'), b = tf.tensor1d([true, true, false, false], 'bool');
      return [tf.logicalNot(a), tf.logicalAnd(a, b), tf.logicalOr(a, b)];
    }, 0);
  });
  it('Sin, Cos and Tan are within about one float32 step for small, moderate and huge arguments', async () => {
    // Arguments near multiples of pi/2 too (tan's poles, sin's and cos's zeros).
    const near = Array.from({length: 40}, (_, i) => (i + 1) * Math.PI / 2);
    await expectMatchesCpu(() => {
      const xs = [tf.tensor(randomValues(300, 6, -0.8, 0.8)), tf.tensor(randomValues(300, 7, -60, 60)),
                  tf.tensor(randomValues(300, 8, -3e5, 3e5)), tf.tensor(randomValues(100, 9, -3e38, 3e38)), tf.tensor1d(near)];
      return xs.flatMap(x => [tf.sin(x), tf.cos(x), tf.tan(x)]);
    }, 2e-6);
  });
  it('Exp, Expm1, Sinh, Cosh, Tanh, Sigmoid, Log, Log1p and the inverse hyperbolic functions over their ranges', async () => {
    await expectMatchesCpu(() => {
      const wide = tf.tensor(randomValues(300, 10, -20, 20));
      const small = tf.tensor(randomValues(300, 11, -0.6, 0.6));
      const positive = tf.tensor(randomValues(300, 12, 1e-4, 50));
      return [tf.exp(small), tf.expm1(wide), tf.expm1(small), tf.sinh(wide), tf.sinh(small), tf.cosh(wide), tf.tanh(wide),
              tf.tanh(small), tf.sigmoid(wide), tf.log(positive), tf.log1p(small), tf.log1p(positive), tf.asinh(wide),
              tf.asinh(small), tf.acosh(tf.add(positive, 1)), tf.atanh(small)];
    }, 1e-5);
  });
});

// The elementwise builder's fast paths (src/codegen/elementwise.ts): same shape, scalar, trailing
// block (i % C), contiguous run ((i / d) % C), general broadcast; four outputs per invocation
// (vec4) where every input allows it, sizes that are and are not multiples of 4.
describeLazyAndEager('elementwise broadcast fast paths and vec4 match tfjs-backend-cpu', () => {
  const PAIRS: Array<[number[], number[]]> = [
    [[2, 5, 5, 12], [12]], [[2, 5, 5, 12], [1, 1, 1, 12]], [[3, 5, 7], [7]], [[3, 5, 7], [5, 7]],
    [[6, 8], [6, 1]], [[5, 9], [5, 1]], [[4, 6, 8], [1, 6, 1]], [[4, 6, 8], [6, 8]], [[4, 3, 2], [4, 1, 1]],
    [[2, 3, 4, 8], [2, 1, 4, 1]], [[64], []], [[63], [1]], [[4, 4], [4, 4]], [[3], [3]], [[8], [2, 8]],
    [[1, 16], [16, 1]], [[2, 1, 8], [1, 3, 1]], [[1, 1, 4], [4]], [[5, 1, 1, 8], [1, 1, 8]],
  ];
  for (const [sa, sb] of PAIRS) {
    it(`add, sub, mul, div, squaredDifference, maximum float32 [${sa}] with [${sb}] both ways`, async () => {
      const a = randomValues(tf.util.sizeFromShape(sa), 81, -3, 3);
      const b = randomValues(tf.util.sizeFromShape(sb), 82, 0.5, 3);
      await expectMatchesCpu(() => {
        const x = tf.tensor(a, sa), y = tf.tensor(b, sb);
        return [tf.add(x, y), tf.sub(y, x), tf.mul(x, y), tf.div(x, y), tf.squaredDifference(y, x), tf.maximum(x, y)];
      }, 1e-5);
    });
    it(`int32 and bool [${sa}] with [${sb}]`, async () => {
      const a = randomInts(tf.util.sizeFromShape(sa), 83, -50, 50);
      const b = randomInts(tf.util.sizeFromShape(sb), 84, -50, 50);
      await expectMatchesCpu(() => {
        const x = tf.tensor(a, sa, 'int32'), y = tf.tensor(b, sb, 'int32');
        return [tf.add(x, y), tf.mul(y, x), tf.greater(x, y), tf.logicalAnd(tf.cast(x, 'bool'), tf.cast(y, 'bool'))];
      }, 0);
    });
  }

  it('three inputs broadcast differently (where), unary and cast on vec4 sizes', async () => {
    const a = randomValues(4 * 6 * 8, 85), b = randomValues(8, 86), c = randomValues(4 * 6, 87);
    await expectMatchesCpu(() => {
      const x = tf.tensor(a, [4, 6, 8]), y = tf.tensor(b, [8]), z = tf.tensor(c, [4, 6, 1]);
      return [tf.where(tf.greater(x, y), x, z), tf.add(tf.mul(x, y), z), tf.relu(x), tf.exp(tf.neg(x)), tf.cast(tf.mul(x, 10), 'int32'),
              tf.clipByValue(x, -0.5, 0.5), tf.onesLike(x), tf.fill([4, 8], 2.5)];
    }, 1e-5);
  });

  it('NaN and infinities through the vec4 and broadcast paths', async () => {
    const a = randomValues(4 * 8, 88);
    a[3] = NaN; a[9] = Infinity; a[22] = -Infinity;
    await expectMatchesCpu(() => {
      const x = tf.tensor(a, [4, 8]), y = tf.tensor([1, NaN, -Infinity, 0, 2, 3, Infinity, -1], [8]);
      return [tf.add(x, y), tf.mul(x, y), tf.maximum(x, y), tf.div(x, y), tf.sub(x, tf.max(x, 1, true))];
    }, 1e-5);
  });
});
