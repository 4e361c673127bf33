// Specs for the shape kernels (see docs/WRITING_KERNELS.md): data movement compared with
// tfjs-backend-cpu value for value (tolerance 0: every kernel here copies values exactly).
import * as tf from '@tensorflow/tfjs-core';

import {describeLazyAndEager, expectClose, expectGpuMatches, expectMatchesCpu, randomInts, randomValues} from './util.js';

type Dtype = 'float32'|'int32'|'bool';

/** A tensor of `shape` with deterministic values of `dtype` (call inside the compared function). */
function rand(shape: number[], dtype: Dtype = 'float32', seed = 1): tf.Tensor {
  const n = tf.util.sizeFromShape(shape);
  if (dtype === 'float32') return tf.tensor(randomValues(n, seed, -5, 5), shape, 'float32');
  if (dtype === 'int32') return tf.tensor(randomInts(n, seed, -1000, 1000), shape, 'int32');
  return tf.tensor(randomInts(n, seed, 0, 1), shape, 'bool');
}

function strings(shape: number[]): tf.Tensor {
  const n = tf.util.sizeFromShape(shape);
  return tf.tensor(Array.from({length: n}, (_, i) => `s${i}`), shape, 'string');
}

const DTYPES: Dtype[] = ['float32', 'int32', 'bool'];

function run(name: string, inputs: tf.NamedTensorMap|tf.Tensor[], attrs: tf.NamedAttrMap = {}) {
  return tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs) as tf.Tensor|tf.Tensor[];
}

/** Number of dataIds mpsgpu holds: unchanged after a tidy means no kernel leaked an intermediate. */
function numDataIds(): number {
  return tf.engine().findBackend('mpsgpu')!.numDataIds();
}


async function expectNoLeak(fn: () => tf.Tensor|tf.Tensor[]) {
  await tf.setBackend('mpsgpu');
  const before = numDataIds();
  const out = tf.tidy(fn);
  await Promise.all((Array.isArray(out) ? out : [out]).map(t => t.data()));
  tf.dispose(out);
  expect(numDataIds()).toBe(before);
}

describeLazyAndEager('Transpose', () => {
  const cases: Array<[number[], number[]]> = [
    [[3, 5], [1, 0]], [[2, 3, 4], [2, 0, 1]], [[2, 3, 4], [1, 0, 2]], [[1, 7, 1, 3], [3, 1, 2, 0]],
    [[2, 3, 1, 5, 2], [4, 2, 0, 3, 1]], [[2, 1, 3, 2, 2, 3], [5, 3, 1, 4, 0, 2]], [[3, 1, 4], [1, 0, 2]],
    [[2, 3], [0, 1]], [[0, 3], [1, 0]], [[2, 0, 4], [2, 1, 0]],
  ];
  for (const [shape, perm] of cases) {
    for (const dtype of DTYPES) {
      it(`[${shape}] perm [${perm}] ${dtype}`, async () => {
        await expectMatchesCpu(() => tf.transpose(rand(shape, dtype), perm), 0);
      });
    }
  }
  it('the transpose of a computed tensor (lazy chain)', async () => {
    await expectMatchesCpu(() => tf.transpose(tf.add(rand([4, 3, 2]), 1), [2, 0, 1]).mul(2), 0);
  });
  it('complex64 and conjugate', async () => {
    await expectMatchesCpu(() => {
      const c = tf.complex(rand([2, 3], 'float32', 1), rand([2, 3], 'float32', 2));
      return [tf.transpose(c), tf.transpose(c, [1, 0], true)];
    }, 0);
  });
  it('throws on a perm that is not a permutation, then works', async () => {
    await tf.setBackend('mpsgpu');
    const x = rand([2, 3]);
    expect(() => run('Transpose', {x}, {perm: [0, 0]})).toThrowError(/Transpose: perm \[0,0\]/);
    expect(tf.transpose(x).shape).toEqual([3, 2]);
    x.dispose();
  });
});

describeLazyAndEager('Slice', () => {
  const cases: Array<[number[], number[], number[]]> = [
    [[10], [3], [5]], [[10], [0], [10]], [[7, 9], [2, 3], [4, -1]], [[7, 9], [0, 4], [7, 1]],
    [[3, 4, 5], [1, 0, 2], [2, 4, 3]], [[3, 4, 5], [2, 0, 0], [1, 4, 5]], [[2, 3, 4, 5], [1, 1, 1, 1], [1, 2, 3, 4]],
    [[2, 3, 2, 3, 2], [0, 1, 0, 1, 1], [2, 2, 1, 2, 1]], [[2, 2, 3, 2, 3, 2], [1, 0, 1, 0, 2, 1], [1, 2, 2, 2, 1, 1]],
    [[5, 6], [2, 2], [0, 3]], [[5, 0], [1, 0], [3, 0]],
  ];
  for (const [shape, begin, size] of cases) {
    for (const dtype of DTYPES) {
      it(`[${shape}] begin [${begin}] size [${size}] ${dtype}`, async () => {
        await expectMatchesCpu(() => tf.slice(rand(shape, dtype), begin, size), 0);
      });
    }
  }
  it('strings', async () => {
    await expectMatchesCpu(() => tf.slice(strings([3, 4, 2]), [1, 1, 0], [2, 2, 2]), 0);
  });
  it('complex64 (the CPU reference slices the parts)', async () => {
    const re = () => rand([4, 5], 'float32', 3), im = () => rand([4, 5], 'float32', 4);
    await expectGpuMatches(() => {
      const y = tf.slice(tf.complex(re(), im()), [1, 1], [2, 3]);
      return [tf.real(y), tf.imag(y)];
    }, () => [tf.slice(re(), [1, 1], [2, 3]), tf.slice(im(), [1, 1], [2, 3])]);
  });
  it('throws on out-of-range params, then works', async () => {
    await tf.setBackend('mpsgpu');
    const x = rand([4, 4]);
    expect(() => tf.slice(x, [3, 0], [2, 4])).toThrowError();
    expect(tf.slice(x, [3, 0], [1, 4]).shape).toEqual([1, 4]);
    x.dispose();
  });
});

describeLazyAndEager('StridedSlice', () => {
  // [shape, begin, end, strides, beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask]
  type Case = [number[], number[], number[], number[], number, number, number, number, number];
  const cases: Case[] = [
    [[10], [1], [8], [2], 0, 0, 0, 0, 0],
    [[10], [8], [1], [-3], 0, 0, 0, 0, 0],
    [[10], [0], [0], [-1], 1, 1, 0, 0, 0],
    [[10], [-2], [-8], [-1], 0, 0, 0, 0, 0],
    [[5, 7], [4, 6], [0, 0], [-1, -2], 0, 0, 0, 0, 0],
    [[5, 7], [1, 2], [4, 6], [1, 1], 1, 2, 0, 0, 0],
    [[5, 7], [0, 1], [0, 5], [1, 2], 1, 0, 0, 0, 0],
    [[3, 4, 5], [0, 2], [0, 4], [1, 1], 0, 0, 1, 0, 0],
    [[3, 4, 5], [0, 1], [0, 3], [1, -1], 0, 0, 1, 0, 0],
    [[3, 4, 5], [0, 0, 1], [0, 0, 3], [1, 1, 1], 0, 0, 0, 2, 0],
    [[3, 4, 5], [0, 0, 0, 1], [2, 0, 0, 4], [1, 1, 1, 1], 0, 0, 2, 0, 0],
    [[2, 3, 4, 5], [1, 2, 3], [0, 0, 0], [-1, -1, -2], 0, 0, 0, 0, 0],
    [[2, 3, 4, 5, 3], [0, 0, 1, 0, 2], [2, 3, 4, 5, 0], [1, 2, 2, 3, -1], 0, 0, 0, 0, 0],
    [[2, 3, 2, 4, 3, 2], [1, 0, 0, 3, 0, 0], [0, 3, 2, 0, 3, 2], [-1, 2, 1, -2, 2, 1], 0, 0, 0, 0, 0],
    [[], [], [], [], 0, 0, 0, 0, 0],
    [[6], [0], [6], [1], 0, 0, 0, 1, 0],
    [[4, 5], [-1, 0], [0, 5], [1, 1], 0, 0, 0, 0, 1],
  ];
  for (const c of cases) {
    for (const dtype of ['float32', 'int32'] as Dtype[]) {
      it(`${JSON.stringify(c)} ${dtype}`, async () => {
        await expectMatchesCpu(() => tf.stridedSlice(rand(c[0], dtype), c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]), 0);
      });
    }
  }
  it('bool with negative strides', async () => {
    await expectMatchesCpu(() => tf.stridedSlice(rand([6, 5], 'bool'), [5, 4], [0, 0], [-2, -1]), 0);
  });
  it('a shrunk axis with a strided axis (tfjs-backend-cpu reads the wrong elements here)', async () => {
    await tf.setBackend('mpsgpu');
    const x = tf.tensor2d([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);
    const y = tf.stridedSlice(x, [1, 0], [2, 4], [1, 2], 0, 0, 0, 0, 1);
    expect(y.shape).toEqual([2]);
    expectClose(await y.data(), [4, 6], 0);
    tf.dispose([x, y]);
  });
  // tfjs-backend-cpu throws on these (a shrunk axis 0 next to a strided axis; begin > end): the
  // reference is computed by other means.
  it('shrink axis 0 with a strided axis 2', async () => {
    await expectGpuMatches(() => tf.stridedSlice(rand([3, 4, 5]), [1, 0, 0], [2, 4, 5], [1, 1, 2], 0, 0, 0, 0, 1),
                           () => tf.stridedSlice(rand([3, 4, 5]), [1, 0, 0], [2, 4, 5], [1, 1, 2]).reshape([4, 3]));
  });
  it('begin after end gives an empty axis', async () => {
    await expectGpuMatches(() => [tf.stridedSlice(rand([4, 4], 'int32'), [3, 1], [1, 3], [1, 1]), tf.stridedSlice(rand([4, 4]), [1, 1], [3, 3], [-1, 1])],
                           () => [tf.zeros([0, 2], 'int32'), tf.zeros([0, 2])]);
  });
  it('throws on a zero stride, then works', async () => {
    await tf.setBackend('mpsgpu');
    const x = rand([4]);
    expect(() => tf.stridedSlice(x, [0], [4], [0])).toThrowError(/strides\[0\] must be non-zero/);
    expect(tf.stridedSlice(x, [0], [4], [2]).shape).toEqual([2]);
    x.dispose();
  });
});

describeLazyAndEager('Concat', () => {
  const cases: Array<[number[][], number]> = [
    [[[3], [5], [1]], 0], [[[2, 3], [2, 4]], 1], [[[2, 3], [5, 3], [1, 3]], 0], [[[2, 3], [2, 4]], -1],
    [[[2, 3, 4], [2, 1, 4], [2, 5, 4]], 1], [[[2, 3, 4], [2, 3, 1]], 2],
    [[[1, 2, 1, 3, 2], [1, 2, 2, 3, 2]], 2], [[[2, 1, 2, 1, 3, 2], [2, 1, 2, 1, 3, 1], [2, 1, 2, 1, 3, 3]], 5],
    [[[2, 0], [2, 3], [2, 0], [2, 2]], 1], [[[0, 3], [0, 3]], 0], [[[2, 3], [0, 3]], 0],
  ];
  for (const [shapes, axis] of cases) {
    for (const dtype of DTYPES) {
      it(`${JSON.stringify(shapes)} axis ${axis} ${dtype}`, async () => {
        await expectMatchesCpu(() => tf.concat(shapes.map((s, i) => rand(s, dtype, i + 1)), axis), 0);
      });
    }
  }
  for (const n of [7, 8, 15, 50]) {
    it(`${n} inputs (chunked into dispatches of at most 7)`, async () => {
      await expectMatchesCpu(() => tf.concat(Array.from({length: n}, (_, i) => rand([3, 1 + (i % 4), 2], 'float32', i + 1)), 1), 0);
    });
  }
  it('complex64', async () => {
    await expectMatchesCpu(() => {
      const a = tf.complex(rand([2, 3], 'float32', 1), rand([2, 3], 'float32', 2));
      const b = tf.complex(rand([2, 2], 'float32', 3), rand([2, 2], 'float32', 4));
      const c = tf.concat([a, b], 1);
      return [tf.real(c), tf.imag(c)];
    }, 0);
  });
  it('strings', async () => {
    await expectMatchesCpu(() => tf.concat([strings([2, 2]), strings([2, 3])], 1), 0);
  });
  it('does not leak intermediates', async () => {
    await expectNoLeak(() => tf.concat(Array.from({length: 20}, (_, i) => rand([2, 3], 'float32', i + 1)), 0));
  });
  it('throws on mismatched shapes, then works', async () => {
    await tf.setBackend('mpsgpu');
    const a = rand([2, 3]), b = rand([3, 3]);
    expect(() => tf.concat([a, b], 1)).toThrowError();
    expect(tf.concat([a, b], 0).shape).toEqual([5, 3]);
    tf.dispose([a, b]);
  });
});

describeLazyAndEager('Pack and Unpack', () => {
  for (const axis of [0, 1, 2, -1]) {
    for (const dtype of DTYPES) {
      it(`stack 3 of [2,3] axis ${axis} ${dtype}`, async () => {
        await expectMatchesCpu(() => tf.stack([rand([2, 3], dtype, 1), rand([2, 3], dtype, 2), rand([2, 3], dtype, 3)], axis), 0);
      });
      it(`unstack [3,4,2] axis ${axis} ${dtype}`, async () => {
        await expectMatchesCpu(() => tf.unstack(rand([3, 4, 2], dtype), axis), 0);
      });
    }
  }
  it('stack of 20 scalars and of one tensor', async () => {
    await expectMatchesCpu(() => [tf.stack(Array.from({length: 20}, (_, i) => tf.scalar(i))), tf.stack([rand([2, 2])], 1)], 0);
  });
  it('stack and unstack rank 5 and zero-size', async () => {
    await expectMatchesCpu(() => [tf.stack([rand([2, 1, 3, 2, 2], 'int32', 1), rand([2, 1, 3, 2, 2], 'int32', 2)], 3),
                                  ...tf.unstack(rand([2, 3, 1, 2, 2]), 4), tf.stack([rand([0, 2]), rand([0, 2])], 1),
                                  ...tf.unstack(rand([3, 0]), 0)], 0);
  });
  it('strings', async () => {
    await expectMatchesCpu(() => [tf.stack([strings([2]), strings([2])], 1), ...tf.unstack(strings([2, 3]), 1)], 0);
  });
});

describeLazyAndEager('SplitV', () => {
  const cases: Array<[number[], number|number[], number]> = [
    [[6], 3, 0], [[4, 6], [1, 2, 3], 1], [[4, 6], [1, -1, 2], 1], [[5, 2, 3], [2, 0, 3], 0],
    [[2, 3, 4, 2, 3], 2, 3], [[2, 2, 3, 2, 2, 3], [1, 2], -1],
  ];
  for (const [shape, splits, axis] of cases) {
    for (const dtype of DTYPES) {
      it(`[${shape}] into ${JSON.stringify(splits)} axis ${axis} ${dtype}`, async () => {
        await expectMatchesCpu(() => tf.split(rand(shape, dtype), Array.isArray(splits) ? splits.slice() : splits, axis), 0);
      });
    }
  }
  it('throws when sizes do not add up, then works', async () => {
    await tf.setBackend('mpsgpu');
    const x = rand([4, 5]);
    expect(() => tf.split(x, [2, 2], 1)).toThrowError(/sum of sizes/);
    expect(tf.split(x, [2, 3], 1).length).toBe(2);
    x.dispose();
  });
});

describeLazyAndEager('PadV2 and MirrorPad', () => {
  const cases: Array<[number[], Array<[number, number]>]> = [
    [[5], [[2, 3]]], [[3, 4], [[1, 0], [2, 2]]], [[2, 3, 4], [[0, 0], [1, 2], [3, 1]]],
    [[2, 2, 3, 2], [[1, 1], [0, 2], [1, 0], [2, 1]]], [[1, 2, 2, 3, 2], [[0, 1], [1, 0], [1, 1], [0, 0], [2, 2]]],
    [[2, 1, 2, 2, 1, 3], [[1, 0], [0, 1], [1, 1], [0, 0], [1, 0], [2, 1]]],
  ];
  for (const [shape, paddings] of cases) {
    for (const dtype of DTYPES) {
      it(`pad [${shape}] by ${JSON.stringify(paddings)} ${dtype}`, async () => {
        await expectMatchesCpu(() => [tf.pad(rand(shape, dtype), paddings), tf.pad(rand(shape, dtype), paddings, dtype === 'bool' ? 1 : -7.5)], 0);
      });
    }
    for (const mode of ['reflect', 'symmetric'] as const) {
      it(`mirrorPad [${shape}] by ${JSON.stringify(paddings)} ${mode}`, async () => {
        const limit = (p: [number, number], n: number): [number, number] => {
          const max = mode === 'reflect' ? n - 1 : n;
          return [Math.min(p[0], max), Math.min(p[1], max)];
        };
        const pads = paddings.map((p, d) => limit(p, shape[d]));
        await expectMatchesCpu(() => [tf.mirrorPad(rand(shape), pads, mode), tf.mirrorPad(rand(shape, 'int32'), pads, mode)], 0);
      });
    }
  }
  it('mirrorPad reflecting the full width', async () => {
    await expectMatchesCpu(() => [tf.mirrorPad(rand([4, 5]), [[3, 3], [4, 4]], 'reflect'), tf.mirrorPad(rand([4, 5]), [[4, 4], [5, 5]], 'symmetric')], 0);
  });
  it('pad of a zero-size tensor and zero padding', async () => {
    await expectMatchesCpu(() => [tf.pad(rand([0, 3]), [[2, 1], [1, 0]], 3), tf.pad(rand([3, 2]), [[0, 0], [0, 0]])], 0);
  });
  it('mirrorPad throws on too much padding, then works', async () => {
    await tf.setBackend('mpsgpu');
    const x = rand([3, 3]);
    expect(() => run('MirrorPad', {x}, {paddings: [[3, 0], [0, 0]], mode: 'reflect'})).toThrowError(/MirrorPad: paddings/);
    expect(tf.mirrorPad(x, [[2, 0], [0, 0]], 'reflect').shape).toEqual([5, 3]);
    x.dispose();
  });
});

describeLazyAndEager('Tile and BroadcastTo', () => {
  const cases: Array<[number[], number[]]> = [
    [[3], [4]], [[2, 3], [2, 1]], [[2, 3], [1, 3]], [[2, 1, 3], [2, 3, 2]], [[1, 2, 3, 1], [3, 1, 2, 4]],
    [[2, 1, 2, 1, 2], [1, 2, 1, 3, 2]], [[1, 2, 1, 2, 1, 2], [2, 1, 3, 1, 2, 1]], [[2, 3], [0, 2]], [[0, 2], [3, 1]],
    [[2, 2], [1, 1]], [[1, 1, 1, 5], [2, 3, 4, 1]], [[3, 1], [1, 4]], [[1], [7]],
  ];
  for (const [shape, reps] of cases) {
    for (const dtype of DTYPES) {
      it(`tile [${shape}] by [${reps}] ${dtype}`, async () => {
        await expectMatchesCpu(() => tf.tile(rand(shape, dtype), reps), 0);
      });
    }
  }
  it('tile strings', async () => {
    await expectMatchesCpu(() => tf.tile(strings([2, 3]), [2, 2]), 0);
  });
  it('broadcastTo (which runs Tile)', async () => {
    await expectMatchesCpu(() => [tf.broadcastTo(rand([3, 1]), [2, 3, 4]), tf.broadcastTo(rand([1], 'int32'), [5]),
                                  tf.broadcastTo(rand([2, 1, 3], 'bool'), [2, 2, 4, 3])], 0);
  });
  for (const [from, to] of [[[3, 1], [2, 3, 4]], [[1], [5]], [[2, 1, 3], [2, 2, 4, 3]], [[4], [1, 2, 1, 3, 4]], [[2, 3], [2, 3]]]) {
    it(`the BroadcastTo kernel [${from}] to [${to}]`, async () => {
      await tf.setBackend('cpu');
      const x = rand(from, 'int32');
      const expected = await tf.broadcastTo(x, to).data();
      const values = await x.data();
      await tf.setBackend('mpsgpu');
      const y = run('BroadcastTo', {x: tf.tensor(values, from, 'int32')}, {shape: to, inputShape: from}) as tf.Tensor;
      expect(y.shape).toEqual(to);
      expectClose(await y.data(), expected, 0);
    });
  }
  it('throws on a bad broadcast, then works', async () => {
    await tf.setBackend('mpsgpu');
    const x = rand([2, 3]);
    expect(() => run('BroadcastTo', {x}, {shape: [4, 3], inputShape: [2, 3]})).toThrowError(/BroadcastTo: input 'x' of shape \[2,3\]/);
    expect(tf.tile(x, [2, 1]).shape).toEqual([4, 3]);
    x.dispose();
  });
});

describeLazyAndEager('Reverse', () => {
  const cases: Array<[number[], number[]]> = [
    [[7], [0]], [[3, 4], [0]], [[3, 4], [1]], [[3, 4], [0, 1]], [[2, 3, 4], [-1, 0]], [[2, 3, 4, 5], [1, 3]],
    [[2, 1, 3, 2, 2], [0, 2, 4]], [[2, 2, 1, 3, 2, 2], [5, 3, 0, 1]], [[3, 0], [0]], [[3, 4], []],
  ];
  for (const [shape, axes] of cases) {
    for (const dtype of DTYPES) {
      it(`[${shape}] axes [${axes}] ${dtype}`, async () => {
        await expectMatchesCpu(() => tf.reverse(rand(shape, dtype), axes), 0);
      });
    }
  }
  it('a scalar', async () => {
    await expectMatchesCpu(() => tf.reverse(tf.scalar(3)), 0);
  });
});

describeLazyAndEager('GatherV2', () => {
  // [x shape, indices shape, axis, batchDims]
  const cases: Array<[number[], number[], number, number]> = [
    [[7], [4], 0, 0], [[5, 3], [6], 0, 0], [[5, 3], [2, 3], 1, 0], [[4, 5, 3], [2, 2], 1, 0], [[4, 5, 3], [7], -1, 0],
    [[3, 5, 2], [3, 4], 1, 1], [[2, 3, 4, 2], [2, 3, 5], 2, 2], [[2, 3, 4], [2, 2], 2, 1], [[2, 3, 4], [2, 2], 2, -1],
    [[2, 3, 2, 3, 2], [4], 3, 0], [[2, 2, 3, 2, 2, 3], [2, 2], 5, 1], [[5, 3], [0], 0, 0], [[5, 0], [3], 0, 0],
  ];
  for (const [xShape, iShape, axis, batchDims] of cases) {
    for (const dtype of DTYPES) {
      it(`x [${xShape}] indices [${iShape}] axis ${axis} batchDims ${batchDims} ${dtype}`, async () => {
        const $axis = axis < 0 ? axis + xShape.length : axis;
        const indices = randomInts(tf.util.sizeFromShape(iShape), 5, 0, xShape[$axis] - 1);
        await expectMatchesCpu(() => tf.gather(rand(xShape, dtype), tf.tensor(indices, iShape, 'int32'), axis, batchDims), 0);
      });
    }
  }
  it('indices computed on the GPU', async () => {
    await expectMatchesCpu(() => tf.gather(rand([6, 3]), tf.sub(tf.tensor1d([5, 4, 3], 'int32'), tf.scalar(2, 'int32'))), 0);
  });
  it('complex64 (the CPU reference gathers the parts)', async () => {
    const re = () => rand([4, 2], 'float32', 1), im = () => rand([4, 2], 'float32', 2);
    await expectGpuMatches(() => {
      const y = tf.gather(tf.complex(re(), im()), [3, 0, 3]);
      return [tf.real(y), tf.imag(y)];
    }, () => [tf.gather(re(), [3, 0, 3]), tf.gather(im(), [3, 0, 3])]);
  });
  for (const bad of [5, -1]) {
    it(`throws tfjs-backend-cpu's error on index ${bad}, then works`, async () => {
      await tf.setBackend('mpsgpu');
      const x = rand([5, 2]);
      const before = numDataIds();
      expect(() => tf.gather(x, tf.tensor1d([0, bad], 'int32'))).toThrowError(`GatherV2: the index value ${bad} is not in [0, 4]`);
      expect(numDataIds()).toBeLessThanOrEqual(before + 1);
      await expectMatchesCpu(() => tf.gather(rand([5, 2]), tf.tensor1d([4, 0], 'int32')), 0);
      x.dispose();
    });
  }
});

describeLazyAndEager('GatherNd', () => {
  const cases: Array<[number[], number[][], number[]]> = [
    [[5], [[1], [4], [0]], [3, 1]],
    [[4, 3], [[1, 2], [3, 0]], [2, 2]],
    [[4, 3], [[1], [3], [1]], [3, 1]],
    [[2, 3, 4], [[1, 2], [0, 0], [1, 1]], [3, 2]],
    [[2, 3, 4], [[1, 2, 3], [0, 0, 1]], [2, 3]],
    [[2, 3, 2, 3, 2], [[1, 0], [0, 2]], [2, 1, 2]],
  ];
  for (const [shape, idx, iShape] of cases) {
    for (const dtype of DTYPES) {
      it(`params [${shape}] indices ${JSON.stringify(idx)} as [${iShape}] ${dtype}`, async () => {
        await expectMatchesCpu(() => tf.gatherND(rand(shape, dtype), tf.tensor(idx.flat(), iShape, 'int32')), 0);
      });
    }
  }
  it('strings, empty indices, and an index tuple of length 0', async () => {
    await expectMatchesCpu(() => [tf.gatherND(strings([3, 2]), tf.tensor2d([[2], [0]], [2, 1], 'int32')),
                                  tf.gatherND(rand([3, 2]), tf.tensor2d([], [0, 2], 'int32')),
                                  tf.gatherND(rand([3, 2]), tf.tensor2d([], [2, 0], 'int32'))], 0);
  });
  it('throws tfjs-backend-cpu\'s error on an invalid index, then works', async () => {
    await tf.setBackend('mpsgpu');
    const x = rand([3, 2]);
    expect(() => tf.gatherND(x, tf.tensor2d([[3, 0]], [1, 2], 'int32'))).toThrowError('Invalid indices: 3,0 does not index into 3,2');
    await expectMatchesCpu(() => tf.gatherND(rand([3, 2]), tf.tensor2d([[2, 1]], [1, 2], 'int32')), 0);
    x.dispose();
  });
});

describeLazyAndEager('OneHot', () => {
  it('int32, float32 and bool outputs, out-of-range indices give off rows', async () => {
    await expectMatchesCpu(() => {
      const i = tf.tensor1d([0, 3, -1, 2, 7, 1], 'int32');
      return [tf.oneHot(i, 4), tf.oneHot(i, 5, 2.5, -1.25, 'float32'), tf.oneHot(i, 3, 1, 0, 'bool'),
              tf.oneHot(tf.tensor2d([[1, 2], [0, 4], [3, 3]], [3, 2], 'int32'), 5, 7, 3, 'int32')];
    }, 0);
  });
  it('zero-size indices and large depth', async () => {
    await expectMatchesCpu(() => [tf.oneHot(tf.tensor1d([], 'int32'), 3), tf.oneHot(tf.tensor1d([999, 5], 'int32'), 1000)], 0);
  });
});

describeLazyAndEager('Select (where)', () => {
  const shapes: Array<[number[], number[], number[]]> = [
    [[5], [5], [5]], [[2, 3], [2, 3], [2, 3]], [[2, 1], [1, 3], [2, 3]], [[], [3, 4], [3, 4]],
    [[2, 3, 1, 2, 2], [2, 3, 2, 2, 2], [1]], [[2, 1, 2, 2, 1, 3], [2, 2, 2, 2, 2, 3], [2, 2, 2, 2, 2, 3]],
  ];
  for (const [c, a, b] of shapes) {
    it(`condition [${c}] a [${a}] b [${b}]`, async () => {
      await expectMatchesCpu(() => [tf.where(rand(c, 'bool', 3), rand(a, 'float32', 1), rand(b, 'float32', 2)),
                                    tf.where(rand(c, 'bool', 4), rand(a, 'int32', 1), rand(b, 'int32', 2)),
                                    tf.where(rand(c, 'bool', 5), rand(a, 'bool', 1), rand(b, 'bool', 2))], 0);
    });
  }
  it('NaN and infinities pass through', async () => {
    await expectMatchesCpu(() => tf.where(tf.tensor1d([1, 0, 1, 0], 'bool'), tf.tensor1d([NaN, 1, Infinity, 2]), tf.tensor1d([0, -Infinity, 3, NaN])), 0);
  });
  it('a rank-1 condition picks whole rows', async () => {
    await tf.setBackend('mpsgpu');
    const y = run('Select', {condition: tf.tensor1d([1, 0], 'bool'), t: tf.tensor2d([[1, 2], [3, 4]]), e: tf.tensor2d([[5, 6], [7, 8]])}) as tf.Tensor;
    expectClose(await y.data(), [1, 2, 7, 8], 0);
  });
  it('complex64 (tfjs-backend-cpu refuses it)', async () => {
    await tf.setBackend('mpsgpu');
    const t = tf.complex([1, 2, 3], [4, 5, 6]), e = tf.complex([7, 8, 9], [10, 11, 12]);
    const y = run('Select', {condition: tf.tensor1d([1, 0, 1], 'bool'), t, e}) as tf.Tensor;
    expectClose(await tf.real(y).data(), [1, 8, 3], 0);
    expectClose(await tf.imag(y).data(), [4, 11, 6], 0);
  });
});

describeLazyAndEager('Range', () => {
  const cases: Array<[number, number, number, 'float32'|'int32']> = [
    [0, 10, 1, 'float32'], [0, 10, 3, 'int32'], [5, -5, -2, 'float32'], [5, -5, 1, 'int32'], [0.5, 3.7, 0.1, 'float32'],
    [3, 3, 1, 'float32'], [0, 5, -1, 'int32'], [10, 0, 2, 'float32'], [-2.5, 1000, 0.75, 'float32'],
  ];
  for (const [start, stop, step, dtype] of cases) {
    it(`range(${start}, ${stop}, ${step}, ${dtype})`, async () => {
      await expectMatchesCpu(() => tf.range(start, stop, step, dtype).mul(dtype === 'int32' ? 1 : 1.0), 0);
    });
  }
});

describeLazyAndEager('Complex, Real, Imag', () => {
  it('round trip through several ranks', async () => {
    await expectMatchesCpu(() => {
      const re = rand([2, 3, 1, 2], 'float32', 1), im = rand([2, 3, 1, 2], 'float32', 2);
      const c = tf.complex(re, im);
      return [tf.real(c), tf.imag(c), tf.real(c.reshape([12])), tf.imag(tf.complex(tf.scalar(1), tf.scalar(-2)))];
    }, 0);
  });
  it('parts stay valid after the complex tensor and its inputs are disposed', async () => {
    await tf.setBackend('mpsgpu');
    const re = tf.add(rand([3]), 1), im = tf.tensor1d([7, 8, 9]);
    const c = tf.complex(re, im);
    const r = tf.real(c), i = tf.imag(c);
    re.dispose();
    c.dispose();
    expectClose(await i.data(), [7, 8, 9], 0);
    expectClose(await im.data(), [7, 8, 9], 0);
    expect(r.shape).toEqual([3]);
    await r.data();
    tf.dispose([im, r, i]);
  });
  it('complex of GPU-computed parts; zero-size complex', async () => {
    await expectMatchesCpu(() => {
      const c = tf.complex(tf.mul(rand([4]), 2), tf.neg(rand([4], 'float32', 5)));
      const e = tf.complex(tf.zeros([0, 2]), tf.zeros([0, 2]));
      return [tf.real(c), tf.imag(c), tf.real(e), tf.real(tf.concat([e, tf.complex(rand([1, 2]), rand([1, 2]))], 0))];
    }, 0);
  });
  it('do not leak', async () => {
    await expectNoLeak(() => {
      const c = tf.complex(tf.mul(rand([4, 2]), 2), rand([4, 2], 'float32', 3));
      const d = tf.concat([c, c, tf.transpose(tf.complex(rand([2, 1]), rand([2, 1])))], 0);
      return [tf.real(d), tf.imag(tf.gather(d, [0, 2])), tf.real(tf.tile(c, [2, 1])), tf.imag(tf.stack([c, c]))];
    });
  });
});

describeLazyAndEager('high ranks and large dispatches', () => {
  it('rank 7 and 8', async () => {
    await expectMatchesCpu(() => {
      const x = rand([2, 1, 3, 2, 1, 2, 3], 'int32');
      const y = rand([1, 2, 2, 1, 3, 1, 2, 2]);
      return [tf.transpose(x, [6, 0, 5, 2, 4, 1, 3]), tf.slice(y, [0, 1, 0, 0, 1, 0, 0, 1], [1, 1, 2, 1, 2, 1, 2, 1]),
              tf.tile(x, [1, 2, 1, 1, 2, 1, 1]), tf.reverse(y, [0, 2, 4, 7]), tf.concat([x, x], 5),
              tf.pad(x, [[0, 1], [1, 0], [0, 0], [1, 1], [0, 0], [0, 1], [2, 0]], 4),
              tf.stridedSlice(y, [0, 1, 1, 0, 2, 0, 1, 0], [1, 0, 0, 1, 0, 1, 0, 2], [1, -1, -1, 1, -2, 1, -1, 1])];
    }, 0);
  });
  it('more than 65535 workgroups (the dispatch folds into y)', async () => {
    await expectMatchesCpu(() => {
      const x = rand([1031, 4099]);
      return [tf.transpose(x), tf.concat([x, x.slice([0, 1], [1031, 5])], 1)];
    }, 0);
  });
});

describeLazyAndEager('shape kernels together', () => {
  it('a chain of data movement in one lazy segment', async () => {
    await expectMatchesCpu(() => {
      const x = rand([4, 6, 5], 'float32', 9);
      const a = tf.transpose(x, [2, 0, 1]).slice([1, 0, 2], [3, 4, 3]);
      const b = tf.concat([a, tf.reverse(a, [1])], 2).pad([[1, 1], [0, 2], [1, 0]], 0.5);
      const c = tf.gather(b, tf.tensor1d([4, 0, 2], 'int32'), 0).tile([1, 2, 1]);
      return tf.stack(tf.unstack(c, 2).map(t => t.add(1)), 0).stridedSlice([0, 2, 1], [7, 0, 12], [2, -1, 3]);
    }, 0);
  });
  it('do not leak', async () => {
    await expectNoLeak(() => {
      const x = rand([4, 6, 5], 'float32', 9);
      return [tf.transpose(x), tf.split(x, [1, 2, 3], 1)[1], tf.pad(x, [[1, 0], [0, 0], [2, 2]]), tf.oneHot(tf.tensor1d([1, 2], 'int32'), 3),
              tf.where(tf.greater(x, 0), x, tf.neg(x)), tf.gatherND(x, tf.tensor2d([[1, 2]], [1, 2], 'int32')), tf.range(0, 5)];
    });
  });
});
