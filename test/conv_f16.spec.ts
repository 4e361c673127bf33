// MPSGPU_CONV_F16: convolutions staged and accumulated in half precision, against a float64
// reference. Stated bound (the worst case of a K-term dot product rounded at unit roundoff
// u = 2^-11 per input conversion, product and addition, Higham's γ_{K+2}):
//   |y − y64| ≤ (K + 2) · 2^-11 · Σ|x|·|w|   over each output's K = fH·fW·inC terms.
// The measured worst ratio err / (2^-11 · Σ|x||w|) is printed, so the real margin is on record.
import * as tf from '@tensorflow/tfjs-core';

import {convF16Available} from '../kernels/conv_gemm.js';
import {mpsgpu} from '../src/index.js';

import {randomValues} from './util.js';

type Case = {x: [number, number, number, number]; f: [number, number, number, number]; strides: number; pad: 'same'|'valid'; transpose?: boolean};

/** float64 NHWC convolution and, per output, Σ|x||w| over its window. */
function reference(x: Float32Array, xs: number[], w: Float32Array, ws: number[], info: tf.backend_util.Conv2DInfo) {
  const [, inH, inW, inC] = xs;
  const [fH, fW, , outC] = ws;
  const out = new Float64Array(tf.util.sizeFromShape(info.outShape));
  const mag = new Float64Array(out.length);
  let o = 0;
  for (let b = 0; b < info.batchSize; b++) {
    for (let r = 0; r < info.outHeight; r++) {
      for (let c = 0; c < info.outWidth; c++) {
        for (let d2 = 0; d2 < outC; d2++, o++) {
          let sum = 0, abs = 0;
          for (let kr = 0; kr < fH; kr++) {
            const xr = r * info.strideHeight - info.padInfo.top + kr;
            if (xr < 0 || xr >= inH) continue;
            for (let kc = 0; kc < fW; kc++) {
              const xc = c * info.strideWidth - info.padInfo.left + kc;
              if (xc < 0 || xc >= inW) continue;
              for (let d1 = 0; d1 < inC; d1++) {
                const p = x[((b * inH + xr) * inW + xc) * inC + d1] * w[((kr * fW + kc) * inC + d1) * outC + d2];
                sum += p;
                abs += Math.abs(p);
              }
            }
          }
          out[o] = sum;
          mag[o] = abs;
        }
      }
    }
  }
  return {out, mag};
}

describe('MPSGPU_CONV_F16 (half-precision convolution)', () => {
  const CASES: Case[] = [
    {x: [2, 9, 8, 16], f: [3, 3, 16, 8], strides: 1, pad: 'same'},
    {x: [1, 12, 11, 5], f: [5, 5, 5, 12], strides: 2, pad: 'valid'},
    {x: [2, 8, 8, 32], f: [1, 1, 32, 16], strides: 1, pad: 'valid'},
  ];
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
  });
  afterEach(() => tf.env().set('MPSGPU_CONV_F16', false));

  for (const c of CASES) {
    it(`conv2d x [${c.x}] f [${c.f}] s ${c.strides} ${c.pad} within (K + 2)·2^-11·Σ|x||w|, and not the f32 result`, async () => {
      if (!convF16Available(mpsgpu.device())) {
        pending('MPSGPU_CONV_F16 has no effect on this adapter (no shader-f16, or SwiftShader)');
        return;
      }
      const xv = randomValues(tf.util.sizeFromShape(c.x), 3, -2, 2), wv = randomValues(tf.util.sizeFromShape(c.f), 4, -1, 1);
      const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.strides, 1, c.pad);
      const {out: ref, mag} = reference(xv, c.x, wv, c.f, info);
      const run = async (half: boolean) => {
        tf.env().set('MPSGPU_CONV_F16', half);
        const y = tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(wv, c.f), c.strides, c.pad);
        const v = await y.data();
        y.dispose();
        return v;
      };
      const f32 = await run(false), f16 = await run(true);
      const k = c.f[0] * c.f[1] * c.f[2];
      const u = 2 ** -11;
      let worst = 0, differs = 0;
      for (let i = 0; i < ref.length; i++) {
        const err = Math.abs(f16[i] - ref[i]);
        expect(err).toBeLessThanOrEqual((k + 2) * u * mag[i] + 1e-30);
        worst = Math.max(worst, err / (u * mag[i] || 1));
        if (f16[i] !== f32[i]) differs++;
      }
      // The half-precision path really ran: it rounds differently from the f32 one.
      expect(differs).toBeGreaterThan(0);
      console.log(`  MPSGPU_CONV_F16 K=${k}: worst |err| = ${worst.toFixed(2)} · 2^-11 · Σ|x||w| (bound ${k + 2})`);
    });
  }

  it('conv2dTranspose within the same bound (the flipped-filter forward GEMM)', async () => {
    if (!convF16Available(mpsgpu.device())) {
      pending('MPSGPU_CONV_F16 has no effect on this adapter (no shader-f16, or SwiftShader)');
      return;
    }
    // dx of a stride-1 'same' 3×3 conv = conv of dy with the flipped, transposed filter.
    const dyShape: [number, number, number, number] = [1, 7, 6, 8], wShape: [number, number, number, number] = [3, 3, 4, 8];
    const dyv = randomValues(tf.util.sizeFromShape(dyShape), 5), wv = randomValues(tf.util.sizeFromShape(wShape), 6, -1, 1);
    const flipped = new Float32Array(wv.length);
    for (let kr = 0; kr < 3; kr++) for (let kc = 0; kc < 3; kc++) for (let d1 = 0; d1 < 4; d1++) for (let d2 = 0; d2 < 8; d2++) {
      flipped[(((2 - kr) * 3 + (2 - kc)) * 8 + d2) * 4 + d1] = wv[((kr * 3 + kc) * 4 + d1) * 8 + d2];
    }
    const info = tf.backend_util.computeConv2DInfo(dyShape, [3, 3, 8, 4], 1, 1, 'same');
    const {out: ref, mag} = reference(dyv, dyShape, flipped, [3, 3, 8, 4], info);
    tf.env().set('MPSGPU_CONV_F16', true);
    const dx = tf.conv2dTranspose(tf.tensor4d(dyv, dyShape), tf.tensor4d(wv, wShape), [1, 7, 6, 4], 1, 'same');
    const got = await dx.data();
    dx.dispose();
    const u = 2 ** -11, k = 3 * 3 * 8;
    for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i] - ref[i])).toBeLessThanOrEqual((k + 2) * u * mag[i] + 1e-30);
  });
});
