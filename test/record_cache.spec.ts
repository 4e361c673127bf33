// Specs of the recording caches: a matmul, reduction, strided copy or elementwise node recorded
// again with equal shapes, dtypes and attributes reuses its programs (the same Program object);
// anything that changes the WGSL or a uniform value gives other programs, and the values are right
// both times.
import * as tf from '@tensorflow/tfjs-core';

import {batchMatMul} from '../kernels/BatchMatMul.js';
import {conv2DConfig, fusedConv2DConfig} from '../kernels/Conv2D.js';
import {conv2DBackpropFilterConfig} from '../kernels/Conv2DBackpropFilter.js';
import {conv2DBackpropInputConfig} from '../kernels/Conv2DBackpropInput.js';
import {depthwiseConv2dNativeBackpropFilterConfig, depthwiseConv2dNativeBackpropInputConfig, depthwiseConv2dNativeConfig,
        fusedDepthwiseConv2DConfig} from '../kernels/DepthwiseConv2dNative.js';
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

/** Records a kernel through its config (checks, info and programs as tfjs would run them). */
const kernel = (config: tf.KernelConfig, b: MpsgpuBackend, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown>) =>
  config.kernelFunc({inputs, backend: b, attrs: attrs as tf.NamedAttrMap});

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

  it('reuses the programs of equal convolutions', () => {
    const same = {strides: 1, pad: 'same', dilations: 1, dataFormat: 'NHWC'};
    recordTwice(b => kernel(conv2DConfig, b, {x: t([3, 7, 13, 5]), filter: t([3, 3, 5, 3])}, same));
    recordTwice(b => kernel(conv2DConfig, b, {x: t([16, 28, 28, 1]), filter: t([5, 5, 1, 8])}, {...same, pad: 'valid'}));
    recordTwice(b => kernel(conv2DConfig, b, {x: t([2, 8, 8, 8]), filter: t([1, 1, 8, 16])}, same));
    recordTwice(b => kernel(conv2DConfig, b, {x: t([2, 5, 8, 8]), filter: t([3, 3, 5, 4])}, {...same, dataFormat: 'NCHW'}));
    recordTwice(b => kernel(fusedConv2DConfig, b, {x: t([2, 9, 9, 8]), filter: t([3, 3, 8, 8]), bias: t([8])},
                            {...same, dilations: 2, activation: 'leakyrelu', leakyreluAlpha: 0.3}));
    recordTwice(b => kernel(fusedConv2DConfig, b, {x: t([1, 9, 9, 4]), filter: t([3, 3, 4, 6]), preluActivationWeights: t([6])},
                            {...same, strides: 2, activation: 'prelu'}));
    expect(recordTwice(b => kernel(conv2DBackpropInputConfig, b, {dy: t([3, 16, 17, 13]), filter: t([5, 5, 7, 13])},
                                   {inputShape: [3, 31, 33, 7], strides: 2, pad: 'same'})).length).toBe(1);
    recordTwice(b => kernel(conv2DBackpropInputConfig, b, {dy: t([2, 8, 8, 8]), filter: t([3, 3, 8, 8])},
                            {inputShape: [2, 8, 8, 8], strides: 1, pad: 'same'}));
    recordTwice(b => kernel(conv2DBackpropFilterConfig, b, {x: t([8, 16, 16, 32]), dy: t([8, 16, 16, 32])},
                            {filterShape: [3, 3, 32, 32], strides: 1, pad: 'same'}));
    recordTwice(b => kernel(depthwiseConv2dNativeConfig, b, {x: t([2, 9, 9, 3]), filter: t([3, 3, 3, 2])}, {strides: 2, pad: 'same'}));
    recordTwice(b => kernel(fusedDepthwiseConv2DConfig, b, {x: t([2, 9, 9, 8]), filter: t([3, 3, 8, 1]), bias: t([8])},
                            {strides: 1, pad: 'valid', dilations: 2, activation: 'relu6'}));
    recordTwice(b => kernel(depthwiseConv2dNativeBackpropInputConfig, b, {dy: t([2, 5, 5, 6]), filter: t([3, 3, 3, 2])},
                            {inputShape: [2, 9, 9, 3], strides: 2, pad: 'same'}));
    expect(recordTwice(b => kernel(depthwiseConv2dNativeBackpropFilterConfig, b, {x: t([8, 32, 32, 8]), dy: t([8, 32, 32, 8])},
                                   {filterShape: [3, 3, 8, 1], strides: 1, pad: 'same'})).length).toBe(2);
  });

  it('records other convolution programs or uniforms where a stride, pad, dilation or alpha differs', () => {
    const {backend, programs} = recordingBackend(real);
    const conv = (attrs: Record<string, unknown>, config = conv2DConfig, extra: Record<string, tf.TensorInfo> = {}) => {
      kernel(config, backend, {x: t([2, 12, 12, 8]), filter: t([3, 3, 8, 4]), ...extra}, {strides: 1, pad: 'same', ...attrs});
      return programs.splice(0);
    };
    const uniforms = (ps: Program[]) => JSON.stringify(ps.map(p => p.uniforms));
    const base = conv({});
    expect(conv({})).toEqual(base);
    const variants = [conv({strides: 2}), conv({pad: 'valid'}), conv({pad: [[0, 0], [1, 2], [0, 1], [0, 0]]}),
                      conv({pad: [[0, 0], [2, 1], [0, 1], [0, 0]]}), conv({dilations: 2}), conv({strides: [1, 2]})];
    for (const v of [base, ...variants]) {
      for (const w of [base, ...variants]) {
        if (v !== w) expect(uniforms(v)).not.toBe(uniforms(w));
      }
    }
    const alpha = (a: number) => conv({activation: 'leakyrelu', leakyreluAlpha: a}, fusedConv2DConfig, {bias: t([4])});
    const a1 = alpha(0.1), a3 = alpha(0.3);
    expect(a3[0]).not.toBe(a1[0]);
    const value = (ps: Program[]) => ps[ps.length - 1].uniforms.find(u => u.name === 'attr0')!.value;
    expect(value(a1)).toBe(0.1);
    expect(value(a3)).toBe(0.3);
    expect(value(alpha(0.1))).toBe(0.1);
    // A bias of another shape (per channel against per output element) is another program.
    const perChannel = conv({activation: 'relu'}, fusedConv2DConfig, {bias: t([4])});
    const perElement = conv({activation: 'relu'}, fusedConv2DConfig, {bias: t([12, 12, 4])});
    expect(perElement[0]).not.toBe(perChannel[0]);
    // Checks depending on shapes still throw on keys next to cached ones.
    expect(() => conv({activation: 'relu'}, fusedConv2DConfig, {bias: t([5])})).toThrowError(/does not broadcast/);
    expect(() => conv({activation: 'prelu'}, fusedConv2DConfig, {bias: t([4])})).toThrowError(/preluActivationWeights/);
    expect(() => kernel(conv2DConfig, backend, {x: t([2, 12, 12, 8], 'int32'), filter: t([3, 3, 8, 4])}, {strides: 1, pad: 'same'}))
        .toThrowError(/float32/);
    // Depthwise: another alpha is another uniform value; a dilation another program.
    const dw = (attrs: Record<string, unknown>) => {
      kernel(fusedDepthwiseConv2DConfig, backend, {x: t([1, 9, 9, 4]), filter: t([3, 3, 4, 2])},
             {strides: 1, pad: 'same', activation: 'leakyrelu', ...attrs});
      return programs.splice(0);
    };
    const d1 = dw({leakyreluAlpha: 0.1}), d2 = dw({leakyreluAlpha: 0.2}), d3 = dw({leakyreluAlpha: 0.1, dilations: 2});
    expect(value(d1)).toBe(0.1);
    expect(value(d2)).toBe(0.2);
    expect(uniforms(d3)).not.toBe(uniforms(d1));
    expect(dw({leakyreluAlpha: 0.1})).toEqual(d1);
  });

  it('gives the right convolution values when programs are reused', async () => {
    const x = randomValues(3 * 7 * 13 * 5, 4), w = randomValues(3 * 3 * 5 * 3, 5), bias = randomValues(3, 6);
    const x2 = randomValues(3 * 31 * 33 * 7, 7), w2 = randomValues(5 * 5 * 7 * 13, 8), dy2 = randomValues(3 * 16 * 17 * 13, 9);
    const xd = randomValues(2 * 9 * 9 * 3, 10), wd = randomValues(3 * 3 * 3 * 2, 11);
    for (let rep = 0; rep < 2; ++rep) {
      const x4 = () => tf.tensor4d(x, [3, 7, 13, 5]), w4 = () => tf.tensor4d(w, [3, 3, 5, 3]);
      await expectMatchesCpu(() => tf.conv2d(x4(), w4(), 1, 'same'), 1e-4, 'conv2d');
      await expectMatchesCpu(() => tf.conv2d(x4(), w4(), [2, 1], [[0, 0], [1, 2], [0, 1], [0, 0]]), 1e-4, 'conv2d explicit pads');
      await expectMatchesCpu(() => tf.conv2d(x4(), w4(), 1, 'valid', 'NHWC', 2), 1e-4, 'conv2d dilated');
      await expectMatchesCpu(() => tf.fused.conv2d({x: x4(), filter: w4(), strides: 1, pad: 'same', bias: tf.tensor1d(bias),
                                                    activation: 'leakyrelu', leakyreluAlpha: rep === 0 ? 0.1 : 0.4}), 1e-4, 'fused leaky');
      await expectMatchesCpu(() => tf.conv2dTranspose(tf.tensor4d(dy2, [3, 16, 17, 13]), tf.tensor4d(w2, [5, 5, 7, 13]), [3, 31, 33, 7], 2,
                                                      'same'), 1e-3, 'conv2dTranspose');
      await expectMatchesCpu(() => tf.conv2dTranspose(tf.tensor4d(dy2, [3, 16, 17, 13]), tf.tensor4d(w2, [5, 5, 7, 13]).slice([0, 0, 0, 0], [3, 3, 7, 13]),
                                                      [3, 16, 17, 7], 1, 'same'), 1e-3, 'conv2dTranspose stride 1');
      await expectMatchesCpu(() => tf.depthwiseConv2d(tf.tensor4d(xd, [2, 9, 9, 3]), tf.tensor4d(wd, [3, 3, 3, 2]), 2, 'same'), 1e-4,
                             'depthwise multiplier 2');
      await expectMatchesCpu(() => tf.grad((f: tf.Tensor) => tf.conv2d(tf.tensor4d(x2, [3, 31, 33, 7]), f as tf.Tensor4D, 2, 'same').square().sum())(
                                 tf.tensor4d(w2, [5, 5, 7, 13])), 5e-2, 'conv2d filter gradient');
      await expectMatchesCpu(() => tf.grad((f: tf.Tensor) => tf.depthwiseConv2d(tf.tensor4d(xd, [2, 9, 9, 3]), f as tf.Tensor4D, 1, 'same').sum())(
                                 tf.tensor4d(wd, [3, 3, 3, 2])), 1e-3, 'depthwise filter gradient');
      await expectMatchesCpu(() => tf.grad((v: tf.Tensor) => tf.depthwiseConv2d(v as tf.Tensor4D, tf.tensor4d(wd, [3, 3, 3, 2]), 2, 'same').sum())(
                                 tf.tensor4d(xd, [2, 9, 9, 3])), 1e-3, 'depthwise input gradient');
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
