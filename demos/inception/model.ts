// InceptionV3 as Keras builds it (keras.applications.InceptionV3, channels last): the stem, the
// mixed blocks 0–10 and global average pooling into a softmax, every convolution a conv2d_bn
// (convolution without bias, batch normalization, relu). Built with tfjs-layers' functional API.
//
// One difference: Keras's batch normalization has scale=False; tfjs-layers 4.22 fails to train
// that (its training path reads the undefined gamma), so gamma is kept (23.9 M parameters at 1000
// classes instead of 23.85 M). The smallest input is 75 × 75, as in Keras.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export interface InceptionOptions {
  /** Height and width of the input images (at least 75). */
  imageSize: number;
  classes: number;
  /** Seed of the kernel initializers (glorot uniform), so runs start from the same weights. */
  seed?: number;
}

type Sym = tfl.SymbolicTensor;

export function inceptionV3(opts: InceptionOptions): tfl.LayersModel {
  if (opts.imageSize < 75) throw new Error(`inceptionV3: the input must be at least 75 × 75 (got ${opts.imageSize})`);
  let seed = opts.seed ?? 1;
  const convBn = (x: Sym, filters: number, rows: number, cols: number, strides = 1, padding: 'same'|'valid' = 'same'): Sym => {
    const conv = tfl.layers.conv2d({
      filters, kernelSize: [rows, cols], strides, padding, useBias: false,
      kernelInitializer: tfl.initializers.glorotUniform({seed: seed++}),
    }).apply(x) as Sym;
    const bn = tfl.layers.batchNormalization({axis: 3, scale: true}).apply(conv) as Sym;
    return tfl.layers.activation({activation: 'relu'}).apply(bn) as Sym;
  };
  const maxPool = (x: Sym) => tfl.layers.maxPooling2d({poolSize: 3, strides: 2}).apply(x) as Sym;
  const avgPoolSame = (x: Sym) => tfl.layers.averagePooling2d({poolSize: 3, strides: 1, padding: 'same'}).apply(x) as Sym;
  const concat = (xs: Sym[], name?: string) => tfl.layers.concatenate({axis: 3, name}).apply(xs) as Sym;

  const input = tfl.input({shape: [opts.imageSize, opts.imageSize, 3]});
  let x = convBn(input, 32, 3, 3, 2, 'valid');
  x = convBn(x, 32, 3, 3, 1, 'valid');
  x = convBn(x, 64, 3, 3);
  x = maxPool(x);
  x = convBn(x, 80, 1, 1, 1, 'valid');
  x = convBn(x, 192, 3, 3, 1, 'valid');
  x = maxPool(x);

  // mixed 0, 1, 2: 35 × 35 × 256, 288, 288
  for (const [i, poolFilters] of [32, 64, 64].entries()) {
    const b1 = convBn(x, 64, 1, 1);
    const b5 = convBn(convBn(x, 48, 1, 1), 64, 5, 5);
    const b3 = convBn(convBn(convBn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3);
    const bp = convBn(avgPoolSame(x), poolFilters, 1, 1);
    x = concat([b1, b5, b3, bp], `mixed${i}`);
  }

  // mixed 3: 17 × 17 × 768
  {
    const b3 = convBn(x, 384, 3, 3, 2, 'valid');
    const bd = convBn(convBn(convBn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, 2, 'valid');
    x = concat([b3, bd, maxPool(x)], 'mixed3');
  }

  // mixed 4–7: 17 × 17 × 768, factorized 7 × 7 convolutions
  for (const [i, c] of [128, 160, 160, 192].entries()) {
    const b1 = convBn(x, 192, 1, 1);
    const b7 = convBn(convBn(convBn(x, c, 1, 1), c, 1, 7), 192, 7, 1);
    let bd = convBn(x, c, 1, 1);
    bd = convBn(bd, c, 7, 1);
    bd = convBn(bd, c, 1, 7);
    bd = convBn(bd, c, 7, 1);
    bd = convBn(bd, 192, 1, 7);
    const bp = convBn(avgPoolSame(x), 192, 1, 1);
    x = concat([b1, b7, bd, bp], `mixed${4 + i}`);
  }

  // mixed 8: 8 × 8 × 1280
  {
    const b3 = convBn(convBn(x, 192, 1, 1), 320, 3, 3, 2, 'valid');
    let b7 = convBn(x, 192, 1, 1);
    b7 = convBn(b7, 192, 1, 7);
    b7 = convBn(b7, 192, 7, 1);
    b7 = convBn(b7, 192, 3, 3, 2, 'valid');
    x = concat([b3, b7, maxPool(x)], 'mixed8');
  }

  // mixed 9, 10: 8 × 8 × 2048
  for (let i = 0; i < 2; ++i) {
    const b1 = convBn(x, 320, 1, 1);
    const b3 = convBn(x, 384, 1, 1);
    const b3s = concat([convBn(b3, 384, 1, 3), convBn(b3, 384, 3, 1)], `mixed9_${i}`);
    const bd = convBn(convBn(x, 448, 1, 1), 384, 3, 3);
    const bds = concat([convBn(bd, 384, 1, 3), convBn(bd, 384, 3, 1)]);
    const bp = convBn(avgPoolSame(x), 192, 1, 1);
    x = concat([b1, b3s, bds, bp], `mixed${9 + i}`);
  }

  x = tfl.layers.globalAveragePooling2d({}).apply(x) as Sym;
  const output = tfl.layers.dense({
    units: opts.classes, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({seed: seed++}),
  }).apply(x) as Sym;
  return tfl.model({inputs: input, outputs: output, name: 'inception_v3'});
}

/** Synthetic training data: images uniform in [-1, 1] (Keras's preprocessing range), one-hot labels. */
export function syntheticBatch(batchSize: number, imageSize: number, classes: number, seed: number): {xs: tf.Tensor4D; ys: tf.Tensor2D} {
  return tf.tidy(() => ({
    xs: tf.randomUniform([batchSize, imageSize, imageSize, 3], -1, 1, 'float32', seed) as tf.Tensor4D,
    ys: tf.oneHot(tf.randomUniform([batchSize], 0, classes, 'int32', seed + 1) as tf.Tensor1D, classes).toFloat() as tf.Tensor2D,
  }));
}
