// Conv2D and FusedConv2D (bias and activation applied before the store), NHWC or NCHW.
import {backend_util, Conv2D, Conv2DAttrs, FusedConv2D, FusedConv2DAttrs, KernelConfig, TensorInfo, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {cacheSet, tensorKey} from '../src/codegen/shader.js';
import {mpsgpuBackend, reshapeView} from '../src/kernel_util.js';

import {Activation, assertFloat, assertFloat4D, assertOutShape, assertPositive, attrKey, checkActivation,
        checkedInfo, Conv2DInfo, Epilogue, FILTER_LAYOUT, Shape4} from './conv_common.js';
import {conv2d} from './conv_gemm.js';

export function conv2dInfo(kernel: string, x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs): Conv2DInfo {
  const {strides, pad, dilations, dimRoundingMode} = attrs;
  const dataFormat = attrs.dataFormat ?? 'NHWC';
  assertFloat4D(kernel, ['x', x, dataFormat], ['filter', filter, FILTER_LAYOUT]);
  assertPositive(kernel, 'strides', strides);
  assertPositive(kernel, 'dilations', dilations);
  const info = backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, strides, dilations ?? 1, pad,
                                              dimRoundingMode, false, backend_util.convertConv2DDataFormat(dataFormat));
  if (info.inChannels !== filter.shape[2]) {
    throw new Error(`${kernel}: input 'x' (shape [${x.shape}], ${dataFormat}) has ${info.inChannels} channels but ` +
      `'filter' (shape [${filter.shape}]) expects ${filter.shape[2]}`);
  }
  assertOutShape(kernel, info);
  return info;
}

/** Everything conv2dInfo depends on, as key text. */
function conv2dInfoKey(kernel: string, x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs): string {
  return kernel + '|' + tensorKey(x) + '|' + tensorKey(filter) + '|' + attrKey(attrs.strides) + '|' + attrKey(attrs.pad) + '|' +
    attrKey(attrs.dilations) + '|' + attrKey(attrs.dimRoundingMode) + '|' + attrKey(attrs.dataFormat);
}

/**
 * The epilogue's tensors as the program reads them: a 1-D bias or PReLU weight of an NCHW output
 * is aligned with the channel axis (as tfjs-backend-cpu does); everything else broadcasts
 * numpy-style against the output. Returns the views to dispose after recording.
 */
export function prepareEpilogue(b: MpsgpuBackend, kernel: string, info: Conv2DInfo, activation: string|undefined,
                                bias: TensorInfo|undefined, prelu: TensorInfo|undefined, leakyreluAlpha: number|undefined,
                                checked = false): {epilogue: Epilogue, views: TensorInfo[]} {
  // `checked`: these activation, tensors' dtypes and shapes and info passed the checks before.
  const act = checked ? (activation ?? 'linear') as Activation : checkActivation(kernel, activation, prelu ?? undefined);
  const views: TensorInfo[] = [];
  const align = (name: string, t: TensorInfo|undefined): TensorInfo|undefined => {
    if (t == null) return undefined;
    if (!checked) assertFloat(kernel, name, t);
    let v = t;
    if (info.dataFormat === 'channelsFirst' && t.shape.length === 1 && t.shape[0] !== 1) {
      v = reshapeView(b, t, [t.shape[0], 1, 1]);
      views.push(v);
    }
    if (checked) return v;
    let ok = v.shape.length <= 4;
    if (ok) {
      try {
        ok = util.arraysEqual(backend_util.assertAndGetBroadcastShape(info.outShape, v.shape), info.outShape);
      } catch {
        ok = false;
      }
    }
    if (!ok) {
      views.forEach(view => b.disposeIntermediateTensorInfo(view));
      throw new Error(`${kernel}: input '${name}' of shape [${t.shape}] does not broadcast to the output shape [${info.outShape}]`);
    }
    return v;
  };
  const biasView = align('bias', bias);
  const preluView = act === 'prelu' ? align('preluActivationWeights', prelu) : undefined;
  return {epilogue: {activation: act, bias: biasView, preluWeights: preluView, leakyreluAlpha}, views};
}

export const conv2DConfig: KernelConfig = {
  kernelName: Conv2D,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x, filter} = inputs as {x: TensorInfo, filter: TensorInfo};
    const a = attrs as unknown as Conv2DAttrs;
    const info = checkedInfo(conv2dInfoKey(Conv2D, x, filter, a), () => conv2dInfo(Conv2D, x, filter, a));
    return conv2d(b, Conv2D, info, x, filter);
  },
};

/** Infos of fused convolutions whose epilogue passed the checks, by checkedFusedConv's key. */
const checkedEpilogues = new Map<string, Conv2DInfo>();

/**
 * A fused convolution's info (from `check`) and prepared epilogue. The checks of both depend on
 * `key` (the kernel, its tensors' dtypes and shapes, its attributes) and the activation and
 * epilogue tensors only, so they run once per such key; it is remembered once both passed.
 */
export function checkedFusedConv(b: MpsgpuBackend, kernel: string, key: string, check: () => Conv2DInfo, activation: string|undefined,
                                 bias: TensorInfo|undefined, prelu: TensorInfo|undefined, leakyreluAlpha: number|undefined):
    {info: Conv2DInfo, epilogue: Epilogue, views: TensorInfo[]} {
  const epiKey = key + '|' + attrKey(activation) + '|' + tensorKey(bias) + '|' + tensorKey(prelu);
  const known = checkedEpilogues.get(epiKey);
  const info = known ?? check();
  const {epilogue, views} = prepareEpilogue(b, kernel, info, activation, bias, prelu, leakyreluAlpha, known !== undefined);
  if (known === undefined) cacheSet(checkedEpilogues, epiKey, info);
  return {info, epilogue, views};
}

export const fusedConv2DConfig: KernelConfig = {
  kernelName: FusedConv2D,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x, filter, bias, preluActivationWeights} =
      inputs as {x: TensorInfo, filter: TensorInfo, bias?: TensorInfo, preluActivationWeights?: TensorInfo};
    const a = attrs as unknown as FusedConv2DAttrs;
    const {info, epilogue, views} = checkedFusedConv(b, FusedConv2D, conv2dInfoKey(FusedConv2D, x, filter, a),
                                                     () => conv2dInfo(FusedConv2D, x, filter, a), a.activation, bias,
                                                     preluActivationWeights, a.leakyreluAlpha);
    const out = conv2d(b, FusedConv2D, info, x, filter, epilogue);
    views.forEach(v => b.disposeIntermediateTensorInfo(v));
    return out;
  },
};
