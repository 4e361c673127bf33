// The string kernels: StringNGrams, StringSplit, StringToHashBucketFast and StaticRegexReplace.
// String tensors live on the CPU (encoded as one Uint8Array per element), and so do these kernels:
// tfjs-backend-cpu's shared implementations compute them (and throw its errors). Numeric inputs
// (data splits) are read from the GPU; numeric outputs are uploaded when a GPU kernel reads them.
import {backend_util, KernelConfig, StaticRegexReplace, StringNGrams, StringNGramsAttrs,
        StringSplit, StringSplitAttrs, StringToHashBucketFast, StringToHashBucketFastAttrs, TensorInfo, util} from '@tensorflow/tfjs-core';
import {cpuShared} from '../src/cpu_shared.js';

const {staticRegexReplaceImpl, stringNGramsImpl, stringSplitImpl, stringToHashBucketFastImpl} = cpuShared;

import {mpsgpuBackend} from '../src/kernel_util.js';

import {assertNotComplex, readNumbers, readStrings} from './cpu_common.js';

export const stringNGramsConfig: KernelConfig = {
  kernelName: StringNGrams,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {data, dataSplits} = inputs as {data: TensorInfo; dataSplits: TensorInfo};
    const {separator, nGramWidths, leftPad, rightPad, padWidth, preserveShortSequences} = attrs as unknown as StringNGramsAttrs;
    const [nGrams, nGramsSplits] = stringNGramsImpl(readStrings(b, data), readNumbers(b, dataSplits) as Int32Array, separator,
                                                    nGramWidths, leftPad, rightPad, padWidth, preserveShortSequences);
    return [
      b.makeTensorInfo([nGrams.length], 'string', nGrams),
      b.makeTensorInfo(dataSplits.shape, 'int32', nGramsSplits),
    ];
  },
};

export const stringSplitConfig: KernelConfig = {
  kernelName: StringSplit,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {input, delimiter} = inputs as {input: TensorInfo; delimiter: TensorInfo};
    const {skipEmpty} = attrs as unknown as StringSplitAttrs;
    if (input.dtype !== 'string') throw new Error('Input must be of datatype string');
    if (input.shape.length !== 1) throw new Error(`Input must be a vector, got shape: ${input.shape}`);
    if (delimiter.shape.length !== 0) throw new Error(`Delimiter must be a scalar, got shape: ${delimiter.shape}`);
    const [indices, values, shape] = stringSplitImpl(readStrings(b, input), readStrings(b, delimiter)[0], skipEmpty);
    const outputSize = values.length;
    return [
      b.makeTensorInfo([outputSize, 2], 'int32', indices),
      b.makeTensorInfo([outputSize], 'string', values),
      b.makeTensorInfo([2], 'int32', new Int32Array(shape)),
    ];
  },
};

export const stringToHashBucketFastConfig: KernelConfig = {
  kernelName: StringToHashBucketFast,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {input} = inputs as {input: TensorInfo};
    const {numBuckets} = attrs as unknown as StringToHashBucketFastAttrs;
    if (input.dtype !== 'string') throw new Error('Input must be of datatype string');
    if (numBuckets <= 0) throw new Error(`Number of buckets must be at least 1`);
    return b.makeTensorInfo(input.shape, 'int32', stringToHashBucketFastImpl(readStrings(b, input), numBuckets));
  },
};

export const staticRegexReplaceConfig: KernelConfig = {
  kernelName: StaticRegexReplace,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x} = inputs as {x: TensorInfo};
    assertNotComplex(x, StaticRegexReplace);
    // As tfjs-backend-cpu's unary kernels: strings are decoded, replaced and encoded again.
    if (x.dtype !== 'string') throw new Error(`${StaticRegexReplace}: input 'x' must be a string tensor, got dtype ${x.dtype}`);
    const decoded = backend_util.fromUint8ToStringArray(readStrings(b, x));
    const out = staticRegexReplaceImpl(decoded, 'string', attrs) as string[];
    return b.makeTensorInfo(x.shape, 'string', out.map(s => util.encodeString(s)));
  },
};
