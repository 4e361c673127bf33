// Softmax's program choices (kernels/Softmax.ts), each against tfjs-backend-cpu: one invocation
// per row (rows of up to 32 elements; on a CPU adapter also up to 64 rows of up to 1024) and one
// workgroup per row (vec4 where the row length is a multiple of 4, scalar otherwise), with
// NaN, infinities and large logits in both.
import * as tf from '@tensorflow/tfjs-core';

import {describeLazyAndEager, expectMatchesCpu, randomValues} from './util.js';

describeLazyAndEager('Softmax: row per invocation and workgroup per row', () => {
  const shapes = [
    [8, 1000],    // the kernel benchmark's logits: a row per invocation on a CPU adapter
    [64, 1024],   // the largest such
    [1, 3, 999],  // odd length
    [65, 1000],   // more rows: a workgroup per row, vec4
    [8, 1025],    // longer rows: a workgroup per row, scalar
    [70, 333],    // scalar, many rows
  ];
  for (const shape of shapes) {
    it(`[${shape}]: random logits, then NaN, ±inf and large values in some rows`, async () => {
      const n = tf.util.sizeFromShape(shape), cols = shape[shape.length - 1];
      const v = randomValues(n, 61, -8, 8);
      const special = Float32Array.from(v);
      special[3] = NaN;                                   // row 0: NaN
      special[cols + 1] = Infinity;                       // row 1: +inf (NaN row, as the CPU)
      if (n > 2 * cols) special[2 * cols + 5] = -Infinity;  // row 2: -inf (a zero)
      for (let i = 3 * cols; i < Math.min(n, 4 * cols); ++i) special[i] = 1000 + (i % 7);  // row 3: large, stable
      await expectMatchesCpu(() => [tf.softmax(tf.tensor(v, shape)), tf.softmax(tf.tensor(special, shape))], 1e-5);
    });
  }
});
