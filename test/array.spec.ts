// Specs for segment, scatter, cumulative and space/batch kernels (see docs/WRITING_KERNELS.md),
// compared with tfjs-backend-cpu.
import * as tf from '@tensorflow/tfjs-core';

import {describeLazyAndEager, expectClose, expectGpuMatches, expectMatchesCpu, randomInts, randomValues} from './util.js';

type Dtype = 'float32'|'int32'|'bool';

/** A tensor of `shape` with deterministic non-zero-ish values of `dtype` (call inside the compared function). */
function rand(shape: number[], dtype: Dtype = 'float32', seed = 1, lo = -5, hi = 5): tf.Tensor {
  const n = tf.util.sizeFromShape(shape);
  if (dtype === 'float32') return tf.tensor(randomValues(n, seed, lo, hi), shape, 'float32');
  if (dtype === 'int32') return tf.tensor(randomInts(n, seed, lo, hi), shape, 'int32');
  return tf.tensor(randomInts(n, seed, 0, 1), shape, 'bool');
}

/** int32 values in [lo, hi], typed as a vector for the ops that want one (the rank is not checked). */
function ints(shape: number[], seed: number, lo: number, hi: number): tf.Tensor1D {
  const x: tf.Tensor = tf.tensor(randomInts(tf.util.sizeFromShape(shape), seed, lo, hi), shape, 'int32');
  return x as tf.Tensor1D;
}

function run(name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}) {
  return tf.engine().runKernel(name, inputs, attrs) as tf.Tensor|tf.Tensor[];
}


async function expectNoLeak(fn: () => tf.Tensor|tf.Tensor[]) {
  await tf.setBackend('mpsgpu');
  const before = tf.engine().findBackend('mpsgpu')!.numDataIds();
  const out = tf.tidy(fn);
  await Promise.all((Array.isArray(out) ? out : [out]).map(t => t.data()));
  tf.dispose(out);
  expect(tf.engine().findBackend('mpsgpu')!.numDataIds()).toBe(before);
}

/** `bad` throws `error` on mpsgpu before any work, and a following op still computes. */
async function expectThrowsThenWorks(bad: () => unknown, error: RegExp|string) {
  await tf.setBackend('mpsgpu');
  const before = tf.memory().numTensors;
  expect(() => tf.tidy(() => { bad(); })).toThrowError(error as RegExp);
  expect(tf.memory().numTensors).toBe(before);
  const y = tf.add(tf.tensor1d([1, 2, 3]), 1);
  expectClose(await y.data(), [2, 3, 4], 0);
  y.dispose();
}

describeLazyAndEager('UnsortedSegmentSum', () => {
  // [x shape, ids shape, numSegments]: inner 1 and 3 scan every id; inner >= 4 lists segments (CSR).
  const cases: Array<[number[], number[], number]> = [
    [[7], [7], 5], [[9, 3], [9], 4], [[11, 5], [11], 6], [[1, 8], [1], 3],
    [[300, 17], [300], 50], [[5, 2, 3], [5], 1], [[6, 4], [6], 9],
  ];
  for (const [xShape, idShape, numSegments] of cases) {
    for (const dtype of ['float32', 'int32'] as const) {
      for (const idsOnGpu of [false, true]) {
        // Ids from JavaScript are listed on the CPU; ids computed on the GPU are scanned (inner < 4)
        // or listed on the GPU.
        it(`x [${xShape}] ids [${idShape}] numSegments ${numSegments} ${dtype}${idsOnGpu ? ', ids computed on the GPU' : ''}`, async () => {
          // Ids from -1 to numSegments: negative and too large ids are ignored.
          await expectMatchesCpu(() => {
            const ids = ints(idShape, 5, -1, numSegments);
            return tf.unsortedSegmentSum(rand(xShape, dtype, 3), idsOnGpu ? tf.add(ids, tf.scalar(0, 'int32')) as tf.Tensor1D : ids,
                                         numSegments);
          }, 1e-5);
        });
      }
    }
  }
  it('ids of rank 2 (the CPU reference flattens them: its own expandDims breaks on them)', async () => {
    await expectGpuMatches(() => tf.unsortedSegmentSum(rand([3, 4, 5], 'float32', 3), ints([3, 4], 5, -1, 7), 7),
                           () => tf.unsortedSegmentSum(rand([3, 4, 5], 'float32', 3).reshape([12, 5]), ints([3, 4], 5, -1, 7).reshape([12]) as tf.Tensor1D, 7),
                           1e-6);
  });
  it('of a computed tensor, with computed ids (lazy chain)', async () => {
    await expectMatchesCpu(() => {
      const ids = tf.sub(ints([40], 2, 0, 9), tf.scalar(1, 'int32')) as tf.Tensor1D;
      return tf.unsortedSegmentSum(tf.mul(rand([40, 6]), 2), ids, 8).add(1);
    }, 1e-5);
  });
  it('the gradient of gather (an embedding lookup)', async () => {
    await expectMatchesCpu(() => {
      const table = rand([20, 6], 'float32', 7);
      const idx = ints([4, 9], 8, 0, 19);
      const g = tf.grad((t: tf.Tensor) => tf.gather(t, idx).mul(rand([4, 9, 6], 'float32', 9)).sum());
      return g(table);
    }, 1e-5);
  });
  it('no ids, no segments', async () => {
    await expectMatchesCpu(() => tf.unsortedSegmentSum(rand([0, 3]), tf.tensor1d([], 'int32'), 4), 0);
    // tfjs-backend-cpu cannot stack zero segments: the reference is the empty result.
    await expectGpuMatches(() => tf.unsortedSegmentSum(rand([3, 3]), tf.tensor1d([0, 1, 0], 'int32'), 0), () => tf.zeros([0, 3]));
  });
  it('leaks nothing', async () => {
    await expectNoLeak(() => tf.unsortedSegmentSum(rand([30, 8]), ints([30], 3, 0, 5), 6));
  });
  it('throws on ids that are not a prefix of x, then works', async () => {
    await expectThrowsThenWorks(() => run('UnsortedSegmentSum', {x: rand([4, 3]), segmentIds: ints([3], 1, 0, 2)}, {numSegments: 3}),
                                /UnsortedSegmentSum: the shape of 'segmentIds' \[3\] must be a prefix/);
  });
});

describeLazyAndEager('Cumsum and Cumprod', () => {
  // Short lines or many lines: one invocation per line; few long lines: the log-step scan.
  const cases: Array<[number[], number]> = [
    [[7], 0], [[3, 5], 0], [[3, 5], 1], [[2, 3, 4], 1], [[2, 3, 4], 2], [[300, 3], 0], [[1, 300], 1], [[3, 1000], 1],
    [[33, 2], 0], [[2, 65, 3], 1], [[1], 0],
  ];
  for (const [shape, axis] of cases) {
    for (const exclusive of [false, true]) {
      for (const reverse of [false, true]) {
        const flags = `exclusive ${exclusive} reverse ${reverse}`;
        it(`cumsum [${shape}] axis ${axis} ${flags} float32, int32, bool`, async () => {
          await expectMatchesCpu(() => [tf.cumsum(rand(shape, 'float32', 2), axis, exclusive, reverse),
                                        tf.cumsum(rand(shape, 'int32', 3, -50, 50), axis, exclusive, reverse),
                                        tf.cumsum(rand(shape, 'bool', 4), axis, exclusive, reverse)], 1e-4);
        });
        it(`cumprod [${shape}] axis ${axis} ${flags} float32, int32`, async () => {
          // Factors near 1 (and ±1 for int32) keep long products finite and exact.
          await expectMatchesCpu(() => [tf.cumprod(rand(shape, 'float32', 5, 0.9, 1.1), axis, exclusive, reverse),
                                        tf.cumprod(tf.sub(tf.mul(rand(shape, 'int32', 6, 0, 1), 2), 1), axis, exclusive, reverse)],
                                 1e-4);
        });
      }
    }
  }
  it('negative axis', async () => {
    // tfjs-backend-cpu takes only axes >= 0: the reference is the same cumsum on axis rank-1.
    await expectGpuMatches(() => run('Cumsum', {x: rand([3, 4])}, {axis: -1, exclusive: false, reverse: false}),
                           () => tf.cumsum(rand([3, 4]), 1), 1e-6);
  });
  it('empty', async () => {
    await expectMatchesCpu(() => tf.cumsum(rand([0, 3]), 1), 0);
  });
  it('the gradient of cumsum', async () => {
    await expectMatchesCpu(() => tf.grad((x: tf.Tensor) => tf.cumsum(x, 1, true).mul(rand([4, 9], 'float32', 3)).sum())(rand([4, 9])), 1e-5);
  });
  it('throws on an axis out of range, then works', async () => {
    await expectThrowsThenWorks(() => run('Cumsum', {x: rand([2, 3])}, {axis: 2, exclusive: false, reverse: false}),
                                /Cumsum: axis 2 is out of range for input 'x' of shape \[2,3\]/);
    await expectThrowsThenWorks(() => run('Cumprod', {x: tf.complex([1], [2])}, {axis: 0, exclusive: false, reverse: false}),
                                /Cumprod: input 'x' has dtype complex64/);
  });
});

describeLazyAndEager('SpaceToBatchND and BatchToSpaceND', () => {
  const cases: Array<[number[], number[], number[][]]> = [
    [[1, 2, 2, 1], [2, 2], [[0, 0], [0, 0]]], [[2, 3, 5, 2], [2, 3], [[1, 0], [0, 1]]], [[4, 5, 3], [2], [[1, 0]]],
    [[1, 4, 4, 3], [2, 2], [[2, 0], [1, 1]]], [[3, 2, 3, 2, 2], [2, 1, 2], [[0, 0], [0, 1], [1, 1]]],
  ];
  for (const [shape, block, paddings] of cases) {
    for (const dtype of ['float32', 'int32', 'bool'] as const) {
      it(`[${shape}] block [${block}] paddings ${JSON.stringify(paddings)} ${dtype}, and back`, async () => {
        await expectMatchesCpu(() => {
          const y = tf.spaceToBatchND(rand(shape, dtype, 3), block, paddings);
          return [y, tf.batchToSpaceND(y, block, paddings)];
        }, 0);
      });
    }
  }
  it('batchToSpaceND with crops on a computed tensor', async () => {
    await expectMatchesCpu(() => tf.batchToSpaceND(tf.add(rand([8, 1, 3, 2]), 1), [2, 2], [[0, 1], [2, 1]]), 0);
  });
  it('complex64 (the CPU reference runs on the parts)', async () => {
    const block = [2, 2], pads = [[1, 1], [0, 2]];
    await expectGpuMatches(() => {
      const y = tf.spaceToBatchND(tf.complex(rand([2, 2, 2, 1], 'float32', 1), rand([2, 2, 2, 1], 'float32', 2)), block, pads);
      return [tf.real(y), tf.imag(y)];
    }, () => [tf.spaceToBatchND(rand([2, 2, 2, 1], 'float32', 1), block, pads), tf.spaceToBatchND(rand([2, 2, 2, 1], 'float32', 2), block, pads)]);
  });
  it('gradients', async () => {
    await expectMatchesCpu(() => tf.grad((x: tf.Tensor) => tf.spaceToBatchND(x, [2], [[1, 1]]).mul(rand([8, 3, 2])).sum())(rand([4, 4, 2])), 1e-5);
  });
  it('leaks nothing', async () => {
    await expectNoLeak(() => tf.batchToSpaceND(tf.spaceToBatchND(rand([2, 3, 5, 2]), [2, 3], [[1, 0], [0, 1]]), [2, 3], [[1, 0], [0, 1]]));
  });
  it('throws on a block that does not divide the padded shape, then works', async () => {
    await expectThrowsThenWorks(() => run('SpaceToBatchND', {x: rand([1, 3, 3, 1])}, {blockShape: [2, 2], paddings: [[0, 0], [0, 0]]}),
                                /SpaceToBatchND: padded dimension 1 of input 'x' \(shape \[1,3,3,1\]\) is 3/);
    await expectThrowsThenWorks(() => run('BatchToSpaceND', {x: rand([3, 2, 2, 1])}, {blockShape: [2, 2], crops: [[0, 0], [0, 0]]}),
                                /BatchToSpaceND: the batch 3/);
  });
});

describeLazyAndEager('DepthToSpace', () => {
  const cases: Array<[number[], number]> = [[[2, 3, 4, 8], 2], [[1, 2, 3, 18], 3], [[1, 1, 1, 4], 2], [[3, 2, 1, 12], 2]];
  for (const [shape, block] of cases) {
    for (const dtype of ['float32', 'int32'] as const) {
      it(`[${shape}] blockSize ${block} ${dtype}`, async () => {
        // tf.depthToSpace takes float32 only; the kernels take int32 too.
        await expectMatchesCpu(() => run('DepthToSpace', {x: rand(shape, dtype, 2)}, {blockSize: block, dataFormat: 'NHWC'}), 0);
      });
    }
  }
  it('throws on NCHW, then works', async () => {
    await expectThrowsThenWorks(() => run('DepthToSpace', {x: rand([1, 4, 2, 2])}, {blockSize: 2, dataFormat: 'NCHW'}),
                                /DepthToSpace: only dataFormat NHWC/);
  });
});

describeLazyAndEager('ScatterNd and TensorScatterUpdate', () => {
  // [indices shape, index bounds, updates shape, output shape]; indices repeat (ScatterNd sums them,
  // TensorScatterUpdate keeps the last).
  const cases: Array<[number[], number[], number[], number[]]> = [
    [[4, 1], [6], [4, 3], [6, 3]], [[9, 1], [4], [9], [4]], [[5, 2], [4, 3], [5], [4, 3]],
    [[2, 3, 2], [5, 6], [2, 3, 4], [5, 6, 4]], [[7, 1], [3], [7, 2, 5], [3, 2, 5]], [[30, 2], [6, 4], [30, 3], [6, 4, 3]],
  ];
  const indices = (shape: number[], bounds: number[], seed: number) => {
    const last = shape[shape.length - 1];
    const n = tf.util.sizeFromShape(shape);
    const values = randomInts(n, seed, 0, 1000).map((v, i) => v % bounds[i % last]);
    return tf.tensor(values, shape, 'int32');
  };
  for (const [iShape, bounds, uShape, shape] of cases) {
    for (const dtype of ['float32', 'int32'] as const) {
      it(`scatterND indices [${iShape}] updates [${uShape}] shape [${shape}] ${dtype}`, async () => {
        await expectMatchesCpu(() => tf.scatterND(indices(iShape, bounds, 3), rand(uShape, dtype, 4), shape), 1e-5);
      });
      it(`tensorScatterUpdate indices [${iShape}] updates [${uShape}] tensor [${shape}] ${dtype}`, async () => {
        await expectMatchesCpu(() => tf.tensorScatterUpdate(rand(shape, dtype, 5), indices(iShape, bounds, 3), rand(uShape, dtype, 4)), 0);
      });
    }
  }
  it('tensorScatterUpdate of bool, and of a computed tensor', async () => {
    await expectMatchesCpu(() => [tf.tensorScatterUpdate(rand([5, 2], 'bool', 1), tf.tensor2d([[1], [3], [1]], [3, 1], 'int32'), rand([3, 2], 'bool', 2)),
                                  tf.tensorScatterUpdate(tf.add(rand([4, 3]), 1), tf.tensor2d([[2], [0]], [2, 1], 'int32'), rand([2, 3]))], 0);
  });
  it('throws on an index outside the output, then works', async () => {
    await expectThrowsThenWorks(() => tf.scatterND(tf.tensor2d([[0], [6]], [2, 1], 'int32'), rand([2, 3]), [6, 3]),
                                /ScatterNd: invalid indices: \[6\] \(update 1\) does not index into \[6,3\]/);
    await expectThrowsThenWorks(() => tf.tensorScatterUpdate(rand([4]), tf.tensor2d([[-1]], [1, 1], 'int32'), rand([1])),
                                /TensorScatterUpdate: invalid indices: \[-1\]/);
  });
});

describeLazyAndEager('Diag, LinSpace, FlipLeftRight, BroadcastArgs', () => {
  for (const shape of [[5], [2, 3], [1], [2, 1, 2]]) {
    it(`diag [${shape}] float32, int32, bool`, async () => {
      await expectMatchesCpu(() => [tf.diag(rand(shape, 'float32', 2)), tf.diag(rand(shape, 'int32', 3)), tf.diag(rand(shape, 'bool', 4))], 0);
    });
  }
  for (const [start, stop, num] of [[0, 1, 7], [-3.2, 11.7, 100], [5, 5, 1], [2, -9, 33]]) {
    it(`linspace(${start}, ${stop}, ${num})`, async () => {
      await expectMatchesCpu(() => tf.linspace(start, stop, num), 0);
    });
  }
  for (const shape of [[2, 3, 5, 3], [1, 4, 1, 2], [3, 1, 7, 1]]) {
    it(`flipLeftRight [${shape}] float32, int32`, async () => {
      await expectMatchesCpu(() => [tf.image.flipLeftRight(rand(shape, 'float32', 2) as tf.Tensor4D),
                                    run('FlipLeftRight', {image: rand(shape, 'int32', 3)}) as tf.Tensor], 0);
    });
  }
  it('broadcastArgs', async () => {
    await expectMatchesCpu(() => [tf.broadcastArgs(tf.tensor1d([2, 1, 3], 'int32'), tf.tensor1d([4, 1], 'int32')),
                                  tf.broadcastArgs(tf.tensor1d([5], 'int32'), tf.tensor1d([3, 1, 1], 'int32'))], 0);
  });
  it('broadcastArgs throws on incompatible shapes, then works', async () => {
    await expectThrowsThenWorks(() => tf.broadcastArgs(tf.tensor1d([2, 3], 'int32'), tf.tensor1d([4], 'int32')),
                                /Operands could not be broadcast together/);
  });
  it('flipLeftRight throws on rank 3, then works', async () => {
    await expectThrowsThenWorks(() => run('FlipLeftRight', {image: rand([2, 3, 4])}),
                                /FlipLeftRight: input 'image' must be rank 4/);
  });
});

describeLazyAndEager('Bincount and DenseBincount', () => {
  for (const size of [5, 9, 0]) {
    it(`bincount size ${size}: counts, float32 and int32 weights`, async () => {
      await expectMatchesCpu(() => [tf.bincount(ints([13], 2, 0, 7), tf.tensor1d([], 'float32'), size),
                                    tf.bincount(ints([13], 2, 0, 7), rand([13], 'float32', 3) as tf.Tensor1D, size),
                                    tf.bincount(ints([13], 2, 0, 7), rand([13], 'int32', 4) as tf.Tensor1D, size)], 1e-5);
    });
    for (const binaryOutput of [false, true]) {
      it(`denseBincount size ${size} binaryOutput ${binaryOutput}: rank 1 and 2`, async () => {
        await expectMatchesCpu(() => [tf.denseBincount(ints([11], 5, 0, 8), tf.tensor1d([], 'int32'), size, binaryOutput),
                                      tf.denseBincount(ints([11], 5, 0, 8), rand([11], 'float32', 6) as tf.Tensor1D, size, binaryOutput),
                                      tf.denseBincount(ints([3, 7], 7, 0, 8) as unknown as tf.Tensor2D, tf.tensor1d([], 'float32') as unknown as tf.Tensor2D, size, binaryOutput),
                                      tf.denseBincount(ints([3, 7], 7, 0, 8) as unknown as tf.Tensor2D, rand([3, 7], 'float32', 8) as tf.Tensor2D, size, binaryOutput),
                                      tf.denseBincount(ints([4, 6], 9, 0, 8) as unknown as tf.Tensor2D, rand([4, 6], 'int32', 9) as tf.Tensor2D, size, binaryOutput)], 1e-5);
      });
    }
  }
  it('throws on a negative value, then works', async () => {
    await expectThrowsThenWorks(() => tf.bincount(tf.tensor1d([1, -2, 3], 'int32'), tf.tensor1d([], 'float32'), 4),
                                /Bincount: input 'x' must be non-negative, got -2/);
    await expectThrowsThenWorks(() => run('DenseBincount', {x: ints([2, 2, 2], 1, 0, 3), weights: tf.tensor1d([], 'float32')},
                                          {size: 4, binaryOutput: false}),
                                /DenseBincount: input 'x' must be rank 1 or 2/);
  });
});

describeLazyAndEager('TopK', () => {
  // Rows up to a chunk (64, or the power of two >= 4k) rank in one pass; longer rows first keep the
  // top k of each chunk.
  const cases: Array<[number[], number]> = [
    [[7], 3], [[4, 9], 9], [[4, 9], 0], [[2, 3, 600], 5], [[1, 2000], 300], [[3, 1300], 256], [[1, 5000], 17], [[6, 1], 1],
  ];
  for (const [shape, k] of cases) {
    it(`[${shape}] k ${k} float32, int32, and ties`, async () => {
      await expectMatchesCpu(() => {
        const a = tf.topk(rand(shape, 'float32', 2), k);
        const b = tf.topk(rand(shape, 'int32', 3, -1000, 1000), k);
        // Few distinct values: the order of equal values is by index.
        const c = tf.topk(rand(shape, 'int32', 4, 0, 3), k);
        return [a.values, a.indices, b.values, b.indices, c.values, c.indices];
      }, 0);
    });
  }
  it('sorted = false gives the sorted result (a valid order)', async () => {
    await expectGpuMatches(() => {
      const {values, indices} = tf.topk(rand([3, 40], 'float32', 2), 7, false);
      return [values, indices];
    }, () => {
      const {values, indices} = tf.topk(rand([3, 40], 'float32', 2), 7, true);
      return [values, indices];
    });
  });
  it('of a computed tensor, with infinities', async () => {
    await expectMatchesCpu(() => {
      // One +∞ and one -∞ a row: tfjs-backend-cpu's order of equal infinities is not by index (∞ - ∞ is NaN).
      const x = tf.concat([rand([2, 24], 'float32', 3), tf.tensor2d([[Infinity, -Infinity], [-Infinity, Infinity]]),
                           rand([2, 24], 'float32', 4)], 1).mul(2);
      const {values, indices} = tf.topk(x, 12);
      return [values, indices];
    }, 0);
  });
  it('leaks nothing (chunked passes)', async () => {
    await expectNoLeak(() => {
      const {values, indices} = tf.topk(rand([2, 3000]), 9);
      return [values, indices];
    });
  });
  it('throws on k larger than the last dimension, then works', async () => {
    await expectThrowsThenWorks(() => run('TopK', {x: rand([2, 3])}, {k: 4, sorted: true}),
                                /TopK: k must be an integer in \[0, 3\]/);
  });
});

describeLazyAndEager('FFT and IFFT', () => {
  // Power-of-two and other lengths (tfjs-backend-cpu uses radix 2 or a direct DFT; we always do the DFT).
  for (const shape of [[8], [5], [3, 16], [2, 3, 7], [1, 1], [2, 100], [1, 256]]) {
    it(`[${shape}]`, async () => {
      const n = tf.util.sizeFromShape(shape);
      const c = () => tf.complex(tf.tensor(randomValues(n, 2), shape), tf.tensor(randomValues(n, 3), shape));
      const tol = 2e-5 * Math.sqrt(shape[shape.length - 1]);
      await expectMatchesCpu(() => [tf.spectral.fft(c()), tf.spectral.ifft(c()), tf.spectral.ifft(tf.spectral.fft(c()))], tol);
    });
  }
  it('rfft and irfft, of a computed tensor', async () => {
    await expectMatchesCpu(() => {
      const x = tf.mul(rand([3, 12]), 0.5);
      return [tf.spectral.rfft(x), tf.spectral.irfft(tf.spectral.rfft(x))];
    }, 1e-4);
  });
  it('throws on a real input, then works', async () => {
    await expectThrowsThenWorks(() => run('FFT', {input: rand([4])}), /FFT: input 'input' must be complex64, got dtype float32/);
  });
});

describeLazyAndEager('Einsum and SearchSorted', () => {
  const cases: Array<[string, number[][]]> = [
    ['ij,jk->ik', [[3, 4], [4, 5]]], ['i,i->', [[7], [7]]], ['ij->ji', [[3, 5]]], ['bij,bjk->bik', [[2, 3, 4], [2, 4, 3]]],
    ['ij,j->i', [[4, 6], [6]]], ['ij,ij->ij', [[3, 3], [3, 3]]], ['i,j->ij', [[3], [4]]], ['ijk->ki', [[2, 3, 4]]], ['ijk,k->ij', [[2, 3, 5], [5]]],
  ];
  for (const [equation, shapes] of cases) {
    it(`einsum '${equation}'`, async () => {
      await expectMatchesCpu(() => tf.einsum(equation, ...shapes.map((s, i) => rand(s, 'float32', i + 2))), 1e-4);
    });
  }
  it('einsum of int32, and leaks nothing', async () => {
    await expectMatchesCpu(() => tf.einsum('ij,jk->ik', rand([3, 4], 'int32', 2), rand([4, 2], 'int32', 3)), 0);
    await expectNoLeak(() => tf.einsum('bij,bjk->bik', rand([2, 3, 4]), rand([2, 4, 3])));
  });
  for (const side of ['left', 'right'] as const) {
    it(`searchSorted side ${side}: float32 with ties, int32, batched`, async () => {
      await expectMatchesCpu(() => {
        const seq = tf.tensor2d([[0, 1, 1, 1, 3, 5, 5, 9], [-4, -2, 0, 0, 0, 1, 7, 8]]);
        const values = tf.tensor2d([[1, 0, -1, 10, 4, 5], [0, 7.5, -4, 8, 8.5, -9]]);
        return [tf.searchSorted(seq, values, side), tf.searchSorted(tf.cast(seq, 'int32'), tf.cast(values, 'int32'), side),
                tf.searchSorted(tf.tensor1d([1, 2, 3]), rand([11], 'float32', 2, 0, 4), side)];
      }, 0);
    });
  }
});

describeLazyAndEager('SparseToDense, SparseSegmentSum and SparseSegmentMean, Unique, Multinomial', () => {
  it('sparseToDense: vectors, matrices, scalar values, repeated indices (the last wins), dtypes', async () => {
    await expectMatchesCpu(() => [
      tf.sparseToDense(tf.tensor1d([4, 1, 7, 1], 'int32'), rand([4], 'float32', 2), [9], tf.scalar(-1.5)),
      tf.sparseToDense(tf.tensor2d([[0, 1], [2, 2], [3, 0], [0, 1]], [4, 2], 'int32'), rand([4], 'int32', 3), [4, 3], tf.scalar(7, 'int32')),
      tf.sparseToDense(tf.tensor1d([0, 5, 2], 'int32'), tf.scalar(3.25), [6], tf.scalar(0.5)),
      tf.sparseToDense(tf.tensor1d([1, 3], 'int32'), tf.tensor1d([true, false], 'bool'), [5], tf.scalar(true, 'bool')),
      tf.sparseToDense(tf.tensor1d([2, 0], 'int32'), tf.tensor1d(['a', 'b'], 'string'), [4], tf.scalar('z')),
    ], 0);
  });
  it('sparseToDense throws on an index outside the output, then works', async () => {
    await expectThrowsThenWorks(() => tf.sparseToDense(tf.tensor1d([1, 9], 'int32'), tf.tensor1d([1, 2]), [5], tf.scalar(0)),
                                /SparseToDense: invalid indices: \[9\]/);
  });
  for (const kernel of ['sparseSegmentSum', 'sparseSegmentMean'] as const) {
    it(`${kernel}: rows of 1, 3 and 5 values, gaps in the segment ids, int32`, async () => {
      await expectMatchesCpu(() => [1, 3, 5].flatMap(w => [
        tf.sparse[kernel](rand([6, w], 'float32', w), tf.tensor1d([0, 5, 2, 2, 1, 4, 3], 'int32'), tf.tensor1d([0, 0, 1, 3, 3, 3, 6], 'int32')),
        tf.sparse[kernel](rand([4, w], 'int32', w + 1, -50, 50), tf.tensor1d([3, 1, 0], 'int32'), tf.tensor1d([1, 1, 2], 'int32')),
      ]), 1e-5);
    });
    it(`${kernel} throws tfjs-backend-cpu's errors, then works`, async () => {
      await expectThrowsThenWorks(() => tf.sparse[kernel](rand([4, 2]), tf.tensor1d([0, 4], 'int32'), tf.tensor1d([0, 1], 'int32')),
                                  /indices\[1\] == 4 out of range \[0, 4\)/);
      await expectThrowsThenWorks(() => tf.sparse[kernel](rand([4, 2]), tf.tensor1d([0, 1, 2], 'int32'), tf.tensor1d([1, 0, 2], 'int32')),
                                  'segment ids are not increasing');
    });
  }
  it('unique: 1-D float32 with NaN, int32, bool, string; along an axis', async () => {
    await expectMatchesCpu(() => {
      const a = tf.unique(tf.tensor1d([3, 1, NaN, 3, 2, NaN, 1, -0.5]));
      const b = tf.unique(rand([20], 'int32', 2, 0, 5));
      const c = tf.unique(rand([9], 'bool', 3));
      const d = tf.unique(tf.tensor1d(['x', 'y', 'x', 'zz', 'y'], 'string'));
      const e = tf.unique(tf.tensor2d([[1, 2, 1, 2], [3, 4, 3, 5]]), 1);
      const f = tf.unique(tf.tensor3d([1, 2, 1, 2, 1, 2, 3, 4], [2, 2, 2], 'int32'), 0);
      return [a.values, a.indices, b.values, b.indices, c.values, c.indices, d.values, d.indices, e.values, e.indices, f.values, f.indices];
    }, 0);
  });
  it('multinomial: the same seed gives the same samples; frequencies follow the probabilities', async () => {
    await tf.setBackend('mpsgpu');
    const logits = tf.log(tf.tensor2d([[0.1, 0.2, 0.7], [0.5, 0.5, 0], [0, 0, 1]]));
    const a = await tf.multinomial(logits as tf.Tensor2D, 4000, 7).data();
    const b = await tf.multinomial(logits as tf.Tensor2D, 4000, 7).data();
    const c = await tf.multinomial(tf.tensor2d([[0.1, 0.2, 0.7]]), 4000, 0.25, true).data();
    expect(Array.from(a)).toEqual(Array.from(b));
    const freq = (values: ArrayLike<number>, row: number, k: number) =>
      Array.from(values).slice(row * 4000, (row + 1) * 4000).filter(v => v === k).length / 4000;
    expectClose([0, 1, 2].map(k => freq(a, 0, k)), [0.1, 0.2, 0.7], 0.03);
    expectClose([0, 1, 2].map(k => freq(a, 1, k)), [0.5, 0.5, 0], 0.03);
    expectClose([0, 1, 2].map(k => freq(a, 2, k)), [0, 0, 1], 0);
    expectClose([0, 1, 2].map(k => freq(c, 0, k)), [0.1, 0.2, 0.7], 0.03);
    logits.dispose();
  });
});

describeLazyAndEager('Draw (tf.browser.draw)', () => {
  // Node has no canvas: there the kernel says it needs a browser.
  const inBrowser = typeof document !== 'undefined';
  it('draws a computed float32 RGB image and an int32 grayscale one into a 2d canvas', async () => {
    await tf.setBackend('mpsgpu');
    if (!inBrowser) {
      await expectThrowsThenWorks(() => tf.browser.draw(tf.zeros([2, 2, 3]) as tf.Tensor3D, {} as HTMLCanvasElement), /Draw: needs a browser/);
      return;
    }
    const before = tf.memory().numTensors;
    const values = randomValues(5 * 3 * 3, 4, 0, 1);
    const canvas = document.createElement('canvas');
    // A computed image: its values are still on the GPU (lazy: not even computed) when drawn.
    const rgb = tf.tidy(() => tf.mul(tf.tensor3d(values, [5, 3, 3]), tf.scalar(1)) as tf.Tensor3D);
    tf.browser.draw(rgb, canvas);
    expect([canvas.width, canvas.height]).toEqual([3, 5]);
    const expected = new Uint8ClampedArray(5 * 3 * 4).map((_, i) => (i % 4 === 3 ? 255 : Math.round(values[(i >> 2) * 3 + (i % 4)] * 255)));
    expectClose(canvas.getContext('2d')!.getImageData(0, 0, 3, 5).data, expected, 0, 'rgb');
    const gray = tf.tidy(() => tf.add(tf.tensor2d([0, 17, 255, 100, 3, 42], [2, 3], 'int32'), tf.scalar(0, 'int32')) as tf.Tensor2D);
    tf.browser.draw(gray, canvas, {contextOptions: {contextType: '2d'}});
    const g = [0, 17, 255, 100, 3, 42];
    expectClose(canvas.getContext('2d')!.getImageData(0, 0, 3, 2).data, g.flatMap(v => [v, v, v, 255]), 0, 'gray');
    tf.dispose([rgb, gray]);
    expect(tf.memory().numTensors).toBe(before);
  });
  it('throws on values out of range and on other context types, then works', async () => {
    if (!inBrowser) return;
    const canvas = document.createElement('canvas');
    await expectThrowsThenWorks(() => tf.browser.draw(tf.tensor3d([0.5, 2, 0], [1, 1, 3]), canvas),
                                /Tensor values for a float32 Tensor must be in the range \[0 - 1\] but encountered 2/);
    await expectThrowsThenWorks(() => tf.browser.draw(tf.tensor2d([300], [1, 1], 'int32'), canvas),
                                /int32 Tensor must be in the range \[0 - 255\] but encountered 300/);
    await expectThrowsThenWorks(() => tf.browser.draw(tf.tensor2d([1], [1, 1], 'int32'), canvas, {contextOptions: {contextType: 'webgl'}}),
                                /Draw: context type webgl is not supported by mpsgpu/);
  });
});
