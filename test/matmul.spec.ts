// Specs for the matmul kernels (see docs/WRITING_KERNELS.md): BatchMatMul and _FusedMatMul against
// tfjs-backend-cpu: odd sizes on every tile shape, every transpose combination, batch broadcasting,
// int32, the fused bias and activations.
import * as tf from '@tensorflow/tfjs-core';

import {DIRECT_TILE, GemmTile, gemmTuning} from '../src/codegen/gemm.js';

import {describeLazyAndEager, expectMatchesCpu, randomInts, randomValues} from './util.js';

/** [M, K, N]: vectors, K = 1, sizes off the tile multiples, and ones large enough for the big tile. */
const SIZES: Array<[number, number, number]> = [
  [1, 1, 1], [1, 7, 1], [3, 1, 5], [1, 33, 17], [17, 33, 1], [2, 9, 70], [70, 9, 3], [5, 3, 4], [8, 8, 8],
  [33, 65, 17], [64, 64, 64], [65, 31, 129], [100, 512, 10], [130, 70, 150],
];

function operand(rows: number, cols: number, transpose: boolean, batch: number[], seed: number): tf.Tensor {
  const shape = [...batch, ...(transpose ? [cols, rows] : [rows, cols])];
  return tf.tensor(randomValues(tf.util.sizeFromShape(shape), seed, -1, 1), shape);
}

describeLazyAndEager('BatchMatMul matches tfjs-backend-cpu', () => {
  for (const [m, k, n] of SIZES) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        it(`[${m}x${k}] x [${k}x${n}] transposeA ${tA} transposeB ${tB}`, async () => {
          await expectMatchesCpu(() => tf.matMul(operand(m, k, tA, [], m + k), operand(k, n, tB, [], n + 7), tA, tB), 1e-3);
        });
      }
    }
  }

  // The engine's larger tiles (64×128, 64×64 of 8×8, 128×64) and split-K (src/codegen/gemm.ts
  // chooseTile / chooseSplits pick them by shape and adapter), with edges off the tile multiples.
  for (const [m, k, n] of [[1030, 40, 1030], [700, 24, 300], [33000, 8, 40], [64, 20000, 70]] as Array<[number, number, number]>) {
    it(`engine tiles and split-K: [${m}x${k}] x [${k}x${n}]`, async () => {
      await expectMatchesCpu(() => tf.matMul(operand(m, k, false, [], m), operand(k, n, false, [], n)), 1e-3);
    });
  }

  // Every tile shape the engine may pick on any adapter, forced (a CPU adapter picks 64×64 of
  // 8×8 by shape), with and without split-K, on a product and a convolution.
  const TILES: GemmTile[] = [
    {bm: 64, bn: 128, bk: 16, tm: 8, tn: 8}, {bm: 128, bn: 64, bk: 16, tm: 8, tn: 8}, {bm: 32, bn: 32, bk: 16, tm: 4, tn: 4},
    {bm: 64, bn: 64, bk: 16, tm: 4, tn: 4}, {bm: 64, bn: 64, bk: 16, tm: 8, tn: 8}, {bm: 64, bn: 32, bk: 16, tm: 8, tn: 8},
    {bm: 32, bn: 64, bk: 16, tm: 8, tn: 8}, DIRECT_TILE,
  ];
  // Each tile on products (both transposes), a convolution, and both backprops with stride 2 and
  // odd channel counts (gathered operands with scalar loads), as separate specs: a CPU adapter
  // compiles every program of a spec within its timeout.
  const FORCED: Array<[string, () => tf.Tensor[]]> = [
    ['products', () => [tf.matMul(operand(150, 70, false, [], 1), operand(70, 140, true, [], 2), false, true),
                        tf.matMul(operand(150, 70, true, [], 7), operand(70, 33, false, [], 8), true, false)]],
    ['conv2d', () => [tf.conv2d(operand(2 * 9 * 7, 8, false, [], 3).reshape([2, 9, 7, 8]) as tf.Tensor4D,
                                operand(3 * 3 * 8, 12, false, [], 4).reshape([3, 3, 8, 12]) as tf.Tensor4D, 1, 'same')]],
    ['conv2d backprops, stride 2', () => {
      const x = operand(2 * 9 * 7, 5, false, [], 5).reshape([2, 9, 7, 5]);
      const w = operand(3 * 3 * 5, 3, false, [], 6).reshape([3, 3, 5, 3]);
      return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same').square())([x, w]);
    }],
  ];
  for (const tile of TILES) {
    for (const [what, run] of FORCED) {
      it(`engine tile ${tile.bm}x${tile.bn}x${tile.bk}/${tile.tm}x${tile.tn} forced, 1 and 3 splits: ${what}`, async () => {
        try {
          for (const splits of [1, 3]) {
            gemmTuning.tile = tile;
            gemmTuning.splits = splits;
            await expectMatchesCpu(run, 1e-3, `splits ${splits}`);
          }
        } finally {
          gemmTuning.tile = null;
          gemmTuning.splits = 0;
        }
      });
    }
  }

  const BATCHES: Array<[number[], number[]]> = [
    [[1], [1]], [[3], [3]], [[1], [4]], [[4], [1]], [[4], []], [[], [3]], [[2, 3], [3]], [[2, 3], [2, 3]],
    [[2, 1, 3], [3]], [[1, 2, 2], []],
  ];
  for (const [ba, bb] of BATCHES) {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
      it(`batch [${ba}] x [${bb}] transposeA ${tA} transposeB ${tB}`, async () => {
        await expectMatchesCpu(() => tf.matMul(operand(5, 6, tA, ba, 3), operand(6, 7, tB, bb, 4), tA, tB), 1e-4);
      });
    }
  }

  it('broadcasts batch dimensions numpy-style ([2,1] with [1,3])', async () => {
    // tfjs-backend-cpu pairs flattened batches by index, so compare with explicitly tiled operands.
    const a = randomValues(2 * 4 * 3, 5), b = randomValues(3 * 3 * 2, 6);
    await expectMatchesCpu(() => {
      const ta = tf.tensor(a, [2, 1, 4, 3]), tb = tf.tensor(b, [1, 3, 3, 2]);
      if (tf.getBackend() === 'cpu') return tf.matMul(tf.tile(ta, [1, 3, 1, 1]), tf.tile(tb, [2, 1, 1, 1]));
      return tf.matMul(ta, tb);
    }, 1e-5);
  });

  it('large batch count with small matrices', async () => {
    await expectMatchesCpu(() => tf.matMul(operand(3, 2, false, [3000], 8), operand(2, 3, true, [3000], 9), false, true), 1e-5);
  });

  it('int32 is exact', async () => {
    await expectMatchesCpu(() => [
      tf.matMul(tf.tensor(randomInts(35 * 40, 3, -100, 100), [35, 40], 'int32'), tf.tensor(randomInts(40 * 19, 4, -100, 100), [40, 19], 'int32')),
      tf.matMul(tf.tensor(randomInts(2 * 3 * 4, 5), [2, 3, 4], 'int32'), tf.tensor(randomInts(5 * 4, 6), [5, 4], 'int32'), false, true),
    ], 0);
  });

  it('bool × bool keeps the dtype, as tfjs-backend-cpu', async () => {
    await expectMatchesCpu(() => tf.matMul(tf.tensor(randomInts(12, 1, 0, 1), [3, 4], 'bool'), tf.tensor(randomInts(8, 2, 0, 1), [4, 2], 'bool')), 0);
  });

  it('K = 0 gives zeros; M = 0 gives an empty result', async () => {
    await expectMatchesCpu(() => [tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 4])), tf.matMul(tf.zeros([0, 2]), tf.ones([2, 3]))], 0);
  });

  it('NaN and infinity propagate', async () => {
    await expectMatchesCpu(() => tf.matMul(tf.tensor([1, NaN, 2, 3, Infinity, 1], [3, 2]), tf.tensor([1, 2, 3, 4], [2, 2])), 0);
  });

  it('dot, outerProduct and a chain of matmuls', async () => {
    const v = randomValues(12, 3);
    await expectMatchesCpu(() => {
      const x = tf.tensor(v, [3, 4]);
      return [tf.dot(tf.tensor1d(v.slice(0, 4)), tf.tensor1d(v.slice(4, 8))), tf.outerProduct(tf.tensor1d(v.slice(0, 3)), tf.tensor1d(v.slice(3, 8))),
              tf.matMul(tf.matMul(x, x, false, true), x)];
    }, 1e-4);
  });

  it('errors: mismatched inner dimensions throw before any GPU work, then ops still work', async () => {
    await tf.setBackend('mpsgpu');
    const a = tf.ones([2, 3]), b = tf.ones([4, 2]);
    expect(() => tf.matMul(a, b)).toThrowError(/inner shapes/);
    expect(() => tf.engine().runKernel('BatchMatMul', {a, b}, {transposeA: false, transposeB: false})).toThrowError(/inner shapes/);
    expect(() => tf.matMul(tf.ones([2, 2, 3]), tf.ones([3, 3, 2]))).toThrowError(/broadcast/);
    expect(Array.from(await tf.matMul(a, tf.ones([4, 3]), false, true).data())).toEqual(new Array(8).fill(3));
    expect(Array.from(await tf.matMul(b, a).data())).toEqual(new Array(12).fill(2));
    tf.dispose([a, b]);
  });
});

describeLazyAndEager('_FusedMatMul matches tfjs-backend-cpu', () => {
  // Every activation with and without a bias, on the 64 × 64 tile and on both strips (each
  // combination is a pipeline to compile, so not the full product).
  const ACTIVATIONS: tf.fused.Activation[] = ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'prelu', 'sigmoid'];
  const CASES: Array<[number, number, number, number[], 'none'|'row'|'full']> = [
    [9, 17, 33, [], 'row'], [65, 20, 70, [2], 'full'], [1, 5, 7, [], 'none'], [3, 4, 9, [], 'row'], [40, 3, 2, [3], 'full'],
  ];
  for (const activation of ACTIVATIONS) {
    CASES.forEach(([m, k, n, batch, biasKind], i) => {
      if (i >= 3 && activation !== 'relu' && activation !== 'prelu') return;
      it(`${activation} bias ${biasKind} [${batch}] ${m}x${k}x${n}`, async () => {
        await expectMatchesCpu(() => {
          const a = operand(m, k, false, batch, 1), b = operand(k, n, true, batch, 2);
          const bias = biasKind === 'none' ? undefined
            : biasKind === 'row' ? tf.tensor(randomValues(n, 3), [n]) : tf.tensor(randomValues(m * n, 4), [m, n]);
          const preluActivationWeights = activation === 'prelu' ? tf.tensor(randomValues(n, 5, 0, 0.5), [n]) : undefined;
          return tf.fused.matMul({a, b, transposeB: true, bias, activation, preluActivationWeights, leakyreluAlpha: 0.1});
        }, 1e-3);
      });
    });
  }

  it('scalar bias, batch-broadcast bias, full prelu weights, transposeA', async () => {
    await expectMatchesCpu(() => {
      const a = operand(6, 5, true, [3], 1), b = operand(5, 8, false, [3], 2);
      return [
        tf.fused.matMul({a, b, transposeA: true, bias: tf.scalar(0.5), activation: 'relu'}),
        tf.fused.matMul({a, b, transposeA: true, bias: tf.tensor(randomValues(3 * 8, 6), [3, 1, 8]), activation: 'elu'}),
        tf.fused.matMul({a, b, transposeA: true, activation: 'prelu', preluActivationWeights: tf.tensor(randomValues(6 * 8, 7), [6, 8])}),
        tf.fused.matMul({a, b, transposeA: true, bias: tf.tensor(randomValues(8, 6), [1, 8]), activation: 'leakyrelu'}),
      ];
    }, 1e-4);
  });

  it('a bias that grows the output broadcasts as Add does', async () => {
    await expectMatchesCpu(() => tf.engine().runKernel('_FusedMatMul',
      {a: tf.ones([1, 2, 3]), b: tf.ones([1, 3, 4]), bias: tf.tensor(randomValues(8, 2), [2, 1, 4])},
      {transposeA: false, transposeB: false, activation: 'relu', leakyreluAlpha: 0.2}) as tf.Tensor, 1e-5);
  });

  it('int32 with bias and relu', async () => {
    await expectMatchesCpu(() => tf.fused.matMul({
      a: tf.tensor(randomInts(20, 1), [4, 5], 'int32'), b: tf.tensor(randomInts(15, 2), [5, 3], 'int32'),
      bias: tf.tensor([1, -50, 3], [3], 'int32'), activation: 'relu',
    }), 0);
  });
});
