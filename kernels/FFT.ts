// FFT and IFFT of complex64 along the innermost axis: a direct DFT, one invocation per output
// frequency; IFFT divides by n as tfjs-backend-cpu does. The twiddle factors are exact to about
// one float32 step whatever n: the index j·k is kept modulo n, its angle 2π·idx/n is reduced to a
// quadrant and a remainder in [-π/4, π/4] with integer arithmetic (4·idx = q·n + rem), and the
// remainder's cos and sin come from polynomials (the GPU's sin and cos builtins are not precise
// enough: SwiftShader's are off by ~1e-5).
import {FFT, IFFT, KernelConfig, TensorInfo, util} from '@tensorflow/tfjs-core';

import {Program} from '../src/codegen/program.js';
import {dispatch1D, ShaderSpec, Uniform} from '../src/codegen/shader.js';
import {mpsgpuBackend} from '../src/kernel_util.js';

import {check, WORKGROUP} from './array_common.js';
import {complexParts, makeComplex} from './Complex.js';
import {SINCOS_POLY} from './unary.js';

function dftProgram(name: string, rows: number, n: number, inverse: boolean): Program {
  const size = rows * n;
  const uniforms: Uniform[] = [{name: 'size', type: 'u32', value: size}, {name: 'n', type: 'u32', value: n}];
  const shader = (): ShaderSpec => ({
    inputs: [{name: 're', type: 'f32'}, {name: 'im', type: 'f32'}],
    outputs: [{name: 'outRe', type: 'f32'}, {name: 'outIm', type: 'f32'}],
    workgroupSize: [WORKGROUP, 1, 1],
    declarations: SINCOS_POLY,
    body: `
  let i = flatId;
  if (i >= u.size) { return; }
  let row = i / u.n;
  let k = i - row * u.n;
  let base = row * u.n;
  let halfPiOverN = 1.5707963267948966 / f32(u.n);
  var sr = 0.0;
  var si = 0.0;
  var idx = 0u;
  for (var j = 0u; j < u.n; j = j + 1u) {
    // idx = j·k mod n; angle 2π·idx/n = (π/2)·(q + rem/n) with 4·idx = q·n + rem, |rem| <= n/2.
    let q = (4u * idx + u.n / 2u) / u.n;
    let rem = i32(4u * idx) - i32(q * u.n);
    let r = f32(rem) * halfPiOverN;
    let cr = cosPoly(r);
    let sr0 = sinPoly(r);
    // cos and sin of q·π/2 + r.
    let qm = q & 3u;
    var c = select(cr, -sr0, qm == 1u);
    c = select(c, -cr, qm == 2u);
    c = select(c, sr0, qm == 3u);
    var s = select(sr0, cr, qm == 1u);
    s = select(s, -sr0, qm == 2u);
    s = select(s, -cr, qm == 3u);
    ${inverse ? '' : 's = -s;'}
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
