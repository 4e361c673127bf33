// Specs for the kernels computed on the CPU from GPU values (kernels/cpu_kernels.ts): non-max
// suppression, sparse, string and ragged kernels. Numeric inputs come out of GPU ops (x.add(0)) so
// that the kernels read pending GPU work; outputs feed GPU ops so that the uploads are exercised.
// Errors must be tfjs-backend-cpu's own, and leave the backend working.
import * as tf from '@tensorflow/tfjs-core';

import {describeLazyAndEager, expectClose, expectMatchesCpu, randomInts, randomValues} from './util.js';

/** A GPU-computed copy of `values` (pending work in lazy mode). */
function gpu(values: number[]|Float32Array|Int32Array, shape: number[], dtype: 'float32'|'int32' = 'float32'): tf.Tensor {
  return tf.tensor(values, shape, dtype).add(tf.scalar(0, dtype));
}

function numDataIds(): number {
  return tf.engine().findBackend('mpsgpu')!.numDataIds();
}

/** `fn` throws on mpsgpu exactly what it throws on cpu, leaks nothing, and a following op works. */
async function expectCpuError(fn: () => unknown) {
  await tf.setBackend('cpu');
  let cpuMessage: string|undefined;
  try {
    tf.tidy(() => { fn(); });
  } catch (e) {
    cpuMessage = (e as Error).message;
  }
  expect(cpuMessage).toBeDefined('the CPU backend throws');
  await tf.setBackend('mpsgpu');
  const before = numDataIds();
  expect(() => tf.tidy(() => { fn(); })).toThrowError(cpuMessage!);
  expect(numDataIds()).toBe(before);
  const after = tf.tidy(() => tf.tensor1d([1, 2, 3]).add(1).mul(2));
  expectClose(await after.data() as Float32Array, [4, 6, 8], 0, 'the op after the error');
  after.dispose();
}

/** Random boxes [n, 4] (some with flipped corners) and scores [n], both computed on the GPU. */
function boxesAndScores(n: number, seed: number) {
  const corners = randomValues(n * 4, seed, 0, 10);
  const sizes = randomValues(n * 2, seed + 1, -3, 4);
  const boxes = new Float32Array(n * 4);
  for (let i = 0; i < n; ++i) {
    boxes[i * 4] = corners[i * 4];
    boxes[i * 4 + 1] = corners[i * 4 + 1];
    boxes[i * 4 + 2] = corners[i * 4] + sizes[i * 2];
    boxes[i * 4 + 3] = corners[i * 4 + 1] + sizes[i * 2 + 1];
  }
  const scores = randomValues(n, seed + 2, 0, 1);
  if (n > 3) scores[3] = scores[1];  // a tie
  return {boxes: gpu(boxes, [n, 4]), scores: gpu(scores, [n])};
}

describeLazyAndEager('NonMaxSuppression', () => {
  const cases: Array<[number, number, number, number]> = [
    // n, maxOutputSize, iouThreshold, scoreThreshold
    [1, 1, 0.5, -Infinity], [7, 3, 0.5, -Infinity], [20, 20, 0.3, 0.2], [33, 10, 0.7, 0.5], [50, 50, 0, -Infinity],
    [50, 5, 1, 0.9], [8, 0, 0.5, -Infinity], [0, 5, 0.5, -Infinity],
  ];
  for (const [n, maxOut, iou, score] of cases) {
    it(`V3: ${n} boxes, max ${maxOut}, iou ${iou}, score ${score}`, async () => {
      await expectMatchesCpu(() => {
        const {boxes, scores} = boxesAndScores(n, n + 3);
        const selected = tf.image.nonMaxSuppression(boxes as tf.Tensor2D, scores as tf.Tensor1D, maxOut, iou, score);
        // The selection feeds GPU ops.
        return [selected, tf.gather(boxes, selected).mul(2)];
      }, 0);
    });
    for (const pad of [false, true]) {
      it(`V4 (padded ${pad}): ${n} boxes, max ${maxOut}, iou ${iou}, score ${score}`, async () => {
        await expectMatchesCpu(() => {
          const {boxes, scores} = boxesAndScores(n, n + 5);
          const {selectedIndices, validOutputs} = tf.image.nonMaxSuppressionPadded(
              boxes as tf.Tensor2D, scores as tf.Tensor1D, maxOut, iou, score, pad);
          return [selectedIndices, validOutputs, validOutputs.add(1)];
        }, 0);
      });
    }
    for (const sigma of [0, 0.5]) {
      it(`V5 (softNmsSigma ${sigma}): ${n} boxes, max ${maxOut}, iou ${iou}, score ${score}`, async () => {
        await expectMatchesCpu(() => {
          const {boxes, scores} = boxesAndScores(n, n + 7);
          const {selectedIndices, selectedScores} = tf.image.nonMaxSuppressionWithScore(
              boxes as tf.Tensor2D, scores as tf.Tensor1D, maxOut, iou, score, sigma);
          return [selectedIndices, selectedScores, selectedScores.mul(3)];
        }, 1e-6);
      });
    }
  }
  it('the async ops on GPU inputs', async () => {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const {boxes, scores} = boxesAndScores(25, 11);
      const a = await tf.image.nonMaxSuppressionAsync(boxes as tf.Tensor2D, scores as tf.Tensor1D, 10, 0.4);
      const b = await tf.image.nonMaxSuppressionWithScoreAsync(boxes as tf.Tensor2D, scores as tf.Tensor1D, 10, 0.4, 0, 0.3);
      const out = [await a.data(), await b.selectedIndices.data(), await b.selectedScores.data()];
      tf.dispose([boxes, scores, a, b.selectedIndices, b.selectedScores]);
      return out;
    };
    const cpu = await run('cpu');
    const gpuOut = await run('mpsgpu');
    cpu.forEach((c, i) => expectClose(gpuOut[i] as Float32Array, c as Float32Array, 1e-6, `output ${i}`));
  });
  it('leaks nothing', async () => {
    await tf.setBackend('mpsgpu');
    const before = numDataIds();
    const out = tf.tidy(() => {
      const {boxes, scores} = boxesAndScores(12, 2);
      return tf.image.nonMaxSuppressionPadded(boxes as tf.Tensor2D, scores as tf.Tensor1D, 6, 0.5, 0.1, true);
    });
    await out.selectedIndices.data();
    tf.dispose([out.selectedIndices, out.validOutputs]);
    expect(numDataIds()).toBe(before);
  });
  it('complex64 boxes: the CPU backend\'s refusal', async () => {
    await tf.setBackend('mpsgpu');
    const boxes = tf.complex(tf.zeros([2, 4]), tf.zeros([2, 4]));
    const scores = tf.ones([2]);
    expect(() => tf.engine().runKernel('NonMaxSuppressionV3', {boxes, scores},
                                       {maxOutputSize: 1, iouThreshold: 0.5, scoreThreshold: 0}))
        .toThrowError(/NonMaxSuppression does not support complex64 tensors/);
    tf.dispose([boxes, scores]);
    expectClose(await tf.tensor1d([1]).add(1).data() as Float32Array, [2], 0);
  });
});

describeLazyAndEager('SparseFillEmptyRows', () => {
  const indices = [0, 0, 1, 0, 1, 3, 1, 4, 3, 2, 3, 3];
  for (const dtype of ['float32', 'int32'] as const) {
    it(`some empty rows (${dtype} values)`, async () => {
      await expectMatchesCpu(() => {
        const r = tf.sparse.sparseFillEmptyRows(gpu(indices, [6, 2], 'int32') as tf.Tensor2D,
                                                gpu([0, 10, 13, 14, 32, 33], [6], dtype) as tf.Tensor1D,
                                                gpu([5, 6], [2], 'int32') as tf.Tensor1D, tf.scalar(-1, dtype).add(tf.scalar(0, dtype)) as tf.Scalar);
        const list = [r.outputIndices, r.outputValues, r.emptyRowIndicator, r.reverseIndexMap];
        return [...list, r.outputValues.add(tf.scalar(1, dtype)), tf.cast(r.emptyRowIndicator, 'int32').mul(2)];
      }, 0);
    });
  }
  it('no rows empty, unsorted indices', async () => {
    await expectMatchesCpu(() => {
      const r = tf.sparse.sparseFillEmptyRows(gpu([1, 1, 0, 2, 2, 0, 0, 1], [4, 2], 'int32') as tf.Tensor2D,
                                              gpu([1, 2, 3, 4], [4]) as tf.Tensor1D, gpu([3, 4], [2], 'int32') as tf.Tensor1D, 7);
      return [r.outputIndices, r.outputValues, r.emptyRowIndicator, r.reverseIndexMap];
    }, 0);
  });
  it('all rows empty (no indices)', async () => {
    await expectMatchesCpu(() => {
      const r = tf.sparse.sparseFillEmptyRows(tf.zeros([0, 2], 'int32') as tf.Tensor2D, tf.zeros([0]) as tf.Tensor1D,
                                              gpu([4, 3], [2], 'int32') as tf.Tensor1D, 2.5);
      return [r.outputIndices, r.outputValues, r.emptyRowIndicator, r.reverseIndexMap];
    }, 0);
  });
  it('error: an index out of bounds', async () => {
    await expectCpuError(() => tf.sparse.sparseFillEmptyRows(gpu([0, 0, 9, 1], [2, 2], 'int32') as tf.Tensor2D,
                                                            gpu([1, 2], [2]) as tf.Tensor1D, gpu([5, 6], [2], 'int32') as tf.Tensor1D, 0));
  });
  it('error: a negative index', async () => {
    await expectCpuError(() => tf.sparse.sparseFillEmptyRows(gpu([0, 0, -1, 1], [2, 2], 'int32') as tf.Tensor2D,
                                                            gpu([1, 2], [2]) as tf.Tensor1D, gpu([5, 6], [2], 'int32') as tf.Tensor1D, 0));
  });
  it('error: empty dense shape with indices', async () => {
    await expectCpuError(() => tf.sparse.sparseFillEmptyRows(gpu([0, 0], [1, 2], 'int32') as tf.Tensor2D,
                                                            gpu([1], [1]) as tf.Tensor1D, gpu([0, 6], [2], 'int32') as tf.Tensor1D, 0));
  });
  it('errors of the kernel\'s own checks (ranks)', async () => {
    const run = (inputs: tf.NamedTensorMap) => () => tf.engine().runKernel('SparseFillEmptyRows', inputs, {});
    const ok = () => ({indices: tf.tensor2d([0, 0], [1, 2], 'int32'), values: tf.tensor1d([1]), denseShape: tf.tensor1d([2, 2], 'int32'),
                       defaultValue: tf.scalar(0)});
    await expectCpuError(() => run({...ok(), denseShape: tf.scalar(2, 'int32')})());
    await expectCpuError(() => run({...ok(), indices: tf.tensor1d([0, 0], 'int32')})());
    await expectCpuError(() => run({...ok(), values: tf.tensor2d([1], [1, 1])})());
    await expectCpuError(() => run({...ok(), defaultValue: tf.tensor1d([0])})());
  });
});

describeLazyAndEager('SparseReshape', () => {
  const indices = [0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 2, 3];
  const cases: Array<[number[], number[]]> = [[[2, 3, 6], [9, -1]], [[2, 3, 6], [-1, 2, 3, 3]], [[2, 3, 6], [36]], [[2, 3, 6], [2, 3, 6]]];
  for (const [inShape, newShape] of cases) {
    it(`[${inShape}] to [${newShape}]`, async () => {
      await expectMatchesCpu(() => {
        const r = tf.sparse.sparseReshape(gpu(indices, [5, 3], 'int32') as tf.Tensor2D, gpu(inShape, [3], 'int32') as tf.Tensor1D,
                                          gpu(newShape, [newShape.length], 'int32') as tf.Tensor1D);
        return [r.outputIndices, r.outputShape, r.outputIndices.add(1)];
      }, 0);
    });
  }
  it('no indices', async () => {
    await expectMatchesCpu(() => {
      const r = tf.sparse.sparseReshape(tf.zeros([0, 2], 'int32') as tf.Tensor2D, gpu([4, 6], [2], 'int32') as tf.Tensor1D,
                                        gpu([-1, 3], [2], 'int32') as tf.Tensor1D);
      return [r.outputIndices, r.outputShape];
    }, 0);
  });
  const errors: Array<[string, number[], number[]]> = [
    ['two -1', [2, 3, 6], [-1, -1]], ['a negative size', [2, 3, 6], [-2, 18]], ['not a multiple', [2, 3, 6], [-1, 5]],
    ['a size mismatch', [2, 3, 6], [3, 5]], ['-1 with a zero size', [0, 3], [-1, 0]],
  ];
  for (const [what, inShape, newShape] of errors) {
    it(`error: ${what}`, async () => {
      await expectCpuError(() => tf.sparse.sparseReshape(gpu([0, 0, 0], [1, 3], 'int32').slice([0, 0], [1, inShape.length]) as tf.Tensor2D,
                                                         gpu(inShape, [inShape.length], 'int32') as tf.Tensor1D,
                                                         gpu(newShape, [newShape.length], 'int32') as tf.Tensor1D));
    });
  }
  it('errors of the kernel\'s own checks (ranks)', async () => {
    const run = (inputs: tf.NamedTensorMap) => () => tf.engine().runKernel('SparseReshape', inputs, {});
    const ok = () => ({inputIndices: tf.tensor2d([0, 0], [1, 2], 'int32'), inputShape: tf.tensor1d([2, 2], 'int32'),
                       newShape: tf.tensor1d([4], 'int32')});
    await expectCpuError(() => run({...ok(), inputIndices: tf.tensor1d([0, 0], 'int32')})());
    await expectCpuError(() => run({...ok(), inputShape: tf.scalar(4, 'int32')})());
    await expectCpuError(() => run({...ok(), newShape: tf.scalar(4, 'int32')})());
  });
});

describeLazyAndEager('StringNGrams', () => {
  const words = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'hh', 'ii'];
  const variants: Array<[string, number[], string, string, number, boolean]> = [
    ['|', [1], 'LP', 'RP', -1, false], ['|', [2, 3], 'LP', 'RP', -1, false], [' ', [3], 'L', 'R', 1, false],
    ['+', [2, 4], '', '', 0, false], ['-', [5], 'LP', 'RP', 0, true], ['', [1, 2, 3], 'x', 'y', 2, true],
    ['|', [4], 'LP', 'RP', 0, false],
  ];
  for (const [sep, widths, left, right, padWidth, preserve] of variants) {
    it(`separator '${sep}', widths [${widths}], pad ${padWidth}, preserve ${preserve}`, async () => {
      await expectMatchesCpu(() => {
        const r = tf.string.stringNGrams(tf.tensor1d(words, 'string'), gpu([0, 4, 4, 6, 9], [5], 'int32'), sep, widths, left, right,
                                         padWidth, preserve);
        return [r.nGrams, r.nGramsSplits, r.nGramsSplits.mul(2)];
      }, 0);
    });
  }
  it('error: splits past the data', async () => {
    await expectCpuError(() => tf.string.stringNGrams(tf.tensor1d(words, 'string'), gpu([0, 4, 12], [3], 'int32'), '|', [2], '', '', 0,
                                                      false));
  });
  it('error: splits not starting at 0', async () => {
    await expectCpuError(() => tf.string.stringNGrams(tf.tensor1d(words, 'string'), gpu([1, 4, 9], [3], 'int32'), '|', [2], '', '', 0,
                                                      false));
  });
});

describeLazyAndEager('StringSplit', () => {
  const input = ['hello world', ' a  b ', '', 'one', 'x,y,,z'];
  for (const [delimiter, skipEmpty] of [[' ', true], [' ', false], [',', true], [',', false], ['', true], [' ,', false]] as Array<[string, boolean]>) {
    it(`delimiter '${delimiter}', skipEmpty ${skipEmpty}`, async () => {
      await expectMatchesCpu(() => {
        const r = tf.string.stringSplit(tf.tensor1d(input, 'string'), tf.scalar(delimiter), skipEmpty);
        return [r.indices, r.values, r.shape, r.indices.add(1), r.shape.mul(2)];
      }, 0);
    });
  }
  it('an empty input', async () => {
    await expectMatchesCpu(() => {
      const r = tf.string.stringSplit(tf.tensor1d([], 'string'), tf.scalar(' '));
      return [r.indices, r.values, r.shape];
    }, 0);
  });
  it('errors of the kernel\'s own checks', async () => {
    const run = (inputs: tf.NamedTensorMap) => () => tf.engine().runKernel('StringSplit', inputs, {skipEmpty: true});
    await expectCpuError(() => run({input: tf.tensor2d([['a']], [1, 1], 'string'), delimiter: tf.scalar(' ')})());
    await expectCpuError(() => run({input: tf.tensor1d(['a'], 'string'), delimiter: tf.tensor1d([' '], 'string')})());
    await expectCpuError(() => run({input: tf.tensor1d([1]), delimiter: tf.scalar(' ')})());
  });
});

describeLazyAndEager('StringToHashBucketFast', () => {
  const input = ['', 'a', 'b', 'hello', 'world', 'a somewhat longer string, with punctuation!', 'ünïcödé', 'a'];
  for (const buckets of [1, 3, 10, 1000, 2 ** 31 - 1]) {
    it(`${buckets} buckets`, async () => {
      await expectMatchesCpu(() => {
        const hashes = tf.string.stringToHashBucketFast(tf.tensor2d(input, [2, 4], 'string'), buckets);
        return [hashes, hashes.add(1)];
      }, 0);
    });
  }
  it('errors of the kernel\'s own checks', async () => {
    const run = (inputs: tf.NamedTensorMap, numBuckets: number) => () =>
        tf.engine().runKernel('StringToHashBucketFast', inputs, {numBuckets});
    await expectCpuError(() => run({input: tf.tensor1d(['a'], 'string')}, 0)());
    await expectCpuError(() => run({input: tf.tensor1d([1])}, 3)());
  });
});

describeLazyAndEager('StaticRegexReplace', () => {
  const input = ['hello world', 'aaa', '', 'a.b.c', 'tensor flow'];
  const cases: Array<[string, string, boolean]> = [
    ['o', '0', true], ['o', '0', false], ['a+', 'X', true], ['\\.', '/', true], ['(\\w+) (\\w+)', '$2 $1', true], ['^', '>', true],
  ];
  for (const [pattern, rewrite, global] of cases) {
    it(`/${pattern}/ -> '${rewrite}', global ${global}`, async () => {
      await expectMatchesCpu(() => tf.string.staticRegexReplace(tf.tensor1d(input, 'string'), pattern, rewrite, global), 0);
    });
  }
  it('a rank-2 input', async () => {
    await expectMatchesCpu(() => tf.string.staticRegexReplace(tf.tensor2d(input.slice(0, 4), [2, 2], 'string'), 'l', 'L'), 0);
  });
});

describeLazyAndEager('RaggedGather', () => {
  const run = (indicesShape: number[], indices: number[], splits: number[][], valuesShape: number[], values: number[], rank?: number) =>
      () => {
        const r = tf.raggedGather(splits.map(s => gpu(s, [s.length], 'int32')), gpu(values, valuesShape),
                                  gpu(indices, indicesShape, 'int32'), rank ?? splits.length + indicesShape.length - 1);
        return [...r.outputNestedSplits, r.outputDenseValues, r.outputDenseValues.mul(2)];
      };
  const v9 = [.1, .2, .3, .4, .5, .6, .7, .8, .9];
  it('1-D indices', async () => expectMatchesCpu(run([4], [2, 1, 0, 3], [[0, 3, 3, 7, 9]], [9], v9), 0));
  it('3-D params', async () => {
    await expectMatchesCpu(run([5], [2, 1, 0, 2, 3], [[0, 1, 3, 3, 5, 6], [0, 0, 2, 3, 5, 8, 9]], [9], v9), 0);
  });
  it('4-D params', async () => expectMatchesCpu(run([4], [2, 1, 0, 2], [[0, 1, 3, 3], [0, 0, 3, 4]], [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]), 0));
  it('2-D indices', async () => expectMatchesCpu(run([2, 2], [2, 1, 0, 3], [[0, 3, 3, 7, 9]], [9], v9), 0));
  it('scalar indices', async () => expectMatchesCpu(run([], [2], [[0, 3, 3, 7, 9]], [9], v9), 0));
  it('random rows', async () => {
    const lengths = randomInts(12, 4, 0, 5);
    const splits = [0];
    for (const l of lengths) splits.push(splits[splits.length - 1] + l);
    const n = splits[splits.length - 1];
    const indices = Array.from(randomInts(20, 5, 0, 11));
    await expectMatchesCpu(run([4, 5], indices, [splits], [n, 3], Array.from(randomValues(n * 3, 6))), 0);
  });
  const errors: Array<[string, number[], number[], number[][], number[], number[]]> = [
    ['an index out of bounds', [2], [2, 10], [[0, 3, 3, 7, 9]], [9], v9],
    ['splits not sorted', [2], [0, 2], [[0, 3, 5, 2, 9]], [9], v9],
    ['negative splits', [2], [0, 2], [[-1, 3, 2, 7, 9]], [9], v9],
    ['splits past the values', [2], [0, 2], [[0, 20, 40, 80, 100]], [9], v9],
  ];
  for (const [what, indicesShape, indices, splits, valuesShape, values] of errors) {
    it(`error: ${what}`, async () => expectCpuError(run(indicesShape, indices, splits, valuesShape, values)));
  }
});

describeLazyAndEager('RaggedRange', () => {
  const cases: Array<[string, number[]|number, number[]|number, number[]|number, 'float32'|'int32']> = [
    ['int32', [0, 5, 8, 5], [8, 7, 8, 1], [2, 1, 1, -1], 'int32'],
    ['float32', [0.5, 5.25, -1], [8, 7, 3.5], [0.75, 0.5, 1.5], 'float32'],
    ['broadcast scalars', [0, 5, 8], 10, 3, 'int32'],
    ['scalar start', 2, [5, 9, 1], [1, 2, 1], 'float32'],
    ['all scalars', 0, 7, 2, 'int32'],
    ['empty rows', [5, 3], [1, 3], [1, 1], 'int32'],
  ];
  for (const [what, starts, limits, deltas, dtype] of cases) {
    it(what, async () => {
      await expectMatchesCpu(() => {
        const t = (v: number[]|number) => Array.isArray(v) ? gpu(v, [v.length], dtype) : tf.scalar(v, dtype).add(tf.scalar(0, dtype));
        const r = tf.raggedRange(t(starts), t(limits), t(deltas));
        return [r.rtNestedSplits, r.rtDenseValues, r.rtDenseValues.add(tf.scalar(1, dtype))];
      }, 0);
    });
  }
  it('error: a zero delta', async () => {
    await expectCpuError(() => tf.raggedRange(gpu([0, 1], [2], 'int32'), gpu([4, 5], [2], 'int32'), gpu([1, 0], [2], 'int32')));
  });
  it('error: mismatched sizes', async () => {
    await expectCpuError(() => tf.raggedRange(gpu([0, 1], [2], 'int32'), gpu([4, 5, 6], [3], 'int32'), tf.scalar(1, 'int32')));
  });
});

describeLazyAndEager('RaggedTensorToTensor', () => {
  const values = [.1, .2, .3, .4, .5, .6, .7, .8, .9];
  const run = (shape: number[], vals: number[], valuesShape: number[], defaultValue: number, partitions: Array<number[]|number>,
               types: string[], dtype: 'float32'|'int32' = 'float32') => () => {
    const parts = partitions.map(p => Array.isArray(p) ? gpu(p, [p.length], 'int32') : tf.scalar(p, 'int32').add(tf.scalar(0, 'int32')));
    const out = tf.raggedTensorToTensor(gpu(shape, [shape.length], 'int32'), gpu(vals, valuesShape, dtype),
                                        tf.scalar(defaultValue, dtype).add(tf.scalar(0, dtype)), parts, types);
    return [out, out.add(tf.scalar(1, dtype))];
  };
  it('FIRST_DIM_SIZE + VALUE_ROWIDS', async () => {
    await expectMatchesCpu(run([4, 4], values, [9], 1.5, [4, [0, 0, 0, 2, 2, 2, 2, 3, 3]], ['FIRST_DIM_SIZE', 'VALUE_ROWIDS']), 0);
  });
  it('ROW_SPLITS', async () => {
    await expectMatchesCpu(run([4, 4], values, [9], 1.5, [[0, 3, 3, 7, 9]], ['ROW_SPLITS']), 0);
  });
  it('ROW_SPLITS truncated by the shape, int32', async () => {
    await expectMatchesCpu(run([3, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9], [9], -1, [[0, 3, 3, 7, 9]], ['ROW_SPLITS'], 'int32'), 0);
  });
  it('3-D, VALUE_ROWIDS', async () => {
    await expectMatchesCpu(run([5, 2, 3], values, [9], 1.5, [5, [0, 1, 1, 3, 3, 4], [1, 1, 2, 3, 3, 4, 4, 4, 5]],
                               ['FIRST_DIM_SIZE', 'VALUE_ROWIDS', 'VALUE_ROWIDS']), 0);
  });
  it('3-D, ROW_SPLITS', async () => {
    await expectMatchesCpu(run([5, 2, 3], values, [9], 1.5, [[0, 1, 3, 3, 5, 6], [0, 0, 2, 3, 5, 8, 9]], ['ROW_SPLITS', 'ROW_SPLITS']), 0);
  });
  it('2-D values (an inner dimension)', async () => {
    await expectMatchesCpu(run([3, 3, 2], [1, 2, 3, 4, 5, 6, 7, 8], [4, 2], 0, [[0, 1, 1, 4]], ['ROW_SPLITS']), 0);
  });
  it('error: an invalid partition type', async () => {
    await expectCpuError(run([4, 4], values, [9], 1.5, [[0, 3, 3, 7, 9]], ['NOT_A_TYPE']));
  });
  it('error: a value row id past the first dimension', async () => {
    await expectCpuError(run([4, 4], values, [9], 1.5, [4, [0, 0, 0, 2, 2, 2, 2, 3, 7]], ['FIRST_DIM_SIZE', 'VALUE_ROWIDS']));
  });
  it('error: VALUE_ROWIDS in the first dimension', async () => {
    await expectCpuError(run([4, 4], values, [9], 1.5, [[0, 0, 0, 2, 2, 2, 2, 3, 3]], ['VALUE_ROWIDS']));
  });
});

describeLazyAndEager('data-dependent ops that read GPU values', () => {
  const both = async (fn: () => Promise<tf.Tensor[]>) => {
    const out: Array<Array<{shape: number[]; dtype: string; values: ArrayLike<number>}>> = [];
    for (const backend of ['cpu', 'mpsgpu']) {
      await tf.setBackend(backend);
      const ts = await fn();
      out.push(await Promise.all(ts.map(async t => ({shape: t.shape, dtype: t.dtype as string, values: await t.data() as Float32Array}))));
      tf.dispose(ts);
    }
    const [cpu, mine] = out;
    expect(mine.length).toBe(cpu.length);
    cpu.forEach((c, i) => {
      expect(mine[i].shape).toEqual(c.shape);
      expect(mine[i].dtype).toBe(c.dtype);
      expectClose(mine[i].values, c.values, 0, `output ${i}`);
    });
  };
  it('whereAsync', async () => {
    await both(async () => {
      const x = gpu(randomValues(60, 3), [3, 4, 5]);
      const w = await tf.whereAsync(x.greater(0));
      x.dispose();
      return [w, w.add(1)];
    });
  });
  it('booleanMaskAsync', async () => {
    await both(async () => {
      const x = gpu(randomValues(24, 4), [4, 3, 2]);
      const mask = gpu([1, 0, 1, 1], [4], 'int32').cast('bool');
      const out = await tf.booleanMaskAsync(x, mask);
      tf.dispose([x, mask]);
      return [out, out.mul(2)];
    });
  });
  it('setdiff1dAsync', async () => {
    await both(async () => {
      const x = gpu(randomInts(30, 5, 0, 9), [30], 'int32');
      const y = gpu([1, 3, 5, 7], [4], 'int32');
      const [out, idx] = await tf.setdiff1dAsync(x, y);
      tf.dispose([x, y]);
      return [out, idx, out.add(idx)];
    });
  });
});
