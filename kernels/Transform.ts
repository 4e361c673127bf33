// Transform (projective image transform, NHWC) and RotateWithOffset: one invocation per output
// element maps its pixel to a source position and samples it, with tfjs-backend-cpu's coordinate
// rules (fill modes, Math.round for nearest, fill value outside the image).
//
// Source coordinates are computed per pixel in float32, as TensorFlow computes them; the CPU backend
// uses float64, so a coordinate within float32 rounding of a rounding boundary (a .5 for nearest,
// an integer for the image border) may land on the other side there. Coefficients exact in binary
// (0.5, 0.75, …) give the same result in both.
//
// tfjs-backend-cpu 4.22's Transform returns after the first image of the batch, leaving the others
// at fillValue; here every image is transformed with its own (or the shared) row of transforms, as
// in TensorFlow.
import {backend_util, KernelConfig, RotateWithOffset, RotateWithOffsetAttrs, TensorInfo, Transform, TransformAttrs, util} from '@tensorflow/tfjs-core';

import {wgslType} from '../src/codegen/shader.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {asF32, check, checkDtype, checkNumber, checkRank4, checkSize2, describeTensor, floats, fromF32, image4DProgram, ints} from './image_common.js';

const FILL_MODES = ['constant', 'reflect', 'wrap', 'nearest'];

/** The CPU backend's mapCoord per fill mode, in f32; NaN passes through (util.clamp keeps it). */
const MAP_COORD = `
fn clampJs(v: f32, hi: f32) -> f32 {
  if (isNan(v)) { return v; }
  return max(0.0, min(v, hi));
}
fn mapReflect(v: f32, len: f32) -> f32 {
  var c = v;
  if (c < 0.0) {
    if (len <= 1.0) { c = 0.0; } else {
      let sz2 = 2.0 * len;
      if (c < sz2) { c = sz2 * trunc(-c / sz2) + c; }
      c = select(-c - 1.0, c + sz2, c < -len);
    }
  } else if (c > len - 1.0) {
    if (len <= 1.0) { c = 0.0; } else {
      let sz2 = 2.0 * len;
      c = c - sz2 * trunc(c / sz2);
      if (c >= len) { c = sz2 - c - 1.0; }
    }
  }
  return clampJs(c, len - 1.0);
}
fn mapWrap(v: f32, len: f32) -> f32 {
  var c = v;
  if (c < 0.0) {
    if (len <= 1.0) { c = 0.0; } else {
      let sz = len - 1.0;
      c = c + len * (trunc(-c / sz) + 1.0);
    }
  } else if (c > len - 1.0) {
    if (len <= 1.0) { c = 0.0; } else {
      let sz = len - 1.0;
      c = c - len * trunc(c / sz);
    }
  }
  return clampJs(c, len - 1.0);
}
fn mapNearest(v: f32, len: f32) -> f32 { return clampJs(v, len - 1.0); }
fn mapConstant(v: f32, len: f32) -> f32 { return v; }`;

function mapFn(fillMode: string): string {
  switch (fillMode) {
    case 'reflect': return 'mapReflect';
    case 'wrap': return 'mapWrap';
    case 'nearest': return 'mapNearest';
    default: return 'mapConstant';
  }
}

export const transformConfig: KernelConfig = {
  kernelName: Transform,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {image, transforms} = inputs as {image: TensorInfo; transforms: TensorInfo};
    const {interpolation, fillMode, fillValue, outputShape} = attrs as unknown as TransformAttrs;
    const K = Transform;
    checkRank4(K, 'image', image);
    checkDtype(K, 'image', image, ['float32', 'int32']);
    checkDtype(K, 'transforms', transforms, ['float32']);
    const [batch, imageH, imageW, channels] = image.shape;
    check(transforms.shape.length === 2 && transforms.shape[1] === 8 && (transforms.shape[0] === 1 || transforms.shape[0] === batch),
          () => `${K}: input 'transforms' must have shape [1, 8] or [${batch}, 8], got ${describeTensor(transforms)}`);
    check(interpolation === 'nearest' || interpolation === 'bilinear',
          () => `${K}: attribute 'interpolation' must be 'nearest' or 'bilinear', got ${JSON.stringify(interpolation)}`);
    check(FILL_MODES.includes(fillMode), () => `${K}: attribute 'fillMode' must be one of ${FILL_MODES.join(', ')}, got ${JSON.stringify(fillMode)}`);
    const fill = fillValue ?? 0;
    checkNumber(K, 'fillValue', fill);
    if (outputShape != null) checkSize2(K, 'outputShape', outputShape);
    const [outH, outW] = outputShape ?? [imageH, imageW];
    const outShape = [batch, outH, outW, channels];
    if (util.sizeFromShape(outShape) === 0) return b.makeTensorInfo(outShape, image.dtype);

    const type = wgslType(image.dtype);
    const read = `
fn readFill(b: i32, y: f32, x: f32, d: i32) -> f32 {
  if (0.0 <= y && y < f32(u.imageH) && 0.0 <= x && x < f32(u.imageW)) {
    return ${asF32('image[((b * u.imageH + i32(y)) * u.imageW + i32(x)) * u.outC + d]', type)};
  }
  return u.fill;
}`;
    const sample = interpolation === 'nearest'
      ? 'let v = readFill(b, jsRound(y), jsRound(x), d);'
      : `let yF = floor(y); let xF = floor(x);
  let yC = yF + 1.0; let xC = xF + 1.0;
  let vYF = (xC - x) * readFill(b, yF, xF, d) + (x - xF) * readFill(b, yF, xC, d);
  let vYC = (xC - x) * readFill(b, yC, xF, d) + (x - xF) * readFill(b, yC, xC, d);
  let v = (yC - y) * vYF + (y - yF) * vYC;`;
    const map = mapFn(fillMode);
    const body = `
  let tb = b * u.tStride;
  let xo = f32(c); let yo = f32(r);
  let projection = transforms[tb + 6] * xo + transforms[tb + 7] * yo + 1.0;
  if (projection == 0.0) { out[i] = ${fromF32('u.fill', type)}; return; }
  let inX = (transforms[tb] * xo + transforms[tb + 1] * yo + transforms[tb + 2]) / projection;
  let inY = (transforms[tb + 3] * xo + transforms[tb + 4] * yo + transforms[tb + 5]) / projection;
  let x = ${map}(inX, f32(u.imageW));
  let y = ${map}(inY, f32(u.imageH));
  ${sample}
  out[i] = ${fromF32('v', type)};`;
    const program = image4DProgram(K, `transform|${interpolation}|${map}`, outShape,
                                   [{name: 'image', type}, {name: 'transforms', type: 'f32'}], type, body,
                                   [...ints({imageH, imageW, tStride: transforms.shape[0] === 1 ? 0 : 8}), ...floats({fill})],
                                   MAP_COORD + read);
    return b.runProgram(program, [image, transforms], outShape, image.dtype);
  },
};

export const rotateWithOffsetConfig: KernelConfig = {
  kernelName: RotateWithOffset,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {image} = inputs as {image: TensorInfo};
    const {radians, fillValue, center} = attrs as unknown as RotateWithOffsetAttrs;
    const K = RotateWithOffset;
    checkRank4(K, 'image', image);
    checkDtype(K, 'image', image, ['float32', 'int32']);
    checkNumber(K, 'radians', radians);
    check(typeof fillValue === 'number' || Array.isArray(fillValue),
          () => `${K}: attribute 'fillValue' must be a number or [r, g, b], got ${JSON.stringify(fillValue)}`);
    check(typeof center === 'number' || (Array.isArray(center) && center.length === 2),
          () => `${K}: attribute 'center' must be a number or [x, y], got ${JSON.stringify(center)}`);
    if (util.sizeFromShape(image.shape) === 0) return b.makeTensorInfo(image.shape, image.dtype);
    const [, imageH, imageW] = image.shape;
    const [centerX, centerY] = backend_util.getImageCenter(center, imageH, imageW);
    // A [r, g, b] fill: channel 3 is opaque (255); channels past it read undefined on the CPU (NaN).
    const perChannel = Array.isArray(fillValue);
    const fills = perChannel ? [0, 1, 2].map(k => (fillValue as number[])[k] ?? NaN) : [fillValue as number, 0, 0];
    const type = wgslType(image.dtype);
    const body = `
  let dx = f32(c) - u.centerX;
  let dy = f32(r) - u.centerY;
  let coordX = jsRound(dx * u.cosA - dy * u.sinA + u.centerX);
  let coordY = jsRound(dx * u.sinA + dy * u.cosA + u.centerY);
  var v = u.fill0;
  if (u.perChannel != 0) {
    v = select(select(select(select(nanF32(), 255.0, d == 3), u.fill2, d == 2), u.fill1, d == 1), u.fill0, d == 0);
  }
  if (coordX >= 0.0 && coordX < f32(u.outW) && coordY >= 0.0 && coordY < f32(u.outH)) {
    v = ${asF32('image[((b * u.outH + i32(coordY)) * u.outW + i32(coordX)) * u.outC + d]', type)};
  }
  out[i] = ${fromF32('v', type)};`;
    const program = image4DProgram(K, 'rotateWithOffset', image.shape, [{name: 'image', type}], type, body, [
      ...ints({perChannel: perChannel ? 1 : 0}),
      ...floats({centerX, centerY, cosA: Math.cos(radians), sinA: Math.sin(radians), fill0: fills[0], fill1: fills[1], fill2: fills[2]}),
    ]);
    return b.runProgram(program, [image], image.shape, image.dtype);
  },
};
