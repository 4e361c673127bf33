// MirrorPad: out[c] = x[mirror(c - before)], reflecting (edge not repeated) or symmetric (repeated).
import {KernelConfig, MirrorPad, MirrorPadAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {Program} from '../src/codegen/program.js';
import {arrayUniforms, stridesOf} from '../src/codegen/shader.js';
import {wordCopyProgram} from '../src/codegen/word_copy.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {mapComplex} from './Complex.js';
import {checkPaddings} from './PadV2.js';

function mirrorPadProgram(xShape: number[], before: number[], outShape: number[], offset: number): Program {
  const statements: string[] = [];
  const terms: string[] = [];
  for (let d = 0; d < xShape.length; ++d) {
    statements.push(`var k${d} = i32(c${d}) - u.before${d};`,
      `if (k${d} < 0) { k${d} = -k${d} - u.offset; } else if (k${d} >= u.xShape${d}) { k${d} = 2 * (u.xShape${d} - 1) - k${d} + u.offset; }`);
    terms.push(`k${d} * u.xStride${d}`);
  }
  return wordCopyProgram({
    name: MirrorPad, key: 'mirrorPad', outShape,
    uniforms: [{name: 'offset', type: 'i32', value: offset}, ...arrayUniforms('before', before, 'i32'),
               ...arrayUniforms('xShape', xShape, 'i32'), ...arrayUniforms('xStride', stridesOf(xShape), 'i32')],
    statements,
    source: `u32(${terms.length ? terms.join(' + ') : '0'})`,
  });
}

export const mirrorPadConfig: KernelConfig = {
  kernelName: MirrorPad,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {x} = inputs as {x: TensorInfo};
    const {paddings, mode} = attrs as unknown as MirrorPadAttrs;
    checkPaddings(MirrorPad, x, paddings);
    if (mode !== 'reflect' && mode !== 'symmetric') {
      throw new Error(`MirrorPad: mode must be 'reflect' or 'symmetric', got '${mode}'`);
    }
    const offset = mode === 'reflect' ? 0 : 1;
    const bad = paddings.findIndex((p, d) => p[0] > x.shape[d] - 1 + offset || p[1] > x.shape[d] - 1 + offset);
    if (bad >= 0) {
      throw new Error(`MirrorPad: paddings [${paddings[bad]}] of axis ${bad} must be at most ${x.shape[bad] - 1 + offset} ` +
        `in ${mode} mode for input 'x' of shape [${x.shape}] (dtype ${x.dtype})`);
    }
    if (x.dtype === 'string') throw new Error(`MirrorPad: input 'x' has dtype string (shape [${x.shape}]); mirrorPad takes numbers`);
    const run = (t: TensorInfo): TensorInfo => {
      const outShape = paddings.map((p, d) => p[0] + t.shape[d] + p[1]);
      return b.runProgram(mirrorPadProgram(t.shape, paddings.map(p => p[0]), outShape, offset), [t], outShape, t.dtype);
    };
    return x.dtype === 'complex64' ? mapComplex(b, x, run) : run(x);
  },
};
