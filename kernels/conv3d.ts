// The 3-D convolution and pooling family (NDHWC): Conv3D, Conv3DBackpropInputV2 (also
// tf.conv3dTranspose), Conv3DBackpropFilterV2, MaxPool3D, AvgPool3D, MaxPool3DGrad, AvgPool3DGrad.
// Same designs as the 2-D kernels (kernels/conv_common.ts): one thread per output element looping
// over its window, gradients gathered without zero-stuffing, geometry in uniforms.
import {AvgPool3D, AvgPool3DAttrs, AvgPool3DGrad, AvgPool3DGradAttrs, backend_util, Conv3D, Conv3DAttrs, Conv3DBackpropFilterV2,
        Conv3DBackpropFilterV2Attrs, Conv3DBackpropInputV2, Conv3DBackpropInputV2Attrs, KernelConfig, MaxPool3D, MaxPool3DAttrs,
        MaxPool3DGrad, MaxPool3DGradAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {Program} from '../src/codegen/program.js';
import {dispatch1D, ShaderSpec, sizeOf, Uniform} from '../src/codegen/shader.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {assertFloat, assertPositive} from './conv_common.js';

type Conv3DInfo = backend_util.Conv3DInfo;
type Shape5 = [number, number, number, number, number];

const WORKGROUP = 64;

function assertRank5(kernel: string, name: string, t: TensorInfo, layout = 'NDHWC'): void {
  if (t.shape.length !== 5) {
    throw new Error(`${kernel}: input '${name}' must be rank 5 (${layout}), got shape [${t.shape}] (dtype ${t.dtype})`);
  }
}

function assertShape5(kernel: string, name: string, shape: unknown): asserts shape is Shape5 {
  if (!Array.isArray(shape) || shape.length !== 5 || !shape.every(d => Number.isInteger(d) && d >= 0)) {
    throw new Error(`${kernel}: attribute '${name}' must be a 5-D shape, got ${JSON.stringify(shape)}`);
  }
}

function assertOutShape3D(kernel: string, info: Conv3DInfo): void {
  if (!info.outShape.every(d => Number.isInteger(d) && d >= 0)) {
    throw new Error(`${kernel}: the output shape [${info.outShape}] computed from input shape [${info.inShape}] and ` +
      `filter ${info.filterDepth}x${info.filterHeight}x${info.filterWidth} is not valid`);
  }
}

function assertNDHWC(kernel: string, dataFormat: string|undefined): void {
  if (dataFormat != null && dataFormat !== 'NDHWC') {
    throw new Error(`${kernel}: only the NDHWC data format is supported, got ${dataFormat}`);
  }
}

function assertDy(kernel: string, dy: TensorInfo, info: Conv3DInfo): void {
  const [b, d, h, w, c] = dy.shape;
  if (dy.shape.length !== 5 || b !== info.batchSize || d < info.outDepth || h < info.outHeight || w < info.outWidth ||
      c !== info.outChannels) {
    throw new Error(`${kernel}: input 'dy' has shape [${dy.shape}] (dtype ${dy.dtype}); expected [${info.outShape}]`);
  }
}

function geometry(info: Conv3DInfo): Uniform[] {
  const v: Record<string, number> = {
    inD: info.inDepth, inH: info.inHeight, inW: info.inWidth, inC: info.inChannels,
    outD: info.outDepth, outH: info.outHeight, outW: info.outWidth, outC: info.outChannels,
    fD: info.filterDepth, fH: info.filterHeight, fW: info.filterWidth,
    effD: info.effectiveFilterDepth, effH: info.effectiveFilterHeight, effW: info.effectiveFilterWidth,
    sD: info.strideDepth, sH: info.strideHeight, sW: info.strideWidth,
    dD: info.dilationDepth, dH: info.dilationHeight, dW: info.dilationWidth,
    padFront: info.padInfo.front, padTop: info.padInfo.top, padLeft: info.padInfo.left,
  };
  return Object.entries(v).map(([name, value]) => ({name, type: 'i32' as const, value}));
}

/** dy strides per logical dim (batch, depth, row, col); channels are contiguous. */
function dyStrides(dy: TensorInfo): Uniform[] {
  const [, d, h, w, c] = dy.shape;
  const s = [d * h * w * c, h * w * c, w * c, c];
  return ['B', 'F', 'R', 'C'].map((n, i) => ({name: `dyS${n}`, type: 'i32' as const, value: s[i]}));
}

/** Splits flatId over an NDHWC tensor of depth D, rows H, cols W, channels C into b, f, r, c, ch. */
function unflatten5(dims: [string, string, string, string]): string {
  const [D, H, W, C] = dims;
  return `var t = i32(flatId);
  let ch = t % ${C}; t = t / ${C};
  let c = t % ${W}; t = t / ${W};
  let r = t % ${H}; t = t / ${H};
  let f = t % ${D}; let b = t / ${D};`;
}

function program(name: string, key: string, shader: () => ShaderSpec, size: number, uniforms: Uniform[]): Program {
  return {name, key, shader, uniforms: [{name: 'size', type: 'u32', value: size}, ...uniforms], dispatch: dispatch1D(size, WORKGROUP)};
}

/**
 * WGSL looping kd, kr, kc over a window and, for a dx element at (f, r, c), finding the dy position
 * (yf, yr, yc) whose window puts that tap on it; `body` runs for each. Offsets step by `step*`.
 */
function gatherLoops(bound: [string, string, string], step: [string, string, string], body: string): string {
  return `for (var kd = 0; kd < ${bound[0]}; kd = kd + ${step[0]}) {
    let tf = f + u.padFront - kd;
    if (tf < 0 || tf % u.sD != 0) { continue; }
    let yf = tf / u.sD;
    if (yf >= u.outD) { continue; }
    for (var kr = 0; kr < ${bound[1]}; kr = kr + ${step[1]}) {
      let tr = r + u.padTop - kr;
      if (tr < 0 || tr % u.sH != 0) { continue; }
      let yr = tr / u.sH;
      if (yr >= u.outH) { continue; }
      for (var kc = 0; kc < ${bound[2]}; kc = kc + ${step[2]}) {
        let tc = c + u.padLeft - kc;
        if (tc < 0 || tc % u.sW != 0) { continue; }
        let yc = tc / u.sW;
        if (yc >= u.outW) { continue; }
        ${body}
      }
    }
  }`;
}

// ---- convolution --------------------------------------------------------------------------------

function conv3dForward(info: Conv3DInfo): Program {
  const shader = (): ShaderSpec => ({
    inputs: [{name: 'x', type: 'f32'}, {name: 'w', type: 'f32'}],
    outputs: [{name: 'y', type: 'f32'}],
    workgroupSize: [WORKGROUP, 1, 1],
    body: `
  if (flatId >= u.size) { return; }
  ${unflatten5(['u.outD', 'u.outH', 'u.outW', 'u.outC'])}
  var acc = 0.0;
  for (var kd = 0; kd < u.fD; kd = kd + 1) {
    let xf = f * u.sD - u.padFront + kd * u.dD;
    if (xf < 0 || xf >= u.inD) { continue; }
    for (var kr = 0; kr < u.fH; kr = kr + 1) {
      let xr = r * u.sH - u.padTop + kr * u.dH;
      if (xr < 0 || xr >= u.inH) { continue; }
      for (var kc = 0; kc < u.fW; kc = kc + 1) {
        let xc = c * u.sW - u.padLeft + kc * u.dW;
        if (xc < 0 || xc >= u.inW) { continue; }
        let xPix = (((b * u.inD + xf) * u.inH + xr) * u.inW + xc) * u.inC;
        let wTap = ((kd * u.fH + kr) * u.fW + kc) * u.inC;
        for (var d1 = 0; d1 < u.inC; d1 = d1 + 1) {
          acc = acc + x[xPix + d1] * w[(wTap + d1) * u.outC + ch];
        }
      }
    }
  }
  y[flatId] = acc;`,
  });
  return program(Conv3D, 'conv3d|fwd', shader, sizeOf(info.outShape), geometry(info));
}

function conv3dBackpropInput(info: Conv3DInfo, dy: TensorInfo): Program {
  const shader = (): ShaderSpec => ({
    inputs: [{name: 'dy', type: 'f32'}, {name: 'w', type: 'f32'}],
    outputs: [{name: 'dx', type: 'f32'}],
    workgroupSize: [WORKGROUP, 1, 1],
    body: `
  if (flatId >= u.size) { return; }
  ${unflatten5(['u.inD', 'u.inH', 'u.inW', 'u.inC'])}
  var acc = 0.0;
  ${gatherLoops(['u.fD * u.dD', 'u.fH * u.dH', 'u.fW * u.dW'], ['u.dD', 'u.dH', 'u.dW'], `
        let dyPix = b * u.dySB + yf * u.dySF + yr * u.dySR + yc * u.dySC;
        let wTap = ((((kd / u.dD) * u.fH + kr / u.dH) * u.fW + kc / u.dW) * u.inC + ch) * u.outC;
        for (var d2 = 0; d2 < u.outC; d2 = d2 + 1) {
          acc = acc + dy[dyPix + d2] * w[wTap + d2];
        }`)}
  dx[flatId] = acc;`,
  });
  return program(Conv3DBackpropInputV2, 'conv3d|dx', shader, sizeOf(info.inShape), [...geometry(info), ...dyStrides(dy)]);
}

function conv3dBackpropFilter(info: Conv3DInfo, dy: TensorInfo): Program {
  const shader = (): ShaderSpec => ({
    inputs: [{name: 'x', type: 'f32'}, {name: 'dy', type: 'f32'}],
    outputs: [{name: 'dw', type: 'f32'}],
    workgroupSize: [WORKGROUP, 1, 1],
    body: `
  if (flatId >= u.size) { return; }
  var t = i32(flatId);
  let d2 = t % u.outC; t = t / u.outC;
  let d1 = t % u.inC; t = t / u.inC;
  let kc = t % u.fW; t = t / u.fW;
  let kr = t % u.fH; let kd = t / u.fH;
  var acc = 0.0;
  for (var b = 0; b < u.batch; b = b + 1) {
    for (var yf = 0; yf < u.outD; yf = yf + 1) {
      let xf = yf * u.sD - u.padFront + kd * u.dD;
      if (xf < 0 || xf >= u.inD) { continue; }
      for (var yr = 0; yr < u.outH; yr = yr + 1) {
        let xr = yr * u.sH - u.padTop + kr * u.dH;
        if (xr < 0 || xr >= u.inH) { continue; }
        for (var yc = 0; yc < u.outW; yc = yc + 1) {
          let xc = yc * u.sW - u.padLeft + kc * u.dW;
          if (xc < 0 || xc >= u.inW) { continue; }
          acc = acc + x[(((b * u.inD + xf) * u.inH + xr) * u.inW + xc) * u.inC + d1] *
                      dy[b * u.dySB + yf * u.dySF + yr * u.dySR + yc * u.dySC + d2];
        }
      }
    }
  }
  dw[flatId] = acc;`,
  });
  return program(Conv3DBackpropFilterV2, 'conv3d|dw', shader, sizeOf(info.filterShape),
                 [{name: 'batch', type: 'i32', value: info.batchSize}, ...geometry(info), ...dyStrides(dy)]);
}

function conv3dInfo(kernel: string, xShape: Shape5, filterShape: Shape5, strides: number|number[], dilations: number|number[],
                    pad: 'valid'|'same'): Conv3DInfo {
  assertPositive(kernel, 'strides', strides);
  assertPositive(kernel, 'dilations', dilations);
  const info = backend_util.computeConv3DInfo(xShape, filterShape, strides as [number, number, number],
                                              dilations as [number, number, number], pad);
  if (xShape[4] !== filterShape[3]) {
    throw new Error(`${kernel}: the input has ${xShape[4]} channels (shape [${xShape}], NDHWC) but the filter ` +
      `(shape [${filterShape}]) expects ${filterShape[3]}`);
  }
  assertOutShape3D(kernel, info);
  return info;
}

export const conv3DConfig: KernelConfig = {
  kernelName: Conv3D,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x, filter} = inputs as {x: TensorInfo, filter: TensorInfo};
    const a = attrs as unknown as Conv3DAttrs;
    assertRank5(Conv3D, 'x', x);
    assertRank5(Conv3D, 'filter', filter, 'filterDepth, filterHeight, filterWidth, inChannels, outChannels');
    assertFloat(Conv3D, 'x', x);
    assertFloat(Conv3D, 'filter', filter);
    assertNDHWC(Conv3D, a.dataFormat);
    const info = conv3dInfo(Conv3D, x.shape as Shape5, filter.shape as Shape5, a.strides, a.dilations ?? 1, a.pad);
    return b.runProgram(conv3dForward(info), [x, filter], info.outShape, 'float32');
  },
};

export const conv3DBackpropInputV2Config: KernelConfig = {
  kernelName: Conv3DBackpropInputV2,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const k = Conv3DBackpropInputV2;
    const {dy, filter} = inputs as {dy: TensorInfo, filter: TensorInfo};
    const a = attrs as unknown as Conv3DBackpropInputV2Attrs;
    assertRank5(k, 'dy', dy);
    assertRank5(k, 'filter', filter, 'filterDepth, filterHeight, filterWidth, inChannels, outChannels');
    assertFloat(k, 'dy', dy);
    assertFloat(k, 'filter', filter);
    assertShape5(k, 'inputShape', a.inputShape);
    const info = conv3dInfo(k, a.inputShape, filter.shape as Shape5, a.strides, 1, a.pad);
    assertDy(k, dy, info);
    return b.runProgram(conv3dBackpropInput(info, dy), [dy, filter], info.inShape, 'float32');
  },
};

export const conv3DBackpropFilterV2Config: KernelConfig = {
  kernelName: Conv3DBackpropFilterV2,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const k = Conv3DBackpropFilterV2;
    const {x, dy} = inputs as {x: TensorInfo, dy: TensorInfo};
    const a = attrs as unknown as Conv3DBackpropFilterV2Attrs;
    assertRank5(k, 'x', x);
    assertRank5(k, 'dy', dy);
    assertFloat(k, 'x', x);
    assertFloat(k, 'dy', dy);
    assertShape5(k, 'filterShape', a.filterShape);
    const info = conv3dInfo(k, x.shape as Shape5, a.filterShape, a.strides, 1, a.pad);
    assertDy(k, dy, info);
    return b.runProgram(conv3dBackpropFilter(info, dy), [x, dy], info.filterShape, 'float32');
  },
};

// ---- pooling ------------------------------------------------------------------------------------

/**
 * 'max' / 'avg': pooled values (float32, as tfjs-backend-cpu returns). An average over an empty
 * window is 0. 'positions': the max's offset in its window (kd * effH * effW + kr * effW + kc, -1 if
 * none); unlike the 2-D kernels, tfjs-backend-cpu's 3-D positions keep the *last* maximum (>=).
 */
function pool3dProgram(name: string, info: Conv3DInfo, mode: 'max'|'avg'|'positions', isInt: boolean): Program {
  const read = isInt ? 'f32(x[xi])' : 'x[xi]';
  let init: string, update: string, store: string;
  if (mode === 'avg') {
    init = 'var sum = 0.0; var count = 0;';
    update = `sum = sum + ${read}; count = count + 1;`;
    store = 'y[flatId] = sum / f32(max(count, 1));';
  } else if (mode === 'max') {
    init = 'var best = -infF32();';
    update = `let v = ${read}; if (v > best) { best = v; }`;
    store = 'y[flatId] = best;';
  } else {
    init = 'var best = -infF32(); var pos = -1;';
    update = `let v = ${read}; if (v >= best) { best = v; pos = ((xf - fC) * u.effH + (xr - rC)) * u.effW + (xc - cC); }`;
    store = 'idx[flatId] = pos;';
  }
  const shader = (): ShaderSpec => ({
    inputs: [{name: 'x', type: isInt ? 'i32' : 'f32'}],
    outputs: [mode === 'positions' ? {name: 'idx', type: 'i32'} : {name: 'y', type: 'f32'}],
    workgroupSize: [WORKGROUP, 1, 1],
    body: `
  if (flatId >= u.size) { return; }
  ${unflatten5(['u.outD', 'u.outH', 'u.outW', 'u.inC'])}
  let fC = f * u.sD - u.padFront;
  let rC = r * u.sH - u.padTop;
  let cC = c * u.sW - u.padLeft;
  let fMin = select(fC, fC + ((-fC + u.dD - 1) / u.dD) * u.dD, fC < 0);
  let rMin = select(rC, rC + ((-rC + u.dH - 1) / u.dH) * u.dH, rC < 0);
  let cMin = select(cC, cC + ((-cC + u.dW - 1) / u.dW) * u.dW, cC < 0);
  let fMax = min(u.inD, u.effD + fC);
  let rMax = min(u.inH, u.effH + rC);
  let cMax = min(u.inW, u.effW + cC);
  ${init}
  for (var xf = fMin; xf < fMax; xf = xf + u.dD) {
    for (var xr = rMin; xr < rMax; xr = xr + u.dH) {
      for (var xc = cMin; xc < cMax; xc = xc + u.dW) {
        let xi = (((b * u.inD + xf) * u.inH + xr) * u.inW + xc) * u.inC + ch;
        ${update}
      }
    }
  }
  ${store}`,
  });
  return program(name, `pool3d|${mode}|${isInt ? 'i32' : 'f32'}`, shader, sizeOf(info.outShape), geometry(info));
}

function pool3dGradProgram(name: string, info: Conv3DInfo, mode: 'max'|'avg', dy: TensorInfo): Program {
  const tap = mode === 'max'
    ? `if (pos[(((b * u.outD + yf) * u.outH + yr) * u.outW + yc) * u.inC + ch] == (kd * u.effH + kr) * u.effW + kc) { acc = acc + dy[dyi]; }`
    : 'acc = acc + dy[dyi];';
  const shader = (): ShaderSpec => ({
    inputs: mode === 'max' ? [{name: 'dy', type: 'f32'}, {name: 'pos', type: 'i32'}] : [{name: 'dy', type: 'f32'}],
    outputs: [{name: 'dx', type: 'f32'}],
    workgroupSize: [WORKGROUP, 1, 1],
    body: `
  if (flatId >= u.size) { return; }
  ${unflatten5(['u.inD', 'u.inH', 'u.inW', 'u.inC'])}
  var acc = 0.0;
  ${gatherLoops(['u.effD', 'u.effH', 'u.effW'], ['u.dD', 'u.dH', 'u.dW'], `
        let dyi = b * u.dySB + yf * u.dySF + yr * u.dySR + yc * u.dySC + ch;
        ${tap}`)}
  dx[flatId] = ${mode === 'avg' ? 'acc * u.avgMul' : 'acc'};`,
  });
  return program(name, `pool3dgrad|${mode}`, shader, sizeOf(info.inShape),
                 [...geometry(info), ...dyStrides(dy),
                  {name: 'avgMul', type: 'f32', value: 1 / (info.filterDepth * info.filterHeight * info.filterWidth)}]);
}

type Pool3DGeometry = Pick<MaxPool3DAttrs, 'filterSize'|'strides'|'pad'|'dimRoundingMode'>;

function pool3dInfo(kernel: string, x: TensorInfo, a: Pool3DGeometry, xName = 'x'): Conv3DInfo {
  assertRank5(kernel, xName, x);
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`${kernel}: input '${xName}' must be float32 or int32, got shape [${x.shape}] (dtype ${x.dtype})`);
  }
  assertPositive(kernel, 'filterSize', a.filterSize);
  assertPositive(kernel, 'strides', a.strides);
  const info = backend_util.computePool3DInfo(x.shape as Shape5, a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  assertOutShape3D(kernel, info);
  return info;
}

function pool3dConfig(kernelName: string, mode: 'max'|'avg'): KernelConfig {
  return {
    kernelName,
    backendName: 'mpsgpu',
    kernelFunc: ({inputs, backend, attrs}) => {
      const b = mpsgpuBackend(backend);
      const {x} = inputs as {x: TensorInfo};
      const a = attrs as unknown as MaxPool3DAttrs|AvgPool3DAttrs;
      assertNDHWC(kernelName, a.dataFormat);
      const info = pool3dInfo(kernelName, x, a);
      return b.runProgram(pool3dProgram(kernelName, info, mode, x.dtype === 'int32'), [x], info.outShape, 'float32');
    },
  };
}

export const maxPool3DConfig = pool3dConfig(MaxPool3D, 'max');
export const avgPool3DConfig = pool3dConfig(AvgPool3D, 'avg');

export const maxPool3DGradConfig: KernelConfig = {
  kernelName: MaxPool3DGrad,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const k = MaxPool3DGrad;
    const {dy, input} = inputs as {dy: TensorInfo, input: TensorInfo};
    const info = pool3dInfo(k, input, attrs as unknown as MaxPool3DGradAttrs, 'input');
    assertRank5(k, 'dy', dy);
    assertFloat(k, 'dy', dy);
    assertDy(k, dy, info);
    const positions = b.runProgram(pool3dProgram(k, info, 'positions', input.dtype === 'int32'), [input], info.outShape, 'int32');
    const dx = b.runProgram(pool3dGradProgram(k, info, 'max', dy), [dy, positions], info.inShape, 'float32');
    b.disposeIntermediateTensorInfo(positions);
    return dx;
  },
};

export const avgPool3DGradConfig: KernelConfig = {
  kernelName: AvgPool3DGrad,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const k = AvgPool3DGrad;
    const {dy, input} = inputs as {dy: TensorInfo, input: TensorInfo};
    const info = pool3dInfo(k, input, attrs as unknown as AvgPool3DGradAttrs, 'input');
    assertRank5(k, 'dy', dy);
    assertFloat(k, 'dy', dy);
    assertDy(k, dy, info);
    return b.runProgram(pool3dGradProgram(k, info, 'avg', dy), [dy], info.inShape, 'float32');
  },
};
