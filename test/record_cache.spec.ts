// Specs of the recording caches: a matmul, reduction, strided copy or elementwise node recorded
// again with equal shapes, dtypes and attributes reuses its programs (the same Program object);
// anything that changes the WGSL or a uniform value gives other programs, and the values are right
// both times.
import * as tf from '@tensorflow/tfjs-core';

import {batchMatMul} from '../kernels/BatchMatMul.js';
import {reduce} from '../kernels/reduce.js';
import {sliceTensor} from '../kernels/Slice.js';
import {MpsgpuBackend} from '../src/backend.js';
import {input, op} from '../src/codegen/elementwise.js';
import {Program} from '../src/codegen/program.js';
import {cacheSet} from '../src/codegen/shader.js';
import {runElementwise} from '../src/kernel_util.js';
import {expectClose, expectMatchesCpu, randomValues} from './util.js';

/** A backend that records programs only (the kernels' recording paths, no GPU). */
function recordingBackend(real: MpsgpuBackend): {backend: MpsgpuBackend; programs: Program[]} {
  const programs: Program[] = [];
  let id = 0;
  const info = (shape: number[], dtype: string) => ({dataId: {fake: id++}, shape, dtype} as tf.TensorInfo);
  const backend = {
    gpu: real.gpu,
    runProgram: (p: Program, _inputs: tf.TensorInfo[], shape: number[], dtype: string) => {
      programs.push(p);
      return info(shape, dtype);
    },
    makeTensorInfo: info,
    disposeIntermediateTensorInfo: () => {},
    knowValues: () => {},
    incRef: () => {},
  } as unknown as MpsgpuBackend;
  return {backend, programs};
}

const t = (shape: number[], dtype: tf.DataType = 'float32') => ({dataId: {}, shape, dtype} as tf.TensorInfo);

describe('mpsgpu recording caches', () => {
  let real: MpsgpuBackend;
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
    real = tf.backend() as MpsgpuBackend;
  });

  /** The programs `record` records, twice over: the second time's must be the first's objects. */
  function recordTwice(record: (b: MpsgpuBackend) => void): Program[] {
    const {backend, programs} = recordingBackend(real);
    record(backend);
    const first = programs.splice(0);
    record(backend);
    expect(programs.length).toBe(first.length);
    programs.forEach((p, i) => expect(p).toBe(first[i], `program ${i} (${p.key}) reused`));
    return first;
  }

  it('reuses the programs of equal matmuls, reductions, slices and elementwise nodes', () => {
    recordTwice(b => batchMatMul(b, t([4, 128]), t([128, 512]), false, false));
    recordTwice(b => batchMatMul(b, t([4, 512]), t([128, 512]), false, true));
    // Split-K (a partial-sums program and their sum).
    expect(recordTwice(b => batchMatMul(b, t([128, 4]), t([128, 8]), true, false)).length).toBeGreaterThan(0);
    expect(recordTwice(b => batchMatMul(b, t([8, 20000]), t([20000, 8]), false, false)).length).toBe(2);
    recordTwice(b => batchMatMul(b, t([2, 4, 8]), t([8, 16]), false, false, {bias: t([16]), activation: 'relu'}));
    recordTwice(b => reduce(b, t([4, 512]), [0], 'Sum', false));
    expect(recordTwice(b => reduce(b, t([64, 100000]), [1], 'Mean', true)).length).toBeGreaterThan(1);
    recordTwice(b => reduce(b, t([3, 5, 7], 'int32'), [0, 2], 'Max', false));
    recordTwice(b => sliceTensor(b, t([4, 512]), [0, 128], [4, 128]));
    const e = op('($0 * $1)', 'f32', [input(0, 'f32'), input(1, 'f32')]);
    recordTwice(b => runElementwise(b, 'Mul', e, [t([4, 128]), t([128])], 'float32'));
  });

  it('records other programs or uniforms where the WGSL or a uniform value differs', () => {
    const {backend, programs} = recordingBackend(real);
    const alpha = (a: number) => {
      batchMatMul(backend, t([4, 8]), t([8, 8]), false, false, {activation: 'leakyrelu', leakyreluAlpha: a});
      return programs.pop()!;
    };
    const a1 = alpha(0.1), a2 = alpha(0.3), a0 = alpha(0), am0 = alpha(-0);
    expect(a2).not.toBe(a1);
    const value = (p: Program) => p.uniforms.find(u => u.name === 'attr0')!.value;
    expect(value(a1)).toBe(0.1);
    expect(value(a2)).toBe(0.3);
    expect(Object.is(value(a0), 0)).toBe(true);
    expect(Object.is(value(am0), -0)).toBe(true);
    // Transposes, dtypes and shapes are part of the key.
    batchMatMul(backend, t([8, 8]), t([8, 8]), false, false);
    batchMatMul(backend, t([8, 8]), t([8, 8]), true, false);
    batchMatMul(backend, t([8, 8], 'int32'), t([8, 8]), false, false);
    const [plain, transposed, ints] = programs.splice(0);
    expect(transposed.key).not.toBe(plain.key);
    expect(ints.key).not.toBe(plain.key);
    // A slice at another offset: the same shader, another offset uniform.
    sliceTensor(backend, t([4, 512]), [0, 0], [4, 128]);
    sliceTensor(backend, t([4, 512]), [0, 256], [4, 128]);
    const [s0, s1] = programs.splice(0);
    expect(s1).not.toBe(s0);
    expect(s1.key).toBe(s0.key);
    // Elementwise uniforms by value (-0 apart from 0).
    const e = op('($0 * u.attr0)', 'f32', [input(0, 'f32')]);
    for (const v of [2, 3, 0, -0]) runElementwise(backend, 'Scale', e, [t([4])], 'float32', undefined, [{name: 'attr0', type: 'f32', value: v}]);
    const scaled = programs.splice(0).map(p => p.uniforms.find(u => u.name === 'attr0')!.value);
    expect(scaled.map(v => (Object.is(v, -0) ? '-0' : String(v)))).toEqual(['2', '3', '0', '-0']);
  });

  it('gives the right values when programs are reused', async () => {
    const x = randomValues(4 * 32, 1), w = randomValues(32 * 64, 2), bias = randomValues(64, 3);
    for (let rep = 0; rep < 2; ++rep) {
      await expectMatchesCpu(() => tf.matMul(tf.tensor2d(x, [4, 32]), tf.tensor2d(w, [32, 64])), 1e-4, 'matmul');
      await expectMatchesCpu(() => tf.fused.matMul({a: tf.tensor2d(x, [4, 32]), b: tf.tensor2d(w, [32, 64]), bias: tf.tensor1d(bias),
                                                    activation: 'leakyrelu', leakyreluAlpha: rep === 0 ? 0.1 : 0.4}), 1e-4, 'leaky');
      await expectMatchesCpu(() => tf.sum(tf.tensor2d(w, [32, 64]), 0), 1e-4, 'sum');
      await expectMatchesCpu(() => tf.mean(tf.tensor2d(w, [32, 64]), 1, true), 1e-4, 'mean');
      await expectMatchesCpu(() => tf.slice(tf.tensor2d(w, [32, 64]), [rep, 16 * rep], [8, 16]), 0, 'slice');
      await expectMatchesCpu(() => tf.leakyRelu(tf.tensor1d(bias), rep === 0 ? 0.2 : 0.5), 1e-6, 'leakyRelu');
    }
  });

  it('fills -0 and 0 apart', async () => {
    for (const v of [0, -0, 0, -0]) {
      const f = tf.fill([4], v);
      const values = Array.from(await f.data());
      f.dispose();
      expect(values.every(x => Object.is(x, v))).toBe(true, `fill(${Object.is(v, -0) ? '-0' : v}) gave ${values.map(x => 1 / x)}`);
    }
  });

  it('bounds a cache by clearing it when full', () => {
    const m = new Map<number, number>();
    for (let i = 0; i < 10; ++i) cacheSet(m, i, i, 4);
    expect(m.size).toBeLessThanOrEqual(4);
    expect(m.get(9)).toBe(9);
    expectClose([m.size], [2], 0, 'entries since the last clear');
  });
});
