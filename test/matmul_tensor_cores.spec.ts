// MPSGPU_MATMUL_TENSOR_CORES: float32 products on subgroup matrices (f16 inputs, f32 accumulation)
// against a float64 reference, within the stated bound
//   |C − C64| ≤ sgmErrorBound(K) · Σ_k |a_ik·b_kj|   (src/codegen/subgroup_matrix.ts).
// Runs where the adapter offers f16 → f32 subgroup-matrix configs (NVIDIA with the Dawn toggles
// allow_unsafe_apis and vulkan_enable_f16_on_nvidia); pending elsewhere.
import * as tf from '@tensorflow/tfjs-core';

import {sgmErrorBound, subgroupMatrixSupport} from '../src/codegen/subgroup_matrix.js';
import {mpsgpu} from '../src/index.js';

import {randomValues} from './util.js';

describe('MPSGPU_MATMUL_TENSOR_CORES (subgroup-matrix matmul)', () => {
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
  });
  afterEach(() => tf.env().set('MPSGPU_MATMUL_TENSOR_CORES', false));

  const SIZES: Array<[number, number, number]> = [[64, 64, 64], [100, 52, 33], [257, 130, 300], [16, 16, 17]];
  for (const [m, k, n] of SIZES) {
    it(`${m}x${k} · ${k}x${n} within sgmErrorBound(K)·Σ|a||b| and not the f32 result`, async () => {
      const gpu = mpsgpu.device();
      const support = subgroupMatrixSupport({features: gpu.device.features, info: gpu.adapter.info} as unknown as {features: GPUSupportedFeatures});
      if (support.usable.length === 0) {
        pending(`no tensor-core path: ${support.reason}`);
        return;
      }
      const av = randomValues(m * k, 11, -2, 2), bv = randomValues(k * n, 12, -2, 2);
      const run = async (tensorCores: boolean) => {
        tf.env().set('MPSGPU_MATMUL_TENSOR_CORES', tensorCores);
        const c = tf.matMul(tf.tensor2d(av, [m, k]), tf.tensor2d(bv, [k, n]));
        const v = await c.data();
        c.dispose();
        return v;
      };
      const f32 = await run(false), tc = await run(true);
      const bound = sgmErrorBound(k);
      let differs = 0;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let sum = 0, abs = 0;
          for (let p = 0; p < k; p++) {
            sum += av[i * k + p] * bv[p * n + j];
            abs += Math.abs(av[i * k + p] * bv[p * n + j]);
          }
          expect(Math.abs(tc[i * n + j] - sum)).toBeLessThanOrEqual(bound * abs + 1e-30);
          if (tc[i * n + j] !== f32[i * n + j]) differs++;
        }
      }
      expect(differs).toBeGreaterThan(0);
    });
  }

  it('products smaller than one fragment (and transposed ones) stay on the f32 engine: bit-identical results', async () => {
    const run = async (tensorCores: boolean) => {
      tf.env().set('MPSGPU_MATMUL_TENSOR_CORES', tensorCores);
      const a = tf.tensor2d(randomValues(7 * 40, 13), [7, 40]), b = tf.tensor2d(randomValues(40 * 5, 14), [40, 5]);
      const out = [tf.matMul(a, b), tf.matMul(b, a, true, true)];
      const v = [await out[0].data(), await out[1].data()];
      tf.dispose(out);
      return v;
    };
    const f32 = await run(false), tc = await run(true);
    expect(Array.from(tc[0])).toEqual(Array.from(f32[0]));
    expect(Array.from(tc[1])).toEqual(Array.from(f32[1]));
  });
});
