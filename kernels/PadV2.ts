// PadV2 (tf.pad): out[c] = x[c - before] inside x, the constant elsewhere.
import {KernelConfig, PadV2, PadV2Attrs, TensorInfo} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {Program} from '../src/codegen/program.js';
import {arrayUniforms, stridesOf} from '../src/codegen/shader.js';
import {wordCopyProgram} from '../src/codegen/word_copy.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {mapComplex} from './Complex.js';

/** The 32-bit word tfjs-backend-cpu stores for `value` in a tensor of `dtype`. */
export function wordOf(value: number, dtype: string): number {
  if (dtype === 'float32') return new Uint32Array(new Float32Array([value]).buffer)[0];
  if (dtype === 'bool') return new Uint8Array([value])[0];
  return new Int32Array([value])[0] >>> 0;
}

/** Checks paddings: one [before, after] pair of non-negative integers per axis of x. */
export function checkPaddings(kernel: string, x: TensorInfo, paddings: Array<[number, number]>) {
  const ok = Array.isArray(paddings) && paddings.length === x.shape.length &&
    paddings.every(p => p.length === 2 && p.every(v => Number.isInteger(v) && v >= 0));
  if (!ok) {
    throw new Error(`${kernel}: paddings ${JSON.stringify(paddings)} must hold one [before, after] pair of ` +
      `non-negative integers per axis of input 'x' (shape [${x.shape}], dtype ${x.dtype})`);
  }
}

function padProgram(xShape: number[], before: number[], outShape: number[], word: number): Program {
  const statements: string[] = [];
  const terms: string[] = [];
  for (let d = 0; d < xShape.length; ++d) {
    // Unsigned wrap-around makes c < before fail the same test as c >= before + n.
    statements.push(`let k${d} = c${d} - u.before${d};`, `if (k${d} >= u.xShape${d}) { out[i] = u.value; return; }`);
    terms.push(`k${d} * u.xStride${d}`);
  }
  return wordCopyProgram({
    name: PadV2, key: 'pad', outShape,
    uniforms: [{name: 'value', type: 'u32', value: word}, ...arrayUniforms('before', before),
               ...arrayUniforms('xShape', xShape), ...arrayUniforms('xStride', stridesOf(xShape))],
    statements,
    source: terms.length ? terms.join(' + ') : '0u',
  });
}

export function padTensor(b: MpsgpuBackend, x: TensorInfo, paddings: Array<[number, number]>, value: number): TensorInfo {
  checkPaddings(PadV2, x, paddings);
  if (x.dtype === 'string') throw new Error(`PadV2: input 'x' has dtype string (shape [${x.shape}]); pad takes numbers`);
  if (x.dtype === 'complex64') {
    // The constant pads the real part; the imaginary part is padded with zeros.
    let part = 0;
    return mapComplex(b, x, p => padTensor(b, p, paddings, part++ === 0 ? value : 0));
  }
  const outShape = paddings.map((p, d) => p[0] + x.shape[d] + p[1]);
  return b.runProgram(padProgram(x.shape, paddings.map(p => p[0]), outShape, wordOf(value, x.dtype)), [x], outShape, x.dtype);
}

export const padV2Config: KernelConfig = {
  kernelName: PadV2,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const {x} = inputs as {x: TensorInfo};
    const {paddings, constantValue} = attrs as unknown as PadV2Attrs;
    return padTensor(mpsgpuBackend(backend), x, paddings, constantValue);
  },
};
