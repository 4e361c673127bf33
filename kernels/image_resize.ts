// ResizeBilinear, ResizeNearestNeighbor and their gradients (NHWC). The source rows and columns (and
// bilinear fractions) are computed on the CPU in float64 with tfjs-backend-cpu's own expressions and
// passed to the shader as a small table (one entry per output row and column), so the rounding
// rules (floor, Math.round, clamps, half-pixel centers) match the CPU backend exactly; the GPU does
// the per-element gathers. The gradients gather too: each dx element sums the dy elements whose
// forward sample read it (no scatter).
//
// Where tfjs-backend-cpu 4.22 is wrong we follow TensorFlow: ResizeBilinearGrad returns the images'
// shape (the CPU backend swaps height and width in the shape), ResizeNearestNeighborGrad reads dy
// with dy's own batch stride (the CPU backend uses the images' batch stride). As on the CPU backend,
// both gradients ignore halfPixelCenters.
import {KernelConfig, ResizeBilinear, ResizeBilinearAttrs, ResizeBilinearGrad, ResizeNearestNeighbor,
        ResizeNearestNeighborAttrs, ResizeNearestNeighborGrad, TensorInfo, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {wgslType} from '../src/codegen/shader.js';
import {fill, mpsgpuBackend} from '../src/kernel_util.js';

import {asF32, check, checkDtype, checkRank4, checkSize2, describeTensor, fromF32, image4DProgram, ints, runWithTable, Table} from './image_common.js';

const NUMERIC = ['float32', 'int32', 'bool'] as const;

/** tfjs-backend-cpu's effective sizes: the corners are aligned only when the output has more than one pixel. */
function scale(inLen: number, outLen: number, alignCorners: boolean): number {
  const align = alignCorners && outLen > 1;
  return (align ? inLen - 1 : inLen) / (align ? outLen - 1 : outLen);
}

function resizeInputs(kernel: string, images: TensorInfo, size: unknown): [number, number] {
  checkRank4(kernel, 'images', images);
  checkDtype(kernel, 'images', images, [...NUMERIC]);
  checkSize2(kernel, 'size', size);
  return size;
}

// ---- ResizeBilinear -----------------------------------------------------------------------------

/** Per output index along one axis: [low source index, high source index, fraction bits]. */
function bilinearAxis(table: Table, inLen: number, outLen: number, alignCorners: boolean, halfPixelCenters: boolean) {
  const ratio = scale(inLen, outLen, alignCorners);
  for (let o = 0; o < outLen; ++o) {
    const src = halfPixelCenters ? ratio * (o + 0.5) - 0.5 : ratio * o;
    const lo = Math.max(0, Math.floor(src));
    table.int(lo);
    table.int(Math.min(inLen - 1, Math.ceil(src)));
    table.f32(src - lo);
  }
}

export function resizeBilinear(b: MpsgpuBackend, images: TensorInfo, size: [number, number], alignCorners: boolean,
                               halfPixelCenters: boolean): TensorInfo {
  const [batch, inH, inW, channels] = images.shape;
  const [newH, newW] = size;
  const outShape = [batch, newH, newW, channels];
  if (util.sizeFromShape(outShape) === 0) return b.makeTensorInfo(outShape, 'float32');
  // The CPU backend reads past an empty image: NaN.
  if (util.sizeFromShape(images.shape) === 0) return fill(b, outShape, NaN, 'float32');
  const table = new Table();
  bilinearAxis(table, inH, newH, alignCorners, halfPixelCenters);
  bilinearAxis(table, inW, newW, alignCorners, halfPixelCenters);
  const type = wgslType(images.dtype);
  const load = (row: string, col: string) => asF32(`x[((b * u.inH + ${row}) * u.inW + ${col}) * u.outC + d]`, type);
  const body = `
  let rt = tab[r * 3]; let rb = tab[r * 3 + 1]; let rf = bitcast<f32>(tab[r * 3 + 2]);
  let cb = (u.outH + c) * 3;
  let cl = tab[cb]; let cr = tab[cb + 1]; let cf = bitcast<f32>(tab[cb + 2]);
  let tl = ${load('rt', 'cl')}; let tr = ${load('rt', 'cr')};
  let bl = ${load('rb', 'cl')}; let br = ${load('rb', 'cr')};
  let top = tl + (tr - tl) * cf;
  let bottom = bl + (br - bl) * cf;
  out[i] = top + (bottom - top) * rf;`;
  const program = image4DProgram(ResizeBilinear, 'resizeBilinear', outShape, [{name: 'x', type}, {name: 'tab', type: 'i32'}],
                                 'f32', body, ints({inH, inW}));
  return runWithTable(b, program, [images], table, outShape, 'float32');
}

export const resizeBilinearConfig: KernelConfig = {
  kernelName: ResizeBilinear,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const {images} = inputs as {images: TensorInfo};
    const {alignCorners, halfPixelCenters, size} = attrs as unknown as ResizeBilinearAttrs;
    const $size = resizeInputs(ResizeBilinear, images, size);
    return resizeBilinear(mpsgpuBackend(backend), images, $size, !!alignCorners, !!halfPixelCenters);
  },
};

// ---- ResizeNearestNeighbor ----------------------------------------------------------------------

function nearestAxis(table: Table, inLen: number, outLen: number, alignCorners: boolean, halfPixelCenters: boolean) {
  const ratio = scale(inLen, outLen, alignCorners);
  for (let o = 0; o < outLen; ++o) {
    const src = halfPixelCenters ? ratio * (o + 0.5) : ratio * o;
    let n = Math.min(inLen - 1, alignCorners ? Math.round(src) : Math.floor(src));
    if (halfPixelCenters) n = Math.max(0, n);
    table.int(n);
  }
}

export const resizeNearestNeighborConfig: KernelConfig = {
  kernelName: ResizeNearestNeighbor,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {images} = inputs as {images: TensorInfo};
    const {alignCorners, halfPixelCenters, size} = attrs as unknown as ResizeNearestNeighborAttrs;
    const [newH, newW] = resizeInputs(ResizeNearestNeighbor, images, size);
    const [batch, inH, inW, channels] = images.shape;
    const outShape = [batch, newH, newW, channels];
    if (util.sizeFromShape(outShape) === 0) return b.makeTensorInfo(outShape, images.dtype);
    if (util.sizeFromShape(images.shape) === 0) return fill(b, outShape, images.dtype === 'float32' ? NaN : 0, images.dtype);
    const table = new Table();
    nearestAxis(table, inH, newH, !!alignCorners, !!halfPixelCenters);
    nearestAxis(table, inW, newW, !!alignCorners, !!halfPixelCenters);
    // A copy of 32-bit words: one shader for every dtype.
    const body = `
  out[i] = x[((b * u.inH + tab[r]) * u.inW + tab[u.outH + c]) * u.outC + d];`;
    const program = image4DProgram(ResizeNearestNeighbor, 'resizeNearest', outShape,
                                   [{name: 'x', type: 'u32'}, {name: 'tab', type: 'i32'}], 'u32', body, ints({inH, inW}));
    return runWithTable(b, program, [images], table, outShape, images.dtype);
  },
};

// ---- gradients ----------------------------------------------------------------------------------

function gradInputs(kernel: string, images: TensorInfo, dy: TensorInfo) {
  checkRank4(kernel, 'images', images);
  checkRank4(kernel, 'dy', dy);
  checkDtype(kernel, 'images', images, [...NUMERIC]);
  checkDtype(kernel, 'dy', dy, ['float32', 'int32']);
  check(dy.shape[0] === images.shape[0] && dy.shape[3] === images.shape[3],
        () => `${kernel}: input 'dy' has ${describeTensor(dy)}; its batch and channels must be those of 'images' (${describeTensor(images)})`);
}

/**
 * Bilinear gradient along one axis, for dy of length yLen and dx of length xLen: per dy index
 * [top, bottom, lerp bits] (as tfjs-backend-cpu computes them), then per dx index the range
 * [start, end) of dy indices whose top or bottom is that dx index (contiguous: both are monotone).
 */
function bilinearGradAxis(table: Table, xLen: number, yLen: number, alignCorners: boolean) {
  const ratio = scale(xLen, yLen, alignCorners);
  const start = new Array<number>(xLen).fill(0);
  const end = new Array<number>(xLen).fill(0);
  const cover = (x: number, y: number) => {
    if (end[x] === 0) start[x] = y;
    end[x] = y + 1;
  };
  for (let y = 0; y < yLen; ++y) {
    const src = y * ratio;
    const top = Math.floor(src);
    const bottom = Math.min(Math.ceil(src), xLen - 1);
    table.int(top);
    table.int(bottom);
    table.f32(src - top);
    cover(top, y);
    if (bottom !== top) cover(bottom, y);
  }
  for (let x = 0; x < xLen; ++x) {
    table.int(start[x]);
    table.int(end[x]);
  }
}

export const resizeBilinearGradConfig: KernelConfig = {
  kernelName: ResizeBilinearGrad,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {images, dy} = inputs as {images: TensorInfo; dy: TensorInfo};
    const {alignCorners} = attrs as unknown as ResizeBilinearAttrs;
    gradInputs(ResizeBilinearGrad, images, dy);
    const [, xH, xW] = images.shape;
    const [, yH, yW] = dy.shape;
    if (util.sizeFromShape(images.shape) === 0) return b.makeTensorInfo(images.shape, 'float32');
    if (util.sizeFromShape(dy.shape) === 0) return fill(b, images.shape, 0, 'float32');
    const table = new Table();
    bilinearGradAxis(table, xH, yH, !!alignCorners);
    const colBase = table.length;
    bilinearGradAxis(table, xW, yW, !!alignCorners);
    const dyType = wgslType(dy.dtype);
    // Each dy element adds dy·weight to up to four dx elements (its corners), in dy order, as the
    // CPU backend does; a dx element takes the corners that landed on it.
    const body = `
  let rRange = u.rowRanges + r * 2;
  let cRange = u.colRanges + c * 2;
  let cs = tab[cRange]; let ce = tab[cRange + 1];
  var acc = 0.0;
  for (var y = tab[rRange]; y < tab[rRange + 1]; y = y + 1) {
    let top = tab[y * 3]; let bottom = tab[y * 3 + 1]; let rl = bitcast<f32>(tab[y * 3 + 2]);
    let irl = 1.0 - rl;
    for (var x = cs; x < ce; x = x + 1) {
      let ct = u.colBase + x * 3;
      let left = tab[ct]; let right = tab[ct + 1]; let cl = bitcast<f32>(tab[ct + 2]);
      let icl = 1.0 - cl;
      let v = ${asF32('dy[((b * u.yH + y) * u.yW + x) * u.outC + d]', dyType)};
      if (top == r && left == c) { acc = acc + v * (irl * icl); }
      if (top == r && right == c) { acc = acc + v * (irl * cl); }
      if (bottom == r && left == c) { acc = acc + v * (rl * icl); }
      if (bottom == r && right == c) { acc = acc + v * (rl * cl); }
    }
  }
  out[i] = acc;`;
    const uniforms = ints({yH, yW, colBase, rowRanges: 3 * yH, colRanges: colBase + 3 * yW});
    const program = image4DProgram(ResizeBilinearGrad, 'resizeBilinearGrad', images.shape,
                                   [{name: 'dy', type: dyType}, {name: 'tab', type: 'i32'}], 'f32', body, uniforms);
    return runWithTable(b, program, [dy], table, images.shape, 'float32');
  },
};

/**
 * Nearest-neighbor gradient along one axis: per dx index the range [start, end) of dy indices whose
 * nearest source is that index, inside the search window tfjs-backend-cpu uses.
 */
function nearestGradAxis(table: Table, xLen: number, yLen: number, alignCorners: boolean) {
  const ratio = scale(xLen, yLen, alignCorners);
  const inv = 1 / ratio;
  const win = Math.ceil(inv) * 2 + 2;
  const nearest = (y: number) => Math.min(xLen - 1, alignCorners ? Math.round(y * ratio) : Math.floor(y * ratio));
  for (let x = 0; x < xLen; ++x) {
    let lo = 0, hi = yLen;
    if (Number.isFinite(win)) {
      // (A single-pixel axis with alignCorners makes the window infinite: every dy index maps to 0.)
      const first = Math.floor(Math.floor(x * inv) - win / 2);
      lo = Math.max(0, first);
      hi = Math.min(yLen, first + win);
    }
    let start = 0, end = 0;
    for (let y = lo; y < hi; ++y) {
      if (nearest(y) !== x) continue;
      if (end === 0) start = y;
      end = y + 1;
    }
    table.int(start);
    table.int(end);
  }
}

export const resizeNearestNeighborGradConfig: KernelConfig = {
  kernelName: ResizeNearestNeighborGrad,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {images, dy} = inputs as {images: TensorInfo; dy: TensorInfo};
    const {alignCorners} = attrs as unknown as ResizeNearestNeighborAttrs;
    gradInputs(ResizeNearestNeighborGrad, images, dy);
    const [, xH, xW] = images.shape;
    const [, yH, yW] = dy.shape;
    const dtype = images.dtype;
    if (util.sizeFromShape(images.shape) === 0) return b.makeTensorInfo(images.shape, dtype);
    if (util.sizeFromShape(dy.shape) === 0) return fill(b, images.shape, 0, dtype);
    const table = new Table();
    nearestGradAxis(table, xH, yH, !!alignCorners);
    nearestGradAxis(table, xW, yW, !!alignCorners);
    const dyType = wgslType(dy.dtype);
    const outType = wgslType(dtype);
    const body = `
  let cs = tab[(u.xH + c) * 2]; let ce = tab[(u.xH + c) * 2 + 1];
  var acc = 0.0;
  for (var y = tab[r * 2]; y < tab[r * 2 + 1]; y = y + 1) {
    for (var x = cs; x < ce; x = x + 1) {
      acc = acc + ${asF32('dy[((b * u.yH + y) * u.yW + x) * u.outC + d]', dyType)};
    }
  }
  out[i] = ${fromF32('acc', outType)};`;
    const program = image4DProgram(ResizeNearestNeighborGrad, 'resizeNearestGrad', images.shape,
                                   [{name: 'dy', type: dyType}, {name: 'tab', type: 'i32'}], outType, body, ints({xH, yH, yW}));
    return runWithTable(b, program, [dy], table, images.shape, dtype);
  },
};
