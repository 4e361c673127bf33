// Depthwise convolution (NHWC; the filter is [fH, fW, inC, channelMultiplier]): forward, fused
// bias/activation, and the gradients with respect to the input and the filter.
import {backend_util, DepthwiseConv2dNative, DepthwiseConv2dNativeAttrs, DepthwiseConv2dNativeBackpropFilter,
        DepthwiseConv2dNativeBackpropFilterAttrs, DepthwiseConv2dNativeBackpropInput, DepthwiseConv2dNativeBackpropInputAttrs,
        FusedDepthwiseConv2D, FusedDepthwiseConv2DAttrs, KernelConfig, TensorInfo, util} from '@tensorflow/tfjs-core';

import {Program} from '../src/codegen/program.js';
import {cacheSet, deviceRecords, tensorKey} from '../src/codegen/shader.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {checkedFusedConv} from './Conv2D.js';
import {assertDyCovers, assertFloat4D, assertOutShape, assertPositive, assertShape4,
        attrKey, checkedInfo, Conv2DInfo, DEPTHWISE_FILTER_LAYOUT, Epilogue, epilogueRecordKey, forwardInputs,
        infoKey, Shape4} from './conv_common.js';
import {depthwiseBackpropInputProgram, depthwiseFilterPartialProgram, depthwiseForwardProgram, filterGradChunks, sumChunksProgram,
        vectorWidth} from './depthwise_programs.js';

type Geometry = Pick<DepthwiseConv2dNativeAttrs, 'strides'|'pad'|'dilations'|'dimRoundingMode'>;

/** As tfjs-backend-cpu: NHWC whatever dataFormat says, and strides or dilations must be 1. */
function depthwiseInfo(kernel: string, xShape: Shape4, filterShape: Shape4, attrs: Geometry): Conv2DInfo {
  const {strides, pad, dimRoundingMode} = attrs;
  const dilations = attrs.dilations ?? [1, 1];
  assertPositive(kernel, 'strides', strides);
  assertPositive(kernel, 'dilations', dilations);
  if (!backend_util.eitherStridesOrDilationsAreOne(strides, dilations)) {
    throw new Error(`Error in depthwiseConv2d: Either strides or dilations must be 1. ` +
      `Got strides ${strides} and dilations '${dilations}'`);
  }
  const info = backend_util.computeConv2DInfo(xShape, filterShape, strides, dilations, pad, dimRoundingMode, true);
  if (xShape[3] !== filterShape[2]) {
    throw new Error(`${kernel}: the input has ${xShape[3]} channels (shape [${xShape}], NHWC) but the filter ` +
      `(shape [${filterShape}]) expects ${filterShape[2]}`);
  }
  return info;
}

/** Everything depthwiseInfo and the kernels' checks depend on besides the kernel and tensors, as key text. */
function geometryKey(attrs: Geometry): string {
  return attrKey(attrs.strides) + '|' + attrKey(attrs.pad) + '|' + attrKey(attrs.dilations) + '|' + attrKey(attrs.dimRoundingMode);
}

/** The programs of a depthwise record; dw: the partial sums' pass and the sum of the chunks (or null). */
interface DepthwiseRecord {
  main: Program;
  sum: Program|null;
  chunks: number;
}

/** DepthwiseRecords by device, then by kernel, info, epilogue or dy shape (bounded with cacheSet). */
const depthwiseRecords = new WeakMap<object, Map<string, DepthwiseRecord>>();

function depthwiseRecord(gpu: object, key: string, build: () => DepthwiseRecord): DepthwiseRecord {
  const records = deviceRecords(depthwiseRecords, gpu);
  return records.get(key) ?? cacheSet(records, key, build());
}

function forward(kernel: string, inputs: Record<string, TensorInfo|undefined>, attrs: DepthwiseConv2dNativeAttrs, b: ReturnType<typeof mpsgpuBackend>,
                 fused?: FusedDepthwiseConv2DAttrs): TensorInfo {
  const x = inputs.x!, filter = inputs.filter!;
  const check = () => {
    assertFloat4D(kernel, ['x', x], ['filter', filter, DEPTHWISE_FILTER_LAYOUT]);
    const info = depthwiseInfo(kernel, x.shape as Shape4, filter.shape as Shape4, attrs);
    assertOutShape(kernel, info);
    return info;
  };
  const key = kernel + '|' + tensorKey(x) + '|' + tensorKey(filter) + '|' + geometryKey(attrs);
  const programs = (info: Conv2DInfo, epilogue?: Epilogue) =>
    depthwiseRecord(b.gpu, 'fwd|' + kernel + '|' + infoKey(info) + '|' + epilogueRecordKey(epilogue),
                    () => ({main: depthwiseForwardProgram(kernel, info, epilogue), sum: null, chunks: 1}));
  if (!fused) {
    const info = checkedInfo(key, check);
    return b.runProgram(programs(info).main, [x, filter], info.outShape.slice(), 'float32');
  }
  const {info, epilogue, views} = checkedFusedConv(b, kernel, key, check, fused.activation, inputs.bias, inputs.preluActivationWeights,
                                                   fused.leakyreluAlpha);
  const out = b.runProgram(programs(info, epilogue).main, forwardInputs(x, filter, epilogue), info.outShape.slice(), 'float32');
  views.forEach(v => b.disposeIntermediateTensorInfo(v));
  return out;
}

export const depthwiseConv2dNativeConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNative,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) =>
    forward(DepthwiseConv2dNative, inputs as Record<string, TensorInfo>, attrs as unknown as DepthwiseConv2dNativeAttrs, mpsgpuBackend(backend)),
};

export const fusedDepthwiseConv2DConfig: KernelConfig = {
  kernelName: FusedDepthwiseConv2D,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const a = attrs as unknown as FusedDepthwiseConv2DAttrs;
    return forward(FusedDepthwiseConv2D, inputs as Record<string, TensorInfo>, a, mpsgpuBackend(backend), a);
  },
};

export const depthwiseConv2dNativeBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const k = DepthwiseConv2dNativeBackpropInput;
    const {dy, filter} = inputs as {dy: TensorInfo, filter: TensorInfo};
    const a = attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
    // Checked once per key (shapes, dtypes and attributes only).
    const info = checkedInfo(k + '|' + tensorKey(dy) + '|' + tensorKey(filter) + '|' + attrKey(a.inputShape) + '|' + geometryKey(a), () => {
      assertFloat4D(k, ['dy', dy], ['filter', filter, DEPTHWISE_FILTER_LAYOUT]);
      assertShape4(k, 'inputShape', a.inputShape);
      const info = depthwiseInfo(k, a.inputShape, filter.shape as Shape4, a);
      assertOutShape(k, info, 'dy');
      assertDyCovers(k, dy, info, info.outChannels);
      return info;
    });
    const rec = depthwiseRecord(b.gpu, 'dx|' + k + '|' + infoKey(info) + '|' + tensorKey(dy),
                                () => ({main: depthwiseBackpropInputProgram(k, info, dy.shape), sum: null, chunks: 1}));
    return b.runProgram(rec.main, [dy, filter], info.inShape.slice(), 'float32');
  },
};

export const depthwiseConv2dNativeBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const k = DepthwiseConv2dNativeBackpropFilter;
    const {x, dy} = inputs as {x: TensorInfo, dy: TensorInfo};
    const a = attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
    // Checked once per key (shapes, dtypes and attributes only).
    const info = checkedInfo(k + '|' + tensorKey(x) + '|' + tensorKey(dy) + '|' + attrKey(a.filterShape) + '|' + geometryKey(a), () => {
      assertFloat4D(k, ['x', x], ['dy', dy]);
      assertShape4(k, 'filterShape', a.filterShape);
      const info = depthwiseInfo(k, x.shape as Shape4, a.filterShape, a);
      assertOutShape(k, info, 'dy');
      assertDyCovers(k, dy, info, info.outChannels);
      return info;
    });
    // Split reduction: partial sums over chunks of dy's rows, then one pass adding the chunks.
    const rec = depthwiseRecord(b.gpu, 'dw|' + k + '|' + infoKey(info) + '|' + tensorKey(dy), () => {
      const {chunks, rowsPerChunk} = filterGradChunks(info);
      const main = depthwiseFilterPartialProgram(k, info, dy.shape, chunks, rowsPerChunk);
      const sum = chunks === 1 ? null : sumChunksProgram(k, util.sizeFromShape(info.filterShape), chunks, vectorWidth(info));
      return {main, sum, chunks};
    });
    if (rec.sum === null) return b.runProgram(rec.main, [x, dy], info.filterShape.slice(), 'float32');
    const partial = b.runProgram(rec.main, [x, dy], [rec.chunks, ...info.filterShape], 'float32');
    const out = b.runProgram(rec.sum, [partial], info.filterShape.slice(), 'float32');
    b.disposeIntermediateTensorInfo(partial);
    return out;
  },
};
