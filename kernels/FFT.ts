// FFT and IFFT of complex64 along the innermost axis: a direct DFT, one invocation per output
// frequency. The twiddle index j·k is kept modulo n (and centred on 0), so every angle is small and
// accurate whatever n; IFFT divides by n as tfjs-backend-cpu does.
import {FFT, IFFT, KernelConfig, TensorInfo, util} from '@tensorflow/tfjs-core';

import {Program} from '../src/codegen/program.js';
import {dispatch1D, ShaderSpec, Uniform} from '../src/codegen/shader.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {check, WORKGROUP} from './array_common.js';
import {complexParts, makeComplex} from './Complex.js';

function dftProgram(name: string, rows: number, n: number, inverse: boolean): Program {
  const size = rows * n;
  const uniforms: Uniform[] = [{name: 'size', type: 'u32', value: size}, {name: 'n', type: 'u32', value: n}];
  const shader = (): ShaderSpec => ({
    inputs: [{name: 're', type: 'f32'}, {name: 'im', type: 'f32'}],
    outputs: [{name: 'outRe', type: 'f32'}, {name: 'outIm', type: 'f32'}],
    workgroupSize: [WORKGROUP, 1, 1],
    body: `
  let i = flatId;
  if (i >= u.size) { return; }
  let row = i / u.n;
  let k = i - row * u.n;
  let base = row * u.n;
  let step = ${inverse ? '' : '-'}6.283185307179586 / f32(u.n);
  var sr = 0.0;
  var si = 0.0;
  var idx = 0u;
  for (var j = 0u; j < u.n; j = j + 1u) {
    // idx = j·k mod n; the angle uses idx - n past the half so that it stays in [-pi, pi].
    let centred = select(f32(idx), f32(idx) - f32(u.n), 2u * idx > u.n);
    let angle = step * centred;
    let c = cos(angle);
    let s = sin(angle);
    let xr = re[base + j];
    let xi = im[base + j];
    sr = sr + xr * c - xi * s;
    si = si + xr * s + xi * c;
    idx = idx + k;
    if (idx >= u.n) { idx = idx - u.n; }
  }
  outRe[i] = ${inverse ? 'sr / f32(u.n)' : 'sr'};
  outIm[i] = ${inverse ? 'si / f32(u.n)' : 'si'};`,
  });
  return {name, key: `dft|${inverse}`, shader, uniforms, dispatch: dispatch1D(size, WORKGROUP)};
}

function fftConfig(kernelName: string, inverse: boolean): KernelConfig {
  return {
    kernelName,
    backendName: 'mpsgpu',
    kernelFunc: ({inputs, backend}) => {
      const b = mpsgpuBackend(backend);
      const {input} = inputs as {input: TensorInfo};
      check(input.dtype === 'complex64',
            () => `${kernelName}: input 'input' must be complex64, got dtype ${input.dtype} (shape [${input.shape}])`);
      check(input.shape.length >= 1, () => `${kernelName}: input 'input' must be rank 1 or higher, got a scalar`);
      const n = input.shape[input.shape.length - 1];
      const size = util.sizeFromShape(input.shape);
      const {real, imag} = complexParts(b, input);
      if (size === 0) {
        return makeComplex(b, b.makeTensorInfo(input.shape, 'float32'), b.makeTensorInfo(input.shape, 'float32'));
      }
      const [re, im] = b.runProgramMulti(dftProgram(kernelName, size / n, n, inverse), [real, imag],
                                         [{shape: input.shape, dtype: 'float32'}, {shape: input.shape, dtype: 'float32'}]);
      return makeComplex(b, re, im);
    },
  };
}

export const fftKernelConfig = fftConfig(FFT, false);
export const ifftKernelConfig = fftConfig(IFFT, true);
