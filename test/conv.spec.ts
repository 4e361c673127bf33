// Specs for the conv kernels (see docs/WRITING_KERNELS.md): Conv2D, FusedConv2D, Conv2DBackpropInput
// (conv2dTranspose), Conv2DBackpropFilter, the depthwise family, compared with tfjs-backend-cpu.
import * as tf from '@tensorflow/tfjs-core';

import {convTuning} from '../kernels/conv_gemm.js';

import {describeLazyAndEager, expectMatchesCpu, randomValues} from './util.js';

type Pad = 'same'|'valid'|number|[[number, number], [number, number], [number, number], [number, number]];

interface ConvCase {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: number|[number, number];
  pad: Pad;
  dilations?: number|[number, number];
  dataFormat?: 'NHWC'|'NCHW';
  rounding?: 'floor'|'round'|'ceil';
}

const t = (shape: number[], seed: number) => tf.tensor(randomValues(tf.util.sizeFromShape(shape), seed), shape);
const tag = (c: ConvCase) => `x [${c.x}] f [${c.f}] s ${JSON.stringify(c.strides)} pad ${JSON.stringify(c.pad)}` +
  `${c.dilations ? ` dil ${JSON.stringify(c.dilations)}` : ''}${c.dataFormat ? ` ${c.dataFormat}` : ''}${c.rounding ? ` ${c.rounding}` : ''}`;

const CONV_CASES: ConvCase[] = [
  {x: [1, 7, 9, 3], f: [3, 3, 3, 5], strides: 1, pad: 'same'},
  {x: [2, 8, 7, 1], f: [5, 5, 1, 4], strides: 2, pad: 'valid'},
  {x: [1, 9, 9, 17], f: [3, 3, 17, 3], strides: 1, pad: 'same', dilations: 2},
  {x: [2, 6, 5, 3], f: [1, 1, 3, 17], strides: 2, pad: 'same'},
  {x: [1, 5, 5, 3], f: [3, 3, 3, 2], strides: 2, pad: 2},
  {x: [2, 7, 6, 2], f: [3, 2, 2, 3], strides: [2, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]]},
  {x: [1, 11, 10, 1], f: [5, 5, 1, 1], strides: 1, pad: 'valid', dilations: [2, 1]},
  {x: [3, 9, 8, 4], f: [3, 3, 4, 6], strides: 3, pad: 'same'},
  {x: [1, 6, 7, 2], f: [3, 3, 2, 2], strides: 2, pad: 1, rounding: 'ceil'},
  {x: [2, 3, 6, 7], f: [3, 3, 3, 4], strides: 2, pad: 'same', dataFormat: 'NCHW'},
  {x: [1, 2, 5, 5], f: [2, 2, 2, 3], strides: 1, pad: 'valid', dataFormat: 'NCHW', dilations: 2},
  // Implicit GEMM: 4-channel vector loads and stores, a tile larger than one workgroup's.
  {x: [2, 13, 11, 8], f: [3, 3, 8, 12], strides: 1, pad: 'same'},
  {x: [1, 12, 10, 4], f: [3, 5, 4, 8], strides: 2, pad: 'valid', dilations: 1},
  // 1 × 1, stride 1, no padding: the matmul path (vector and odd channels).
  {x: [2, 5, 6, 8], f: [1, 1, 8, 12], strides: 1, pad: 'valid'},
  {x: [1, 6, 6, 5], f: [1, 1, 5, 3], strides: 1, pad: 'same'},
];

describeLazyAndEager('conv2d matches tfjs-backend-cpu', () => {
  for (const c of CONV_CASES) {
    it(tag(c), async () => {
      await expectMatchesCpu(() => tf.conv2d(t(c.x, 1) as tf.Tensor4D, t(c.f, 2) as tf.Tensor4D, c.strides, c.pad,
                                             c.dataFormat ?? 'NHWC', c.dilations ?? 1, c.rounding), 1e-3, tag(c));
    });
  }

  it('rank-3 input through tf.conv2d (batch of 1)', async () => {
    await expectMatchesCpu(() => tf.conv2d(t([5, 6, 3], 3) as tf.Tensor3D, t([3, 3, 3, 2], 4) as tf.Tensor4D, 1, 'same'));
  });

  it('conv1d with stride 2 and dilation 1, and dilation 2', async () => {
    await expectMatchesCpu(() => [
      tf.conv1d(t([2, 11, 3], 5) as tf.Tensor3D, t([3, 3, 4], 6) as tf.Tensor3D, 2, 'same'),
      tf.conv1d(t([1, 13, 2], 7) as tf.Tensor3D, t([3, 2, 5], 8) as tf.Tensor3D, 1, 'valid', 'NWC', 2),
    ]);
  });

  it('a chain of convolutions (lazy graph) and an empty batch', async () => {
    await expectMatchesCpu(() => {
      const x = t([2, 9, 9, 3], 9) as tf.Tensor4D;
      const a = tf.relu(tf.conv2d(x, t([3, 3, 3, 8], 10) as tf.Tensor4D, 2, 'same'));
      const b2 = tf.conv2d(a, t([3, 3, 8, 4], 11) as tf.Tensor4D, 1, 'valid');
      const empty = tf.conv2d(tf.zeros([0, 4, 4, 3]) as tf.Tensor4D, t([3, 3, 3, 2], 12) as tf.Tensor4D, 1, 'same');
      return [b2, empty];
    });
  });

  it('Conv2D errors: a rank-3 x and a channel mismatch are rejected before any GPU work', async () => {
    const x3 = t([5, 5, 3], 1);
    const f = t([3, 3, 3, 2], 2);
    expect(() => tf.engine().runKernel('Conv2D', {x: x3, filter: f}, {strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1}))
      .toThrowError(/Conv2D: input 'x' must be rank 4 \(NHWC\), got shape \[5,5,3\]/);
    const x4 = t([1, 5, 5, 4], 3);
    expect(() => tf.engine().runKernel('Conv2D', {x: x4, filter: f}, {strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1}))
      .toThrowError(/Conv2D: .*4 channels/);
    tf.dispose([x3, f, x4]);
    await expectMatchesCpu(() => tf.conv2d(t([1, 4, 4, 3], 5) as tf.Tensor4D, t([2, 2, 3, 1], 6) as tf.Tensor4D, 1, 'valid'));
  });
});

const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'prelu', 'sigmoid'] as const;

describeLazyAndEager('fused conv2d matches tfjs-backend-cpu', () => {
  for (const activation of ACTIVATIONS) {
    it(`bias + ${activation}`, async () => {
      await expectMatchesCpu(() => tf.fused.conv2d({
        x: t([2, 7, 6, 3], 1) as tf.Tensor4D, filter: t([3, 3, 3, 5], 2) as tf.Tensor4D, strides: 2, pad: 'same',
        bias: t([5], 3), activation, preluActivationWeights: activation === 'prelu' ? t([5], 4) : undefined,
        leakyreluAlpha: activation === 'leakyrelu' ? 0.3 : undefined,
      }), 1e-3, activation);
    });
  }

  it('no bias, scalar bias, full-shape bias, prelu weights of the output shape', async () => {
    await expectMatchesCpu(() => {
      const x = t([1, 5, 5, 2], 5) as tf.Tensor4D, filter = t([3, 3, 2, 3], 6) as tf.Tensor4D;
      return [
        tf.fused.conv2d({x, filter, strides: 1, pad: 'valid', activation: 'relu'}),
        tf.fused.conv2d({x, filter, strides: 1, pad: 'same', bias: tf.scalar(0.5), activation: 'elu'}),
        tf.fused.conv2d({x, filter, strides: 1, pad: 'same', bias: t([1, 5, 5, 3], 7), activation: 'linear'}),
        tf.fused.conv2d({x, filter, strides: 1, pad: 'valid', activation: 'prelu', preluActivationWeights: t([3, 3, 3], 8)}),
      ];
    });
  });

  it('1 × 1 (the matmul path) with bias and prelu, and with a full-shape bias (the GEMM path)', async () => {
    await expectMatchesCpu(() => {
      const x = t([2, 4, 5, 8], 13) as tf.Tensor4D, filter = t([1, 1, 8, 4], 14) as tf.Tensor4D;
      return [
        tf.fused.conv2d({x, filter, strides: 1, pad: 'valid', bias: t([4], 15), activation: 'prelu', preluActivationWeights: t([4], 16)}),
        tf.fused.conv2d({x, filter, strides: 1, pad: 'valid', bias: t([4, 5, 4], 17), activation: 'relu6'}),
      ];
    });
  });

  it('NCHW with a per-channel bias and prelu weights', async () => {
    await expectMatchesCpu(() => tf.fused.conv2d({
      x: t([2, 3, 6, 5], 9) as tf.Tensor4D, filter: t([3, 3, 3, 4], 10) as tf.Tensor4D, strides: 1, pad: 'same',
      dataFormat: 'NCHW', bias: t([4], 11), activation: 'prelu', preluActivationWeights: t([4], 12),
    }));
  });

  it('an unknown activation is rejected', () => {
    const x = t([1, 3, 3, 1], 1), f = t([1, 1, 1, 1], 2);
    expect(() => tf.engine().runKernel('FusedConv2D', {x, filter: f}, {strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'swish'}))
      .toThrowError(/FusedConv2D: activation 'swish' is not supported/);
    tf.dispose([x, f]);
  });
});

const TRANSPOSE_CASES: Array<{x: number[], f: number[], out: number[], strides: number|[number, number], pad: Pad}> = [
  {x: [1, 3, 3, 2], f: [3, 3, 4, 2], out: [1, 5, 5, 4], strides: 2, pad: 'same'},
  {x: [2, 4, 3, 3], f: [2, 2, 1, 3], out: [2, 8, 6, 1], strides: 2, pad: 'valid'},
  {x: [1, 5, 5, 17], f: [5, 5, 3, 17], out: [1, 5, 5, 3], strides: 1, pad: 'same'},
  {x: [1, 3, 4, 2], f: [3, 3, 3, 2], out: [1, 7, 9, 3], strides: 2, pad: 'valid'},
  {x: [2, 4, 4, 1], f: [3, 3, 2, 1], out: [2, 4, 4, 2], strides: 1, pad: 1},
  {x: [1, 3, 3, 2], f: [3, 3, 1, 2], out: [1, 6, 5, 1], strides: 2, pad: [[0, 0], [1, 0], [1, 1], [0, 0]]},
  // Strided dx by phases: vector channels, stride 3 with a 5 × 4 filter, phases without taps (1 × 1
  // filter, stride 2), unequal strides with asymmetric pads.
  {x: [2, 4, 5, 8], f: [3, 3, 4, 8], out: [2, 8, 10, 4], strides: 2, pad: 'same'},
  {x: [1, 3, 4, 4], f: [5, 4, 8, 4], out: [1, 9, 12, 8], strides: 3, pad: 'same'},
  {x: [1, 3, 3, 3], f: [1, 1, 5, 3], out: [1, 6, 6, 5], strides: 2, pad: 'valid'},
  {x: [2, 3, 4, 2], f: [4, 3, 3, 2], out: [2, 9, 8, 3], strides: [3, 2], pad: [[0, 0], [1, 2], [1, 0], [0, 0]]},
];

describeLazyAndEager('conv2dTranspose (Conv2DBackpropInput) matches tfjs-backend-cpu', () => {
  for (const c of TRANSPOSE_CASES) {
    it(`x [${c.x}] f [${c.f}] out [${c.out}] s ${c.strides} pad ${JSON.stringify(c.pad)}`, async () => {
      await expectMatchesCpu(() => tf.conv2dTranspose(t(c.x, 1) as tf.Tensor4D, t(c.f, 2) as tf.Tensor4D,
                                                      c.out as [number, number, number, number], c.strides, c.pad as 'same'));
    });
  }

  it('NCHW Conv2DBackpropInput', async () => {
    await expectMatchesCpu(() => tf.engine().runKernel('Conv2DBackpropInput', {dy: t([2, 4, 3, 3], 3), filter: t([3, 3, 2, 4], 4)},
      {strides: 2, pad: 'same', dataFormat: 'NCHW', inputShape: [2, 2, 5, 6]}) as tf.Tensor);
  });
});

describeLazyAndEager('conv2d gradients match tfjs-backend-cpu', () => {
  const cases: ConvCase[] = [
    {x: [2, 7, 6, 3], f: [3, 3, 3, 4], strides: 2, pad: 'same'},
    {x: [1, 8, 9, 1], f: [5, 5, 1, 3], strides: 1, pad: 'valid'},
    {x: [1, 6, 6, 17], f: [1, 1, 17, 2], strides: 2, pad: 'valid'},
    {x: [2, 5, 7, 2], f: [3, 2, 2, 3], strides: [1, 2], pad: [[0, 0], [2, 1], [0, 1], [0, 0]]},
    {x: [1, 7, 7, 2], f: [3, 3, 2, 2], strides: 2, pad: 1, rounding: 'floor'},
    {x: [2, 3, 7, 6], f: [3, 3, 3, 2], strides: 2, pad: 'same', dataFormat: 'NCHW'},
    // Stride 1: dx as the forward GEMM of the flipped filter (vector and odd channels, asymmetric pads).
    {x: [2, 6, 5, 8], f: [3, 3, 8, 12], strides: 1, pad: 'same'},
    {x: [1, 7, 6, 3], f: [3, 2, 3, 5], strides: 1, pad: [[0, 0], [2, 0], [1, 2], [0, 0]]},
    // 1 × 1: the matmul path; a long N·H·W: split-K of the filter gradient.
    {x: [2, 5, 5, 4], f: [1, 1, 4, 8], strides: 1, pad: 'valid'},
    {x: [4, 32, 32, 16], f: [3, 3, 16, 16], strides: 1, pad: 'same'},
  ];
  for (const c of cases) {
    it(tag(c), async () => {
      await expectMatchesCpu(() => {
        const x = t(c.x, 3) as tf.Tensor4D, f = t(c.f, 4) as tf.Tensor4D;
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad, c.dataFormat ?? 'NHWC', 1, c.rounding).square());
        return g([x, f]);
      }, 1e-3, tag(c));
    });
  }

  it('stride-1 dx through the transformed-filter path (large products) and the in-place flipped read', async () => {
    const saved = convTuning.flipMinMacs;
    try {
      for (const flipMinMacs of [0, Infinity]) {
        convTuning.flipMinMacs = flipMinMacs;
        await expectMatchesCpu(() => tf.conv2dTranspose(t([2, 6, 7, 8], 21) as tf.Tensor4D, t([3, 3, 4, 8], 22) as tf.Tensor4D,
                                                        [2, 6, 7, 4], 1, 'same'), 1e-3, `flipMinMacs ${flipMinMacs}`);
      }
    } finally {
      convTuning.flipMinMacs = saved;
    }
  });

  // The direct program (kernels/conv_direct.ts; CPU adapters' default) and the GEMM, forced each
  // way on every adapter: borders skipped by rows and by columns, widths not a multiple of its 4
  // columns, dilation, asymmetric pads, a 7 × 1 filter, and the fused epilogue.
  const directCases: ConvCase[] = [
    {x: [2, 7, 9, 8], f: [3, 3, 8, 12], strides: 1, pad: 'valid'},
    {x: [1, 8, 6, 4], f: [7, 1, 4, 8], strides: 1, pad: 'same'},
    {x: [2, 9, 10, 4], f: [3, 3, 4, 4], strides: 1, pad: 'same', dilations: 2},
    {x: [1, 7, 6, 8], f: [3, 2, 8, 4], strides: 1, pad: [[0, 0], [2, 0], [1, 2], [0, 0]]},
    {x: [1, 5, 13, 12], f: [5, 5, 12, 8], strides: 1, pad: 'same'},
    {x: [2, 9, 11, 8], f: [3, 3, 8, 4], strides: 2, pad: 'same'},
  ];
  for (const c of directCases) {
    it(`direct program and GEMM: ${tag(c)}`, async () => {
      const saved = {...convTuning};
      try {
        for (const direct of [true, false]) {
          convTuning.direct = direct;
          convTuning.directForward = direct;
          await expectMatchesCpu(() => {
            const x = t(c.x, 5) as tf.Tensor4D, f = t(c.f, 6) as tf.Tensor4D;
            const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
              tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad, 'NHWC', c.dilations ?? 1).square());
            const bias = t([c.f[3]], 7);
            const fused = tf.fused.conv2d({x, filter: f, strides: c.strides, pad: c.pad, dilations: c.dilations ?? 1, bias,
                                           activation: 'prelu', preluActivationWeights: t([c.f[3]], 8)});
            // tfjs has no gradient for dilated convolutions: the forward only there.
            return c.dilations ? [tf.conv2d(x, f, c.strides, c.pad, 'NHWC', c.dilations), fused] : [...g([x, f]), fused];
          }, 1e-3, `${tag(c)} direct ${direct}`);
        }
      } finally {
        Object.assign(convTuning, saved);
      }
    });
  }

  it('fused conv2d with bias and relu under tf.grads', async () => {
    await expectMatchesCpu(() => {
      const x = t([2, 6, 5, 3], 5) as tf.Tensor4D, f = t([3, 3, 3, 4], 6) as tf.Tensor4D, bias = t([4], 7);
      return tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        tf.fused.conv2d({x: a as tf.Tensor4D, filter: b as tf.Tensor4D, strides: 1, pad: 'same', bias: c, activation: 'relu'}))([x, f, bias]);
    });
  });

  it('Conv2DBackpropFilter on an empty batch gives zeros', async () => {
    await expectMatchesCpu(() => tf.engine().runKernel('Conv2DBackpropFilter', {x: tf.zeros([0, 5, 5, 2]), dy: tf.zeros([0, 5, 5, 3])},
      {strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3]}) as tf.Tensor);
  });
});

interface DwCase {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: number|[number, number];
  pad: Pad;
  dilations?: number|[number, number];
}

const DW_CASES: DwCase[] = [
  {x: [1, 7, 9, 3], f: [3, 3, 3, 1], strides: 1, pad: 'same'},
  {x: [2, 8, 7, 2], f: [5, 5, 2, 3], strides: 2, pad: 'valid'},
  {x: [1, 9, 9, 17], f: [3, 3, 17, 2], strides: 1, pad: 'same', dilations: 2},
  {x: [2, 6, 5, 3], f: [1, 1, 3, 2], strides: 2, pad: 'same'},
  {x: [1, 6, 6, 1], f: [3, 3, 1, 4], strides: 2, pad: 1},
  {x: [2, 5, 6, 2], f: [2, 3, 2, 2], strides: [1, 2], pad: [[0, 0], [1, 1], [2, 0], [0, 0]]},
];
const dwTag = (c: DwCase) => `x [${c.x}] f [${c.f}] s ${JSON.stringify(c.strides)} pad ${JSON.stringify(c.pad)}${c.dilations ? ` dil ${c.dilations}` : ''}`;

describeLazyAndEager('depthwiseConv2d matches tfjs-backend-cpu', () => {
  for (const c of DW_CASES) {
    it(dwTag(c), async () => {
      await expectMatchesCpu(() => tf.depthwiseConv2d(t(c.x, 1) as tf.Tensor4D, t(c.f, 2) as tf.Tensor4D, c.strides, c.pad,
                                                      'NHWC', c.dilations ?? 1), 1e-3, dwTag(c));
    });
  }

  for (const activation of ACTIVATIONS) {
    it(`fused depthwiseConv2d bias + ${activation}`, async () => {
      await expectMatchesCpu(() => tf.fused.depthwiseConv2d({
        x: t([2, 7, 6, 3], 1) as tf.Tensor4D, filter: t([3, 3, 3, 2], 2) as tf.Tensor4D, strides: 2, pad: 'same',
        bias: t([6], 3), activation, preluActivationWeights: activation === 'prelu' ? t([6], 4) : undefined,
        leakyreluAlpha: activation === 'leakyrelu' ? 0.25 : undefined,
      }), 1e-3, activation);
    });
  }

  it('separableConv2d', async () => {
    await expectMatchesCpu(() => tf.separableConv2d(t([2, 7, 7, 3], 5) as tf.Tensor4D, t([3, 3, 3, 2], 6) as tf.Tensor4D,
                                                    t([1, 1, 6, 5], 7) as tf.Tensor4D, 2, 'same'));
  });

  for (const c of DW_CASES.filter(c => !c.dilations)) {
    it(`gradients ${dwTag(c)}`, async () => {
      await expectMatchesCpu(() => {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad).square());
        return g([t(c.x, 3), t(c.f, 4)]);
      }, 1e-3, dwTag(c));
    });
  }

  it('errors: strides and dilations both above 1; rank-3 x', async () => {
    const x = t([1, 6, 6, 2], 1), f = t([3, 3, 2, 1], 2);
    expect(() => tf.engine().runKernel('DepthwiseConv2dNative', {x, filter: f}, {strides: 2, pad: 'same', dilations: 2}))
      .toThrowError(/Either strides or dilations must be 1/);
    const x3 = t([6, 6, 2], 3);
    expect(() => tf.engine().runKernel('DepthwiseConv2dNative', {x: x3, filter: f}, {strides: 1, pad: 'same', dilations: 1}))
      .toThrowError(/DepthwiseConv2dNative: input 'x' must be rank 4/);
    tf.dispose([x, f, x3]);
    await expectMatchesCpu(() => tf.depthwiseConv2d(t([1, 4, 4, 2], 5) as tf.Tensor4D, t([2, 2, 2, 1], 6) as tf.Tensor4D, 1, 'valid'));
  });
});

describeLazyAndEager('conv3d family matches tfjs-backend-cpu', () => {
  const cases: Array<{x: [number, number, number, number, number], f: [number, number, number, number, number],
                      strides: number|[number, number, number], pad: 'same'|'valid', dilations?: number}> = [
    {x: [1, 5, 6, 7, 3], f: [3, 3, 3, 3, 4], strides: 1, pad: 'same'},
    {x: [2, 7, 5, 6, 2], f: [2, 3, 2, 2, 3], strides: [2, 1, 2], pad: 'valid'},
    {x: [1, 7, 7, 7, 1], f: [3, 3, 3, 1, 2], strides: 1, pad: 'same', dilations: 2},
  ];
  for (const c of cases) {
    const name = `x [${c.x}] f [${c.f}] s ${JSON.stringify(c.strides)} ${c.pad}${c.dilations ? ` dil ${c.dilations}` : ''}`;
    it(`conv3d ${name}`, async () => {
      await expectMatchesCpu(() => tf.conv3d(t(c.x, 1) as tf.Tensor5D, t(c.f, 2) as tf.Tensor5D, c.strides, c.pad, 'NDHWC', c.dilations ?? 1));
    });
    if (!c.dilations) {
      it(`conv3d gradients ${name}`, async () => {
        await expectMatchesCpu(() => tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, c.strides, c.pad).square())([t(c.x, 3), t(c.f, 4)]));
      });
    }
  }

  it('conv3dTranspose', async () => {
    await expectMatchesCpu(() => tf.conv3dTranspose(t([2, 3, 3, 2, 4], 5) as tf.Tensor5D, t([3, 3, 2, 3, 4], 6) as tf.Tensor5D,
                                                    [2, 5, 6, 4, 3], [2, 2, 2], 'same'));
  });
});
