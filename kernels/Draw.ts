// Draw (tf.browser.draw): the image's values are read back (readSync flushes the pending GPU work
// and waits for it) and written as RGBA bytes into the canvas's 2D context, as tfjs-backend-cpu
// does, with its checks and messages. The context type is '2d', or 'mpsgpu' (tfjs-core's tests
// name the backend as the context type): this backend draws through a 2D context either way.
import {Draw, DrawAttrs, KernelConfig, TensorInfo, TypedArray} from '@tensorflow/tfjs-core';

import {mpsgpuBackend} from '../src/kernel_util.js';

import {readNumbers} from './cpu_common.js';

/** The RGBA bytes of an [h, w], [h, w, 1], [h, w, 3] or [h, w, 4] image (tfjs-backend-cpu's rules). */
export function imageToRgba(image: TensorInfo, data: TypedArray, alpha: number): Uint8ClampedArray<ArrayBuffer> {
  const [height, width] = image.shape.slice(0, 2);
  const depth = image.shape.length === 2 ? 1 : image.shape[2];
  const multiplier = image.dtype === 'float32' ? 255 : 1;
  const bytes = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < height * width; ++i) {
    const rgba = [0, 0, 0, 255 * alpha];
    for (let d = 0; d < depth; d++) {
      const value = data[i * depth + d];
      if (image.dtype === 'float32') {
        if (value < 0 || value > 1) {
          throw new Error(`Tensor values for a float32 Tensor must be in the range [0 - 1] but encountered ${value}.`);
        }
      } else if (image.dtype === 'int32') {
        if (value < 0 || value > 255) {
          throw new Error(`Tensor values for a int32 Tensor must be in the range [0 - 255] but encountered ${value}.`);
        }
      }
      if (depth === 1) {
        rgba[0] = rgba[1] = rgba[2] = value * multiplier;
      } else {
        rgba[d] = value * multiplier;
      }
    }
    const j = i * 4;
    for (let c = 0; c < 4; ++c) bytes[j + c] = Math.round(rgba[c]);
  }
  return bytes;
}

export const drawConfig: KernelConfig = {
  kernelName: Draw,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {image} = inputs as {image: TensorInfo};
    const {canvas, options} = attrs as unknown as DrawAttrs;
    const {contextOptions, imageOptions} = options ?? {};
    const alpha = imageOptions?.alpha || 1;
    const contextType = contextOptions?.contextType || '2d';
    if (contextType !== '2d' && contextType !== 'mpsgpu') {
      throw new Error(`Draw: context type ${contextType} is not supported by mpsgpu (it draws into a '2d' context; ` +
        `'mpsgpu' means the same)`);
    }
    const rank = image.shape.length;
    const depth = rank === 2 ? 1 : image.shape[2];
    if ((rank !== 2 && rank !== 3) || depth === 2 || depth > 4 || (image.dtype !== 'float32' && image.dtype !== 'int32')) {
      throw new Error(`Draw: input 'image' must be float32 or int32 of shape [height, width] or [height, width, 1|3|4], ` +
        `got shape [${image.shape}] (dtype ${image.dtype})`);
    }
    if (typeof ImageData === 'undefined') {
      throw new Error('Draw: needs a browser (ImageData and a canvas 2D context)');
    }
    const ctx = canvas.getContext('2d', contextOptions?.contextAttributes ?? {}) as CanvasRenderingContext2D | null;
    if (ctx == null) throw new Error(`Could not get the context with ${contextType} type.`);
    const bytes = imageToRgba(image, readNumbers(b, image), alpha);
    const [height, width] = image.shape;
    canvas.width = width;
    canvas.height = height;
    ctx.putImageData(new ImageData(bytes, width, height), 0, 0);
    // The input itself, as tfjs-backend-cpu returns it: tfjs-core's engine passes a tensor it is
    // given back as it is (no new tensor, no new reference to the data).
    return image;
  },
};
