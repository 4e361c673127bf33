// CropAndResize (NHWC): one invocation per output element [box, y, x, channel] samples the image
// bilinearly or at the nearest pixel, as tfjs-backend-cpu does: a sample outside the image takes
// extrapolationValue (whole rows first, then columns), a box whose image index is >= batch gives
// zeros, a negative index or a NaN box coordinate NaN (the CPU backend reads past its array).
//
// The boxes are read on the CPU (a small [numBoxes, 4] tensor, free when it came from JavaScript)
// and each box's sample rows and columns are computed there in float64 with the CPU backend's
// expressions, then passed as a table: near a rounding tie (nearest) or the image border
// (extrapolation) float32 arithmetic would decide differently.
import {CropAndResize, CropAndResizeAttrs, KernelConfig, TensorInfo, util} from '@tensorflow/tfjs-core';

import {wgslType} from '../src/codegen/shader.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {asF32, check, checkDtype, checkNumber, checkRank4, checkSize2, describeTensor, floats, image4DProgram, ints, runWithTable, Table} from './image_common.js';

const OUTSIDE = -1;
const NAN = -2;

/**
 * Per box, per crop row then per crop column: [low index, high index, fraction bits] (bilinear) or
 * [nearest index, 0, 0]; the low index is OUTSIDE for a sample outside the image, NAN for NaN.
 */
function sampleTable(boxes: Float32Array, numBoxes: number, imageH: number, imageW: number, cropH: number, cropW: number,
                     method: 'bilinear'|'nearest'): Table {
  const table = new Table();
  const axis = (v1: number, v2: number, len: number, crop: number) => {
    const scale = crop > 1 ? (v2 - v1) * (len - 1) / (crop - 1) : 0;
    for (let k = 0; k < crop; ++k) {
      const at = crop > 1 ? v1 * (len - 1) + k * scale : 0.5 * (v1 + v2) * (len - 1);
      if (at < 0 || at > len - 1) {
        table.int(OUTSIDE); table.int(0); table.int(0);
      } else if (Number.isNaN(at)) {
        table.int(NAN); table.int(0); table.int(0);
      } else if (method === 'bilinear') {
        table.int(Math.floor(at)); table.int(Math.ceil(at)); table.f32(at - Math.floor(at));
      } else {
        table.int(Math.round(at)); table.int(0); table.int(0);
      }
    }
  };
  for (let n = 0; n < numBoxes; ++n) {
    const [y1, x1, y2, x2] = boxes.subarray(4 * n, 4 * n + 4);
    axis(y1, y2, imageH, cropH);
    axis(x1, x2, imageW, cropW);
  }
  return table;
}

export const cropAndResizeConfig: KernelConfig = {
  kernelName: CropAndResize,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {image, boxes, boxInd} = inputs as {image: TensorInfo; boxes: TensorInfo; boxInd: TensorInfo};
    const {cropSize, method, extrapolationValue} = attrs as unknown as CropAndResizeAttrs;
    const K = CropAndResize;
    checkRank4(K, 'image', image);
    checkDtype(K, 'image', image, ['float32', 'int32', 'bool']);
    check(boxes.shape.length === 2 && boxes.shape[1] === 4, () => `${K}: input 'boxes' must have shape [numBoxes, 4], got ${describeTensor(boxes)}`);
    checkDtype(K, 'boxes', boxes, ['float32']);
    const numBoxes = boxes.shape[0];
    check(boxInd.shape.length === 1 && boxInd.shape[0] === numBoxes,
          () => `${K}: input 'boxInd' must have shape [${numBoxes}] (one image index per box), got ${describeTensor(boxInd)}`);
    checkDtype(K, 'boxInd', boxInd, ['int32']);
    checkSize2(K, 'cropSize', cropSize);
    check(method === 'bilinear' || method === 'nearest', () => `${K}: attribute 'method' must be 'bilinear' or 'nearest', got ${JSON.stringify(method)}`);
    const extrapolation = extrapolationValue ?? 0;
    checkNumber(K, 'extrapolationValue', extrapolation);

    const [batch, imageH, imageW] = image.shape;
    const [cropH, cropW] = cropSize;
    const outShape = [numBoxes, cropH, cropW, image.shape[3]];
    if (util.sizeFromShape(outShape) === 0) return b.makeTensorInfo(outShape, 'float32');
    const table = sampleTable(b.readSync(boxes.dataId) as Float32Array, numBoxes, imageH, imageW, cropH, cropW, method);
    const type = wgslType(image.dtype);
    const load = (row: string, col: string) => asF32(`image[((bi * u.imageH + ${row}) * u.imageW + ${col}) * u.outC + d]`, type);
    const sample = method === 'bilinear'
      ? `let bottom = tab[rowE + 1]; let yLerp = bitcast<f32>(tab[rowE + 2]);
  let right = tab[colE + 1]; let xLerp = bitcast<f32>(tab[colE + 2]);
  let tl = ${load('top', 'left')}; let tr = ${load('top', 'right')};
  let bl = ${load('bottom', 'left')}; let br = ${load('bottom', 'right')};
  let t = tl + (tr - tl) * xLerp;
  let bo = bl + (br - bl) * xLerp;
  out[i] = t + (bo - t) * yLerp;`
      : `out[i] = ${load('top', 'left')};`;
    const body = `
  let bi = boxInd[b];
  if (bi >= u.batch) { out[i] = 0.0; return; }
  let rowE = (b * (u.outH + u.outW) + r) * 3;
  let colE = (b * (u.outH + u.outW) + u.outH + c) * 3;
  let top = tab[rowE];
  let left = tab[colE];
  if (top == ${OUTSIDE} || left == ${OUTSIDE}) { out[i] = u.extrapolation; return; }
  if (bi < 0 || top == ${NAN} || left == ${NAN}) { out[i] = nanF32(); return; }
  ${sample}`;
    const program = image4DProgram(CropAndResize, `cropAndResize|${method}`, outShape,
                                   [{name: 'image', type}, {name: 'boxInd', type: 'i32'}, {name: 'tab', type: 'i32'}], 'f32', body,
                                   [...ints({batch, imageH, imageW}), ...floats({extrapolation})]);
    return runWithTable(b, program, [image, boxInd], table, outShape, 'float32');
  },
};
