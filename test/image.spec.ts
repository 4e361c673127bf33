// Specs for the image and local-normalization kernels: ResizeBilinear, ResizeNearestNeighbor and
// their gradients, CropAndResize, Transform, RotateWithOffset, LRN and LRNGrad, Dilation2D and its
// gradients, compared with tfjs-backend-cpu.
//
// Where tfjs-backend-cpu 4.22 is wrong, the reference is built from it per image: Transform (the CPU
// backend transforms only the first image of a batch) and ResizeNearestNeighborGrad (it reads dy with
// the images' batch stride); ResizeBilinearGrad's CPU result has height and width swapped in its
// shape, so it is reshaped to the images' shape.
import * as tf from '@tensorflow/tfjs-core';

import {describeLazyAndEager, expectMatchesCpu, randomInts, randomValues} from './util.js';

const t = (shape: number[], seed: number, lo = -2, hi = 2) => tf.tensor(randomValues(tf.util.sizeFromShape(shape), seed, lo, hi), shape);
const ti = (shape: number[], seed: number, lo = -10, hi = 10) => tf.tensor(randomInts(tf.util.sizeFromShape(shape), seed, lo, hi), shape, 'int32');
const onCpu = () => tf.getBackend() === 'cpu';
const run = (name: string, inputs: tf.NamedTensorMap, attrs: object) =>
  tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;

/** On cpu: `perImage` on each image of the batch, concatenated; elsewhere `whole`. */
function perImageOnCpu(batch: number, perImage: (i: number) => tf.Tensor, whole: () => tf.Tensor): tf.Tensor {
  if (!onCpu()) return whole();
  return tf.concat(Array.from({length: batch}, (_, i) => perImage(i)), 0);
}

const FLAGS: Array<[boolean, boolean]> = [[false, false], [true, false], [false, true]];

describeLazyAndEager('resize kernels match tfjs-backend-cpu', () => {
  const cases: Array<[number[], [number, number]]> = [
    [[1, 5, 7, 3], [9, 4]],    // up in height, down in width
    [[2, 4, 4, 2], [4, 4]],    // same size
    [[1, 3, 5, 1], [1, 1]],    // to one pixel
    [[1, 1, 1, 2], [3, 5]],    // from one pixel
    [[2, 6, 3, 3], [2, 11]],
    [[1, 9, 7, 2], [4, 3]],    // down
    [[3, 8, 6, 5], [16, 12]],  // exact x2
  ];
  for (const [shape, size] of cases) {
    for (const [align, half] of FLAGS) {
      const name = `images [${shape}] -> ${size} alignCorners ${align} halfPixelCenters ${half}`;
      it(`resizeBilinear and resizeNearestNeighbor, ${name}`, async () => {
        await expectMatchesCpu(() => {
          const x = t(shape, 1) as tf.Tensor4D;
          const xi = ti(shape, 2) as tf.Tensor4D;
          return [tf.image.resizeBilinear(x, size, align, half), tf.image.resizeBilinear(xi, size, align, half),
                  tf.image.resizeNearestNeighbor(x, size, align, half), tf.image.resizeNearestNeighbor(xi, size, align, half)];
        }, 1e-4, name);
      });
    }
  }

  it('rank-3 images, bool images, halves exactly on the rounding boundary', async () => {
    await expectMatchesCpu(() => {
      const b = tf.tensor(randomInts(4 * 6 * 2, 3, 0, 1), [4, 6, 2], 'bool') as tf.Tensor3D;
      // 3 -> 6 with alignCorners=false: sources 0, 0.5, 1, … ; 5 -> 9 with alignCorners: halves everywhere.
      const x = t([3, 5, 2], 4) as tf.Tensor3D;
      return [tf.image.resizeBilinear(t([5, 6, 3], 5) as tf.Tensor3D, [7, 2]), tf.image.resizeBilinear(b, [3, 9]),
              tf.image.resizeNearestNeighbor(x, [6, 9], true), tf.image.resizeNearestNeighbor(x, [6, 9], false),
              tf.image.resizeNearestNeighbor(x, [7, 13], false, true), tf.image.resizeBilinear(x, [6, 9], true)];
    }, 1e-4);
  });

  it('zero-size outputs, a zero-size batch, an empty image (NaN, read past it on the CPU backend)', async () => {
    await expectMatchesCpu(() => {
      const x = t([2, 3, 4, 2], 6) as tf.Tensor4D;
      const empty = tf.zeros([1, 0, 4, 2]) as tf.Tensor4D;
      return [tf.image.resizeBilinear(x, [0, 3]), tf.image.resizeNearestNeighbor(x, [3, 0]),
              tf.image.resizeBilinear(tf.zeros([0, 3, 4, 2]) as tf.Tensor4D, [5, 5]),
              tf.image.resizeBilinear(empty, [2, 3]), tf.image.resizeNearestNeighbor(empty, [2, 3])];
    });
  });

  it('errors: rank-3 images to the kernel, a bad size, string images; a following op works', async () => {
    const x3 = t([4, 4, 2], 1);
    expect(() => run('ResizeBilinear', {images: x3}, {size: [2, 2], alignCorners: false, halfPixelCenters: false}))
      .toThrowError(/ResizeBilinear: input 'images' must be rank 4 .*got shape \[4,4,2\]/);
    const x4 = t([1, 4, 4, 2], 2);
    expect(() => run('ResizeNearestNeighbor', {images: x4}, {size: [2, -1], alignCorners: false, halfPixelCenters: false}))
      .toThrowError(/ResizeNearestNeighbor: .*size.*2,-1/);
    expect(() => run('ResizeBilinear', {images: x4}, {size: [2.5, 2], alignCorners: false, halfPixelCenters: false}))
      .toThrowError(/ResizeBilinear: .*size.*2\.5,2/);
    const s = tf.tensor([['a']], [1, 1, 1, 1], 'string');
    expect(() => run('ResizeNearestNeighbor', {images: s}, {size: [2, 2], alignCorners: false, halfPixelCenters: false}))
      .toThrowError(/ResizeNearestNeighbor: input 'images' .*string/);
    const dy = t([1, 3, 3, 3], 3);
    expect(() => run('ResizeBilinearGrad', {images: x4, dy}, {alignCorners: false, halfPixelCenters: false}))
      .toThrowError(/ResizeBilinearGrad: .*'dy'.*\[1,3,3,3\]/);
    tf.dispose([x3, x4, s, dy]);
    await expectMatchesCpu(() => tf.image.resizeBilinear(t([1, 3, 3, 1], 4) as tf.Tensor4D, [5, 5]));
  });
});

describeLazyAndEager('resize gradients match tfjs-backend-cpu', () => {
  // Square images: tfjs-backend-cpu's ResizeBilinearGrad reports a swapped shape otherwise.
  const square: Array<[number[], [number, number]]> = [
    [[1, 5, 5, 3], [9, 4]],
    [[2, 4, 4, 2], [4, 4]],
    [[1, 7, 7, 1], [3, 2]],
    [[1, 3, 3, 2], [1, 1]],
    [[1, 6, 6, 2], [13, 17]],
    [[2, 1, 1, 3], [3, 4]],
  ];
  for (const [shape, size] of square) {
    for (const [align, half] of FLAGS) {
      const name = `images [${shape}] -> ${size} alignCorners ${align} halfPixelCenters ${half}`;
      if (align && shape[1] === 1) continue;  // tfjs-backend-cpu's nearest gradient loops forever there
      it(`tf.grad of resizeBilinear and resizeNearestNeighbor, ${name}`, async () => {
        await expectMatchesCpu(() => {
          const x = t(shape, 1) as tf.Tensor4D;
          const w = t([shape[0], ...size, shape[3]], 2);
          const nearest = (xs: tf.Tensor, ws: tf.Tensor) =>
            tf.grad((a: tf.Tensor) => tf.image.resizeNearestNeighbor(a as tf.Tensor4D, size, align, half).mul(ws))(xs);
          return [tf.grad((a: tf.Tensor) => tf.image.resizeBilinear(a as tf.Tensor4D, size, align, half).mul(w))(x),
                  perImageOnCpu(shape[0], i => nearest(x.slice(i, 1), w.slice(i, 1)), () => nearest(x, w))];
        }, 1e-4, name);
      });
    }
  }

  const rect: Array<[number[], number[]]> = [
    [[2, 5, 7, 3], [2, 9, 4, 3]],
    [[3, 4, 6, 2], [3, 3, 11, 2]],
    [[1, 8, 3, 1], [1, 2, 7, 1]],
  ];
  for (const [xShape, dyShape] of rect) {
    for (const align of [false, true]) {
      const name = `images [${xShape}] dy [${dyShape}] alignCorners ${align}`;
      it(`ResizeBilinearGrad and ResizeNearestNeighborGrad kernels, ${name}`, async () => {
        await expectMatchesCpu(() => {
          const images = t(xShape, 3);
          const dy = t(dyShape, 4);
          const attrs = {alignCorners: align, halfPixelCenters: false};
          const bilinear = run('ResizeBilinearGrad', {images, dy}, attrs).reshape(xShape);
          const nearest = perImageOnCpu(xShape[0],
                                        i => run('ResizeNearestNeighborGrad', {images: images.slice(i, 1), dy: dy.slice(i, 1)}, attrs),
                                        () => run('ResizeNearestNeighborGrad', {images, dy}, attrs));
          return [bilinear, nearest];
        }, 1e-4, name);
      });
    }
  }

  it('nearest gradient of a one-row image with alignCorners (every dy row maps to row 0)', async () => {
    const images = tf.zeros([1, 1, 2, 1]);
    const dy = tf.tensor([1, 2, 3, 4, 5, 6], [1, 3, 2, 1]);
    const dx = run('ResizeNearestNeighborGrad', {images, dy}, {alignCorners: true, halfPixelCenters: false});
    expect(dx.shape).toEqual([1, 1, 2, 1]);
    expect(Array.from(await dx.data())).toEqual([9, 12]);
    tf.dispose([images, dy, dx]);
  });
});

describeLazyAndEager('cropAndResize matches tfjs-backend-cpu', () => {
  // Inside, partly outside, flipped, a degenerate point, entirely outside.
  const boxes = [
    [0.1, 0.2, 0.8, 0.9], [-0.3, 0.1, 0.6, 1.4], [0.9, 0.8, 0.2, 0.1], [0.5, 0.5, 0.5, 0.5],
    [1.2, -0.5, 1.6, -0.1], [0, 0, 1, 1], [0.25, 0, 0.75, 0.5],
  ];
  const crops: Array<[number, number]> = [[5, 4], [1, 1], [1, 6], [3, 1], [9, 9]];
  for (const method of ['bilinear', 'nearest'] as const) {
    for (const crop of crops) {
      const name = `${method} crop ${crop}`;
      it(name, async () => {
        await expectMatchesCpu(() => {
          const image = t([2, 5, 9, 3], 1) as tf.Tensor4D;
          // Image index 2 is past the batch (zeros), -1 before it (NaN where not extrapolated).
          const ind = [0, 1, 1, 0, 1, 0, 1, 2, -1];
          const bx = tf.tensor2d([...boxes, [0.1, 0.1, 0.9, 0.9], [0.2, 0.3, 0.7, 0.8]]);
          return [tf.image.cropAndResize(image, bx, tf.tensor1d(ind, 'int32'), crop, method),
                  tf.image.cropAndResize(image, bx, tf.tensor1d(ind, 'int32'), crop, method, -3.5),
                  tf.image.cropAndResize(ti([1, 6, 4, 2], 2) as tf.Tensor4D, tf.tensor2d(boxes), tf.zeros([boxes.length], 'int32') as tf.Tensor1D,
                                         crop, method, 7)];
        }, 1e-4, name);
      });
    }
  }

  it('no boxes, an empty batch, NaN boxes', async () => {
    await expectMatchesCpu(() => {
      const image = t([1, 4, 4, 1], 3) as tf.Tensor4D;
      return [tf.image.cropAndResize(image, tf.zeros([0, 4]) as tf.Tensor2D, tf.zeros([0], 'int32') as tf.Tensor1D, [2, 2]),
              tf.image.cropAndResize(tf.zeros([0, 4, 4, 1]) as tf.Tensor4D, tf.tensor2d([[0, 0, 1, 1]]), tf.tensor1d([0], 'int32'), [2, 3]),
              tf.image.cropAndResize(image, tf.tensor2d([[NaN, 0, 1, 1], [0, 0, 1, NaN]]), tf.tensor1d([0, 0], 'int32'), [2, 3], 'nearest')];
    });
  });

  it('errors: bad boxes shape, float boxInd, an unknown method; a following op works', async () => {
    const image = t([1, 4, 4, 1], 1);
    const boxes = tf.tensor2d([[0, 0, 1, 1]]);
    const ind = tf.tensor1d([0], 'int32');
    const attrs = {cropSize: [2, 2], method: 'bilinear', extrapolationValue: 0};
    expect(() => run('CropAndResize', {image, boxes: tf.zeros([1, 3]), boxInd: ind}, attrs))
      .toThrowError(/CropAndResize: input 'boxes' must have shape \[numBoxes, 4\], got shape \[1,3\]/);
    expect(() => run('CropAndResize', {image, boxes, boxInd: tf.zeros([1])}, attrs))
      .toThrowError(/CropAndResize: input 'boxInd' must be int32/);
    expect(() => run('CropAndResize', {image, boxes, boxInd: ind}, {...attrs, method: 'cubic'}))
      .toThrowError(/CropAndResize: attribute 'method' must be 'bilinear' or 'nearest'/);
    tf.dispose([image, boxes, ind]);
    await expectMatchesCpu(() => tf.image.cropAndResize(t([1, 4, 4, 1], 2) as tf.Tensor4D, [[0, 0, 1, 1]], [0], [3, 3]));
  });
});

describeLazyAndEager('transform matches tfjs-backend-cpu', () => {
  // Source coordinates are computed in float32 (as TensorFlow does; the CPU backend uses float64):
  // the coefficients are either exact in binary (ties are exact ties in both) or generic (no
  // source coordinate within float32 rounding of a rounding boundary).
  const transforms: Array<[string, number[]]> = [
    ['identity', [1, 0, 0, 0, 1, 0, 0, 0]],
    ['scale 0.5 (halves)', [0.5, 0, 0, 0, 0.5, 0, 0, 0]],
    ['rotation and shift, exact in binary', [0.75, -0.625, 2.25, 0.625, 0.75, -1.5, 0, 0]],
    ['generic rotation and shift', [0.81373, -0.58127, 2.31719, 0.58127, 0.81373, -1.70931, 0, 0]],
    ['projective', [1.1, 0.2, -0.4, -0.1, 0.9, 0.3, 0.03, -0.02]],
    ['far outside, exact in binary', [1.25, 0.125, -17.5, 0.25, -1.125, 23.25, 0, 0]],
    ['generic, far outside', [1.31377, 0.10931, -17.4173, 0.21397, -1.10713, 23.2179, 0, 0]],
  ];
  for (const interpolation of ['nearest', 'bilinear'] as const) {
    for (const fillMode of ['constant', 'reflect', 'wrap', 'nearest'] as const) {
      const name = `${interpolation} ${fillMode}`;
      it(name, async () => {
        await expectMatchesCpu(() => {
          const image = t([1, 6, 7, 3], 1) as tf.Tensor4D;
          const out: tf.Tensor[] = [];
          for (const [, m] of transforms) {
            out.push(tf.image.transform(image, tf.tensor2d([m]), interpolation, fillMode, 0));
            out.push(tf.image.transform(image, tf.tensor2d([m]), interpolation, fillMode, 2.5, [5, 9]));
          }
          // One-pixel axes: reflect and wrap fall back to 0.
          out.push(tf.image.transform(t([1, 1, 5, 2], 2) as tf.Tensor4D, tf.tensor2d([transforms[5][1]]), interpolation, fillMode, -1));
          return out;
        }, 1e-4, name);
      });
    }
  }

  it('a batch with one transform per image and a shared one', async () => {
    await expectMatchesCpu(() => {
      const image = t([3, 5, 6, 2], 3) as tf.Tensor4D;
      const per = tf.tensor2d([transforms[3][1], transforms[4][1], transforms[5][1]]);
      const shared = tf.tensor2d([transforms[2][1]]);
      const out: tf.Tensor[] = [];
      for (const interpolation of ['nearest', 'bilinear'] as const) {
        out.push(perImageOnCpu(3, i => tf.image.transform(image.slice(i, 1), per.slice(i, 1), interpolation, 'reflect', 1.5),
                               () => tf.image.transform(image, per, interpolation, 'reflect', 1.5)));
        out.push(perImageOnCpu(3, i => tf.image.transform(image.slice(i, 1), shared, interpolation, 'constant', 0, [4, 3]),
                               () => tf.image.transform(image, shared, interpolation, 'constant', 0, [4, 3])));
      }
      return out;
    }, 1e-4);
  });

  it('int32 images through the kernel (typed-array truncation), a zero projection', async () => {
    await expectMatchesCpu(() => {
      const image = ti([1, 5, 5, 2], 4);
      const m = tf.tensor2d([transforms[3][1]]);
      // Projection -0.5·x + 1 is exactly 0 in column 2: fill value there.
      const zero = tf.tensor2d([[1, 0, 0, 0, 1, 0, -0.5, 0]]);
      return [run('Transform', {image, transforms: m}, {interpolation: 'bilinear', fillMode: 'constant', fillValue: 2.7, outputShape: null}),
              run('Transform', {image, transforms: m}, {interpolation: 'nearest', fillMode: 'wrap', fillValue: -1.5, outputShape: [3, 6]}),
              tf.image.transform(t([1, 4, 5, 1], 5) as tf.Tensor4D, zero, 'bilinear', 'constant', 9)];
    }, 1e-4);
  });

  it('errors: an unknown interpolation, transforms of the wrong batch; a following op works', async () => {
    const image = t([2, 4, 4, 1], 1);
    const m = tf.tensor2d([transforms[0][1]]);
    expect(() => run('Transform', {image, transforms: m}, {interpolation: 'cubic', fillMode: 'constant', fillValue: 0}))
      .toThrowError(/Transform: attribute 'interpolation' must be 'nearest' or 'bilinear'/);
    const m3 = tf.zeros([3, 8]);
    expect(() => run('Transform', {image, transforms: m3}, {interpolation: 'nearest', fillMode: 'constant', fillValue: 0}))
      .toThrowError(/Transform: input 'transforms' must have shape \[1, 8\] or \[2, 8\], got shape \[3,8\]/);
    tf.dispose([image, m, m3]);
    await expectMatchesCpu(() => tf.image.transform(t([1, 4, 4, 1], 2) as tf.Tensor4D, [transforms[3][1]], 'bilinear'));
  });
});

describeLazyAndEager('rotateWithOffset matches tfjs-backend-cpu', () => {
  // Coordinates are computed in float32: a quarter turn of an image with one odd and one even side
  // puts samples on exact ties that float64's cos(π/2) ≈ 6e-17 tips one way or the other.
  const angles = (h: number, w: number) => [0.3, -1.2, Math.PI, 2.5, ...((h + w) % 2 === 0 ? [Math.PI / 2, -Math.PI / 2] : [])];
  const cases: Array<[number[], number|[number, number, number], number|[number, number]]> = [
    [[1, 8, 8, 4], 0, 0.5],
    [[2, 7, 9, 3], 128.5, [0.25, 0.75]],
    [[1, 6, 5, 4], [10, 20, 30], 0.5],
    [[1, 5, 6, 5], [10, 20, 30], [0.6, 0.3]],  // channel 3 is opaque, channel 4 reads past the fill (NaN)
  ];
  for (const [shape, fill, center] of cases) {
    const name = `image [${shape}] fill ${JSON.stringify(fill)} center ${JSON.stringify(center)}`;
    it(name, async () => {
      await expectMatchesCpu(() => {
        const image = t(shape, 1, 0, 255) as tf.Tensor4D;
        return angles(shape[1], shape[2]).map(a => tf.image.rotateWithOffset(image, a, fill, center));
      }, 1e-4, name);
    });
  }

  it('int32 images through the kernel', async () => {
    await expectMatchesCpu(() => {
      const image = ti([1, 6, 7, 4], 2, 0, 255);
      return [run('RotateWithOffset', {image}, {radians: 0.7, fillValue: 3.9, center: 0.5}),
              run('RotateWithOffset', {image}, {radians: -2, fillValue: [1, 2, 3], center: [0.2, 0.9]})];
    });
  });

  it('errors: rank-3 image to the kernel; a following op works', async () => {
    const image = t([4, 4, 3], 1);
    expect(() => run('RotateWithOffset', {image}, {radians: 1, fillValue: 0, center: 0.5}))
      .toThrowError(/RotateWithOffset: input 'image' must be rank 4 .*got shape \[4,4,3\]/);
    tf.dispose(image);
    await expectMatchesCpu(() => tf.image.rotateWithOffset(t([1, 4, 4, 3], 2) as tf.Tensor4D, 1));
  });
});

describeLazyAndEager('localResponseNormalization matches tfjs-backend-cpu', () => {
  const cases: Array<[number[], number, number, number, number]> = [
    [[1, 5, 7, 9], 2, 1, 1, 0.5],
    [[2, 3, 4, 17], 5, 2, 0.001, 0.75],
    [[1, 2, 3, 4], 0, 1, 1, 0.5],
    [[1, 3, 2, 5], 20, 0.5, 0.3, 1],     // radius past the channels
    [[1, 3, 3, 6], -1, 1.5, 1, 0.5],     // negative radius: empty windows
    [[2, 2, 3, 7], 3, 0.2, -0.1, 0.75],  // negative base: NaN for a fractional beta
    [[1, 2, 2, 7], 2, 0.2, -0.1, 1],     // … and a finite value for an integral one
    [[1, 1, 1, 1], 1, 1, 2, 0.25],
  ];
  for (const [shape, r, bias, alpha, beta] of cases) {
    const name = `x [${shape}] depthRadius ${r} bias ${bias} alpha ${alpha} beta ${beta}`;
    it(`forward and tf.grad, ${name}`, async () => {
      await expectMatchesCpu(() => {
        const x = t(shape, 1) as tf.Tensor4D;
        const w = t(shape, 2);
        return [tf.localResponseNormalization(x, r, bias, alpha, beta),
                tf.grad((a: tf.Tensor) => tf.localResponseNormalization(a as tf.Tensor4D, r, bias, alpha, beta).mul(w))(x)];
      }, 2e-3, name);
    });
  }

  it('rank-3 input, LRNGrad with an unrelated y and dy', async () => {
    await expectMatchesCpu(() => {
      const x = t([4, 5, 6], 3) as tf.Tensor3D;
      const attrs = {depthRadius: 2, bias: 1, alpha: 0.5, beta: 0.75};
      const x4 = t([2, 3, 2, 8], 4);
      return [tf.localResponseNormalization(x, 1, 2, 0.5, 0.6),
              run('LRNGrad', {x: x4, y: t([2, 3, 2, 8], 5), dy: t([2, 3, 2, 8], 6)}, attrs)];
    }, 2e-3);
  });

  it('errors: rank-3 x to the kernel, a fractional depthRadius; a following op works', async () => {
    const x3 = t([4, 4, 3], 1);
    expect(() => run('LRN', {x: x3}, {depthRadius: 2, bias: 1, alpha: 1, beta: 0.5}))
      .toThrowError(/LRN: input 'x' must be rank 4 .*got shape \[4,4,3\]/);
    const x4 = t([1, 2, 2, 3], 2);
    expect(() => run('LRN', {x: x4}, {depthRadius: 1.5, bias: 1, alpha: 1, beta: 0.5}))
      .toThrowError(/LRN: attribute 'depthRadius' must be an integer/);
    expect(() => run('LRNGrad', {x: x4, y: x4, dy: t([1, 2, 2, 2], 3)}, {depthRadius: 1, bias: 1, alpha: 1, beta: 0.5}))
      .toThrowError(/LRNGrad: inputs 'x', 'y' and 'dy' must have the same shape/);
    tf.dispose([x3, x4]);
    await expectMatchesCpu(() => tf.localResponseNormalization(t([1, 2, 2, 4], 4) as tf.Tensor4D, 1));
  });
});

describeLazyAndEager('dilation2d matches tfjs-backend-cpu', () => {
  interface DilationCase {
    x: number[];
    f: number[];
    strides: number|[number, number];
    pad: 'same'|'valid'|number;
    dilations: number|[number, number];
  }
  const cases: DilationCase[] = [
    {x: [1, 7, 8, 3], f: [3, 2, 3], strides: 1, pad: 'same', dilations: 1},
    {x: [2, 9, 7, 2], f: [2, 3, 2], strides: 2, pad: 'valid', dilations: 1},
    {x: [1, 8, 9, 1], f: [3, 3, 1], strides: [2, 1], pad: 'same', dilations: 2},
    {x: [2, 6, 7, 4], f: [2, 2, 4], strides: 1, pad: 'valid', dilations: [2, 1]},
    {x: [1, 6, 6, 2], f: [3, 3, 2], strides: 1, pad: 1, dilations: 1},
    {x: [1, 1, 1, 2], f: [2, 2, 2], strides: 1, pad: 'same', dilations: 2},  // taps all outside: no winner
    {x: [1, 2, 3, 3], f: [1, 1, 3], strides: 1, pad: 'valid', dilations: 1},
  ];
  const tag = (c: DilationCase) => `x [${c.x}] filter [${c.f}] strides ${JSON.stringify(c.strides)} pad ${c.pad} dilations ${JSON.stringify(c.dilations)}`;
  const ties = (shape: number[], seed: number) => tf.tensor(Float32Array.from(randomInts(tf.util.sizeFromShape(shape), seed, 0, 2)), shape);
  for (const c of cases) {
    it(`forward and tf.grads, ${tag(c)}`, async () => {
      await expectMatchesCpu(() => {
        const out: tf.Tensor[] = [];
        for (const [x, f] of [[t(c.x, 1), t(c.f, 2)], [ties(c.x, 3), ties(c.f, 4)]]) {
          const op = (a: tf.Tensor, b: tf.Tensor) =>
            tf.dilation2d(a as tf.Tensor4D, b as tf.Tensor3D, c.strides, c.pad as 'same', c.dilations);
          const y = op(x, f);
          const w = t(y.shape, 5);
          out.push(y, ...tf.grads((a: tf.Tensor, b: tf.Tensor) => op(a, b).mul(w))([x, f]));
        }
        out.push(tf.dilation2d(ti(c.x, 6) as tf.Tensor4D, ti(c.f, 7) as tf.Tensor3D, c.strides, c.pad as 'same', c.dilations));
        return out;
      }, 1e-4, tag(c));
    });
  }

  it('NaN and -Infinity in x, rank-3 x, a wide explicit pad (windows entirely in the padding)', async () => {
    await expectMatchesCpu(() => {
      const v = randomValues(1 * 5 * 6 * 2, 8);
      v[0] = NaN; v[5] = NaN; v[13] = -Infinity; v[14] = NaN;
      const x = tf.tensor(v, [1, 5, 6, 2]) as tf.Tensor4D;
      const f = t([2, 3, 2], 9) as tf.Tensor3D;
      const y = tf.dilation2d(x, f, 1, 'same');
      const dy = t(y.shape, 10);
      const attrs = {strides: 1, pad: 'same', dilations: 1};
      return [y, run('Dilation2DBackpropInput', {x, filter: f, dy}, attrs), run('Dilation2DBackpropFilter', {x, filter: f, dy}, attrs),
              tf.dilation2d(t([5, 4, 3], 11) as tf.Tensor3D, t([2, 2, 3], 12) as tf.Tensor3D, 2, 'valid'),
              run('Dilation2D', {x: t([1, 3, 3, 1], 13), filter: t([2, 2, 1], 14)}, {strides: 1, pad: 3, dilations: 1})];
    }, 1e-4);
  });

  it('int32 gradients (the CPU backend truncates the sums)', async () => {
    await expectMatchesCpu(() => {
      const x = ti([1, 5, 5, 2], 15);
      const f = ti([2, 2, 2], 16);
      const attrs = {strides: 1, pad: 'same', dilations: 1};
      const dy = t([1, 5, 5, 2], 17, -3, 3);
      return [run('Dilation2DBackpropInput', {x, filter: f, dy}, attrs), run('Dilation2DBackpropFilter', {x, filter: f, dy}, attrs)];
    });
  });

  it('errors: rank-2 filter, a bad pad, dy of the wrong shape; a following op works', async () => {
    const x = t([1, 4, 4, 2], 1);
    const f = t([2, 2, 2], 2);
    const attrs = {strides: 1, pad: 'valid', dilations: 1};
    expect(() => run('Dilation2D', {x, filter: tf.zeros([2, 2])}, attrs))
      .toThrowError(/Dilation2D: input 'filter' must be rank 3/);
    expect(() => run('Dilation2D', {x, filter: f}, {...attrs, pad: 'full'}))
      .toThrowError(/Dilation2D: attribute 'pad' must be 'same', 'valid' or a non-negative integer/);
    expect(() => run('Dilation2DBackpropInput', {x, filter: f, dy: tf.zeros([1, 4, 4, 2])}, attrs))
      .toThrowError(/Dilation2DBackpropInput: input 'dy' has shape \[1,4,4,2\].*expected shape \[1,3,3,2\]/);
    tf.dispose([x, f]);
    await expectMatchesCpu(() => tf.dilation2d(t([1, 4, 4, 2], 3) as tf.Tensor4D, t([2, 2, 2], 4) as tf.Tensor3D, 1, 'same'));
  });
});
