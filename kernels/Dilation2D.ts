// Dilation2D (grayscale morphological dilation, NHWC) and its gradients, as tfjs-backend-cpu:
//   y[b, h, w, d] = max over in-image taps (kr, kc) of x[b, hBeg + kr·dH, wBeg + kc·dW, d] + filter[kr, kc, d]
// starting from Number.MIN_SAFE_INTEGER with a strict '>' (NaN never wins; the first maximum in tap
// order wins). A window with no winner gives MIN_SAFE_INTEGER (float32: -2^53; int32: the typed
// array store wraps it to 1).
//
// The gradients route dy to the winning tap: a first pass records it per output element (-1 for no
// winner, whose gradient goes to pixel (max(hBeg, 0), max(wBeg, 0)) and filter tap (0, 0) as on the
// CPU backend); then each dx (or dfilter) element gathers, in the CPU backend's accumulation order,
// the dy elements routed to it (an int32 result is the truncated sum, as on the CPU backend).
import {backend_util, Dilation2D, Dilation2DAttrs, Dilation2DBackpropFilter, Dilation2DBackpropInput, DataType, KernelConfig,
        TensorInfo, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {Program} from '../src/codegen/program.js';
import {WgslScalar, wgslType} from '../src/codegen/shader.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {assertOutShape, assertPositive, Conv2DInfo, Shape4} from './conv_common.js';
import {asF32, check, checkDtype, checkRank4, describeTensor, fromF32, image4DProgram, ints} from './image_common.js';

type Info = Conv2DInfo;

function dilationInfo(kernel: string, x: TensorInfo, filter: TensorInfo, attrs: Dilation2DAttrs): Info {
  checkRank4(kernel, 'x', x);
  checkDtype(kernel, 'x', x, ['float32', 'int32']);
  check(filter.shape.length === 3, () => `${kernel}: input 'filter' must be rank 3 [filterHeight, filterWidth, channels], got ${describeTensor(filter)}`);
  checkDtype(kernel, 'filter', filter, ['float32', 'int32']);
  check(filter.shape[2] === x.shape[3],
        () => `${kernel}: input 'filter' (${describeTensor(filter)}) must have the channels of 'x' (${describeTensor(x)})`);
  assertPositive(kernel, 'strides', attrs.strides);
  assertPositive(kernel, 'dilations', attrs.dilations);
  check(attrs.pad === 'same' || attrs.pad === 'valid' || (Number.isInteger(attrs.pad) && (attrs.pad as number) >= 0),
        () => `${kernel}: attribute 'pad' must be 'same', 'valid' or a non-negative integer, got ${JSON.stringify(attrs.pad)}`);
  const info = backend_util.computeDilation2DInfo(x.shape as Shape4, filter.shape as [number, number, number], attrs.strides,
                                                  attrs.pad, 'NHWC', attrs.dilations);
  assertOutShape(kernel, info);
  return info;
}

function geometry(info: Info): Record<string, number> {
  return {
    inH: info.inHeight, inW: info.inWidth, fH: info.filterHeight, fW: info.filterWidth,
    sH: info.strideHeight, sW: info.strideWidth, dH: info.dilationHeight, dW: info.dilationWidth,
    padTop: info.padInfo.top, padLeft: info.padInfo.left, effH: info.effectiveFilterHeight, effW: info.effectiveFilterWidth,
    yH: info.outHeight, yW: info.outWidth,
  };
}

/**
 * The forward window scan. mode 'value': y in outType; 'tap': the winning tap kr·fW + kc, or -1.
 * The sums are f32 unless x and filter are both int32.
 */
function dilationProgram(name: string, info: Info, x: TensorInfo, filter: TensorInfo, mode: 'value'|'tap'): Program {
  const tx = wgslType(x.dtype), tf = wgslType(filter.dtype);
  const intSum = tx === 'i32' && tf === 'i32';
  const sum = intSum ? 'x[xi] + w[wi]' : `${asF32('x[xi]', tx)} + ${asF32('w[wi]', tf)}`;
  const outType: WgslScalar = mode === 'tap' ? 'i32' : tx;
  let store: string;
  if (mode === 'tap') store = 'out[i] = tap;';
  else if (outType === 'f32') store = 'out[i] = best;';
  else store = `out[i] = select(${intSum ? 'best' : 'toI32(best)'}, 1, tap < 0);`;
  const body = `
  let hBeg = r * u.sH - u.padTop;
  let wBeg = c * u.sW - u.padLeft;
  var best = ${intSum ? '0' : '-9007199254740992.0'};
  var tap = -1;
  for (var kr = 0; kr < u.fH; kr = kr + 1) {
    let hIn = hBeg + kr * u.dH;
    if (hIn < 0 || hIn >= u.inH) { continue; }
    for (var kc = 0; kc < u.fW; kc = kc + 1) {
      let wIn = wBeg + kc * u.dW;
      if (wIn < 0 || wIn >= u.inW) { continue; }
      let xi = ((b * u.inH + hIn) * u.inW + wIn) * u.outC + d;
      let wi = (kr * u.fW + kc) * u.outC + d;
      let v = ${sum};
      if (${intSum ? 'tap < 0 || ' : ''}v > best) { best = v; tap = kr * u.fW + kc; }
    }
  }
  ${store}`;
  return image4DProgram(name, `dilation2d|${mode}`, info.outShape, [{name: 'x', type: tx}, {name: 'w', type: tf}], outType, body,
                        ints(geometry(info)));
}

/** `acc` summing dy values (in f32; the CPU backend sums in nested JS arrays, converting once). */
function accumulate(outType: WgslScalar, dyType: WgslScalar): {init: string; add: string; result: string} {
  return {init: 'var acc = 0.0;', add: `acc = acc + ${asF32('dy[yi]', dyType)};`, result: fromF32('acc', outType)};
}

function checkDy(kernel: string, dy: TensorInfo, info: Info) {
  check(util.arraysEqual(dy.shape, info.outShape),
        () => `${kernel}: input 'dy' has ${describeTensor(dy)}; expected shape [${info.outShape}] from the dilation's geometry`);
  checkDtype(kernel, 'dy', dy, ['float32', 'int32']);
}

function withTaps(b: MpsgpuBackend, name: string, info: Info, x: TensorInfo, filter: TensorInfo,
                  run: (taps: TensorInfo) => TensorInfo): TensorInfo {
  const taps = b.runProgram(dilationProgram(name, info, x, filter, 'tap'), [x, filter], info.outShape, 'int32');
  const out = run(taps);
  b.disposeIntermediateTensorInfo(taps);
  return out;
}

export const dilation2DConfig: KernelConfig = {
  kernelName: Dilation2D,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x, filter} = inputs as {x: TensorInfo; filter: TensorInfo};
    const info = dilationInfo(Dilation2D, x, filter, attrs as unknown as Dilation2DAttrs);
    return b.runProgram(dilationProgram(Dilation2D, info, x, filter, 'value'), [x, filter], info.outShape, x.dtype);
  },
};

export const dilation2DBackpropInputConfig: KernelConfig = {
  kernelName: Dilation2DBackpropInput,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x, filter, dy} = inputs as {x: TensorInfo; filter: TensorInfo; dy: TensorInfo};
    const K = Dilation2DBackpropInput;
    const info = dilationInfo(K, x, filter, attrs as unknown as Dilation2DAttrs);
    checkDy(K, dy, info);
    const dtype: DataType = x.dtype;
    if (util.sizeFromShape(x.shape) === 0) return b.makeTensorInfo(x.shape, dtype);
    const outType = wgslType(dtype);
    const {init, add, result} = accumulate(outType, wgslType(dy.dtype));
    // dy rows whose window (or, for row 0, whose no-winner default) can route to row r.
    const body = `
  let nh = r + u.padTop - u.effH + 1;
  let hLo = select(select(0, (nh + u.sH - 1) / u.sH, nh > 0), 0, r == 0);
  let hHi = min(u.yH - 1, (r + u.padTop) / u.sH);
  let nw = c + u.padLeft - u.effW + 1;
  let wLo = select(select(0, (nw + u.sW - 1) / u.sW, nw > 0), 0, c == 0);
  let wHi = min(u.yW - 1, (c + u.padLeft) / u.sW);
  ${init}
  for (var oh = hLo; oh <= hHi; oh = oh + 1) {
    let hBeg = oh * u.sH - u.padTop;
    for (var ow = wLo; ow <= wHi; ow = ow + 1) {
      let wBeg = ow * u.sW - u.padLeft;
      let yi = ((b * u.yH + oh) * u.yW + ow) * u.outC + d;
      let t = taps[yi];
      var ph = max(hBeg, 0);
      var pw = max(wBeg, 0);
      if (t >= 0) { ph = hBeg + (t / u.fW) * u.dH; pw = wBeg + (t % u.fW) * u.dW; }
      if (ph == r && pw == c) { ${add} }
    }
  }
  out[i] = ${result};`;
    return withTaps(b, K, info, x, filter, taps => b.runProgram(
      image4DProgram(K, 'dilation2d|dx', x.shape, [{name: 'dy', type: wgslType(dy.dtype)}, {name: 'taps', type: 'i32'}], outType,
                     body, ints(geometry(info))),
      [dy, taps], x.shape, dtype));
  },
};

export const dilation2DBackpropFilterConfig: KernelConfig = {
  kernelName: Dilation2DBackpropFilter,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x, filter, dy} = inputs as {x: TensorInfo; filter: TensorInfo; dy: TensorInfo};
    const K = Dilation2DBackpropFilter;
    const info = dilationInfo(K, x, filter, attrs as unknown as Dilation2DAttrs);
    checkDy(K, dy, info);
    const dtype: DataType = filter.dtype;
    if (util.sizeFromShape(filter.shape) === 0) return b.makeTensorInfo(filter.shape, dtype);
    const outType = wgslType(dtype);
    const {init, add, result} = accumulate(outType, wgslType(dy.dtype));
    // The filter [fH, fW, C] as a 4-D [1, fH, fW, C] output: r = kr, c = kc.
    const body = `
  let tapId = r * u.fW + c;
  ${init}
  for (var bb = 0; bb < u.batch; bb = bb + 1) {
    for (var oh = 0; oh < u.yH; oh = oh + 1) {
      for (var ow = 0; ow < u.yW; ow = ow + 1) {
        let yi = ((bb * u.yH + oh) * u.yW + ow) * u.outC + d;
        let t = taps[yi];
        if (t == tapId || (t < 0 && tapId == 0)) { ${add} }
      }
    }
  }
  out[i] = ${result};`;
    const shape4 = [1, ...filter.shape];
    return withTaps(b, K, info, x, filter, taps => b.runProgram(
      image4DProgram(K, 'dilation2d|dfilter', shape4, [{name: 'dy', type: wgslType(dy.dtype)}, {name: 'taps', type: 'i32'}], outType,
                     body, ints({...geometry(info), batch: info.batchSize})),
      [dy, taps], filter.shape, dtype));
  },
};
