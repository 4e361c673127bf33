// Specs for the depthwise family's programs (kernels/depthwise_programs.ts): DepthwiseConv2dNative,
// FusedDepthwiseConv2D, DepthwiseConv2dNativeBackpropInput and ...BackpropFilter against
// tfjs-backend-cpu. Both code paths are covered: vec4 channels (chMul 1, channels a multiple of 4)
// and scalar (chMul > 1 or other channel counts); widths that are not a multiple of the 4 columns
// an invocation computes; filter gradients split into one or several chunks.
import * as tf from '@tensorflow/tfjs-core';

import {describeLazyAndEager, expectGpuMatches, expectMatchesCpu, randomValues} from './util.js';

type Pad = 'same'|'valid'|number|[[number, number], [number, number], [number, number], [number, number]];

interface Case {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: number|[number, number];
  pad: Pad;
  dilations?: number|[number, number];
}

const t = (shape: number[], seed: number) => tf.tensor(randomValues(tf.util.sizeFromShape(shape), seed), shape);
const tag = (c: Case) => `x [${c.x}] f [${c.f}] s ${JSON.stringify(c.strides)} pad ${JSON.stringify(c.pad)}` +
  `${c.dilations ? ` dil ${JSON.stringify(c.dilations)}` : ''}`;

const CASES: Case[] = [
  // vec4 path (chMul 1, channels % 4 == 0).
  {x: [2, 9, 11, 8], f: [3, 3, 8, 1], strides: 1, pad: 'same'},
  {x: [1, 13, 10, 4], f: [3, 3, 4, 1], strides: 2, pad: 'same'},
  {x: [1, 11, 9, 12], f: [3, 3, 12, 1], strides: 1, pad: 'valid', dilations: 2},
  {x: [3, 7, 6, 4], f: [5, 5, 4, 1], strides: [2, 1], pad: [[0, 0], [1, 2], [2, 0], [0, 0]]},
  {x: [2, 21, 19, 16], f: [3, 3, 16, 1], strides: 1, pad: 2},
  {x: [1, 5, 5, 4], f: [2, 3, 4, 1], strides: 1, pad: 'valid'},
  // Scalar path: odd channels, chMul 2, stride 2, dilation 2, explicit pads.
  {x: [1, 9, 7, 3], f: [3, 3, 3, 1], strides: 1, pad: 'same'},
  {x: [2, 10, 9, 5], f: [3, 3, 5, 2], strides: 2, pad: 'valid'},
  {x: [1, 9, 10, 4], f: [3, 3, 4, 2], strides: 1, pad: 'same', dilations: [2, 1]},
  {x: [2, 7, 8, 6], f: [3, 2, 6, 3], strides: [1, 2], pad: [[0, 0], [0, 1], [2, 1], [0, 0]]},
  {x: [3, 17, 19, 7], f: [3, 3, 7, 2], strides: 2, pad: 'same'},
];

const dilationsOf = (c: Case): [number, number] =>
  c.dilations == null ? [1, 1] : Array.isArray(c.dilations) ? c.dilations : [c.dilations, c.dilations];
const dyShapeOf = (c: Case) => {
  const s = Array.isArray(c.strides) ? c.strides : [c.strides, c.strides];
  return tf.backend_util.computeConv2DInfo(c.x, c.f, s as [number, number], dilationsOf(c), c.pad, undefined, true).outShape;
};
/** The filter with dil - 1 zeros between its taps: an undilated filter with the same effect. */
const zeroStuffed = (f: tf.Tensor, dil: [number, number]): tf.Tensor => {
  if (dil[0] === 1 && dil[1] === 1) return f;
  const [fh, fw, c, m] = f.shape;
  const v = f.dataSync();
  const out = tf.buffer([(fh - 1) * dil[0] + 1, (fw - 1) * dil[1] + 1, c, m]);
  for (let i = 0; i < fh; i++) for (let j = 0; j < fw; j++) for (let k = 0; k < c * m; k++) {
    out.set(v[(i * fw + j) * c * m + k], i * dil[0], j * dil[1], Math.floor(k / m), k % m);
  }
  return out.toTensor();
};
const attrsOf = (c: Case) => ({strides: c.strides, pad: c.pad, dilations: c.dilations ?? 1, dataFormat: 'NHWC'});

describeLazyAndEager('depthwise programs match tfjs-backend-cpu', () => {
  for (const c of CASES) {
    it(`forward ${tag(c)}`, async () => {
      await expectMatchesCpu(() => tf.depthwiseConv2d(t(c.x, 1) as tf.Tensor4D, t(c.f, 2) as tf.Tensor4D, c.strides, c.pad,
                                                      'NHWC', c.dilations ?? 1), 1e-3, tag(c));
    });
    // tfjs-backend-cpu's backprop kernels ignore dilations (tfjs-core's gradient refuses them); the
    // reference for a dilated case is the undilated one with the filter zero-stuffed.
    const dil = dilationsOf(c);
    const stuffed = [(c.f[0] - 1) * dil[0] + 1, (c.f[1] - 1) * dil[1] + 1, c.f[2], c.f[3]];
    const plain = {...attrsOf(c), dilations: 1};
    it(`backprop input ${tag(c)}`, async () => {
      const run = (f: tf.Tensor, attrs: object) => tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', {dy: t(dyShapeOf(c), 3), filter: f},
        {...attrs, inputShape: c.x} as unknown as tf.NamedAttrMap) as tf.Tensor;
      await expectGpuMatches(() => run(t(c.f, 4), attrsOf(c)), () => run(zeroStuffed(t(c.f, 4), dil), plain), 1e-3, tag(c));
    });
    it(`backprop filter ${tag(c)}`, async () => {
      const run = (fShape: number[], attrs: object) => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter',
        {x: t(c.x, 5), dy: t(dyShapeOf(c), 6)}, {...attrs, filterShape: fShape} as unknown as tf.NamedAttrMap) as tf.Tensor;
      await expectGpuMatches(() => run(c.f, attrsOf(c)),
                             () => tf.stridedSlice(run(stuffed, plain), [0, 0, 0, 0], stuffed, [dil[0], dil[1], 1, 1]), 1e-3, tag(c));
    });
  }

  it('filter gradient over many chunks (long reduction)', async () => {
    const c: Case = {x: [4, 40, 37, 8], f: [3, 3, 8, 1], strides: 1, pad: 'same'};
    await expectMatchesCpu(() => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', {x: t(c.x, 7), dy: t(dyShapeOf(c), 8)},
      {...attrsOf(c), filterShape: c.f} as unknown as tf.NamedAttrMap) as tf.Tensor, 1e-2, tag(c));
  });

  it('gradients through tf.grads (vec4 and scalar)', async () => {
    for (const [x, f, s] of [[[2, 9, 10, 8], [3, 3, 8, 1], 2], [[1, 8, 7, 3], [3, 3, 3, 2], 1]] as const) {
      await expectMatchesCpu(() => {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, 'same').square());
        return g([t(x as unknown as number[], 9), t(f as unknown as number[], 10)]);
      }, 1e-3, `${x} ${f}`);
    }
  });

  for (const activation of ['relu', 'prelu', 'elu', 'leakyrelu'] as const) {
    for (const [x, f] of [[[2, 7, 9, 8], [3, 3, 8, 1]], [[1, 6, 5, 3], [3, 3, 3, 2]]] as const) {
      it(`fused bias + ${activation} x [${x}] f [${f}]`, async () => {
        const outC = f[2] * f[3];
        await expectMatchesCpu(() => tf.fused.depthwiseConv2d({
          x: t(x as unknown as number[], 1) as tf.Tensor4D, filter: t(f as unknown as number[], 2) as tf.Tensor4D, strides: 1, pad: 'same',
          bias: t([outC], 3), activation, preluActivationWeights: activation === 'prelu' ? t([outC], 4) : undefined,
          leakyreluAlpha: activation === 'leakyrelu' ? 0.25 : undefined,
        }), 1e-3, activation);
      });
    }
  }

  it('fused: prelu weights broadcast per pixel, no bias', async () => {
    await expectMatchesCpu(() => tf.fused.depthwiseConv2d({
      x: t([1, 6, 7, 4], 1) as tf.Tensor4D, filter: t([3, 3, 4, 1], 2) as tf.Tensor4D, strides: 1, pad: 'same',
      activation: 'prelu', preluActivationWeights: t([6, 7, 4], 4),
    }));
  });

  it("dataFormat 'NCHW' is read as NHWC, as tfjs-backend-cpu does", async () => {
    await expectMatchesCpu(() => tf.engine().runKernel('DepthwiseConv2dNative', {x: t([1, 6, 6, 4], 1), filter: t([3, 3, 4, 1], 2)},
      {strides: 1, pad: 'same', dilations: 1, dataFormat: 'NCHW'} as unknown as tf.NamedAttrMap) as tf.Tensor);
  });

  it('batch 0 gives a zero filter gradient', async () => {
    await expectMatchesCpu(() => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', {x: tf.zeros([0, 5, 5, 4]), dy: tf.zeros([0, 5, 5, 4])},
      {strides: 1, pad: 'same', dilations: 1, filterShape: [3, 3, 4, 1]} as unknown as tf.NamedAttrMap) as tf.Tensor);
  });

  it('errors: channel mismatch, filter rank', async () => {
    const x = t([1, 6, 6, 4], 1), f = t([3, 3, 3, 1], 2), f3 = t([3, 3, 4], 3);
    expect(() => tf.engine().runKernel('DepthwiseConv2dNative', {x, filter: f}, {strides: 1, pad: 'same', dilations: 1}))
      .toThrowError(/DepthwiseConv2dNative: the input has 4 channels/);
    expect(() => tf.engine().runKernel('DepthwiseConv2dNative', {x, filter: f3}, {strides: 1, pad: 'same', dilations: 1}))
      .toThrowError(/DepthwiseConv2dNative: input 'filter' must be rank 4/);
    tf.dispose([x, f, f3]);
    await expectMatchesCpu(() => tf.depthwiseConv2d(t([1, 5, 6, 4], 5) as tf.Tensor4D, t([3, 3, 4, 1], 6) as tf.Tensor4D, 1, 'same'));
  });
});
