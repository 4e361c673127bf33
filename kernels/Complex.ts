// Complex, Real, Imag, and the helpers other kernels use for complex64 tensors. A complex64 tensor
// stores no buffer of its own: its TensorData holds two float32 tensors (complexParts) that it owns
// (disposing the complex tensor force-disposes them), so parts are always fresh tensors, never views.
import {Complex, Imag, KernelConfig, Real, TensorInfo} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {wgslType} from '../src/codegen/shader.js';
import {constant, input, mpsgpuBackend, runElementwise} from '../src/kernel_util.js';

/** A fresh tensor (new dataId) with the values of `x`: the same immutable CPU values, or a GPU copy. */
export function copyTensor(b: MpsgpuBackend, x: TensorInfo): TensorInfo {
  const d = b.data.get(x.dataId);
  if (x.dtype === 'complex64') {
    const {real, imag} = complexParts(b, x);
    return makeComplex(b, copyTensor(b, real), copyTensor(b, imag));
  }
  if (d.values != null || x.dtype === 'string') return b.makeTensorInfo(x.shape, x.dtype, d.values ?? []);
  return runElementwise(b, 'Copy', input(0, wgslType(x.dtype)), [x], x.dtype, x.shape);
}

/**
 * The float32 parts of complex64 `x`, seen with x's shape (x may be a reshaped view). Borrowed: use
 * them as inputs, do not dispose them.
 */
export function complexParts(b: MpsgpuBackend, x: TensorInfo): {real: TensorInfo; imag: TensorInfo} {
  const parts = b.data.get(x.dataId).complexParts;
  if (parts === null) {
    throw new Error(`mpsgpu internal error: complex64 tensor of shape [${x.shape}] has no real and imaginary parts`);
  }
  return {
    real: {dataId: parts.real.dataId, shape: x.shape, dtype: 'float32'},
    imag: {dataId: parts.imag.dataId, shape: x.shape, dtype: 'float32'},
  };
}

/**
 * A complex64 tensor made of float32 `real` and `imag` of one shape. Takes them over: they must be
 * results the caller owns (a view, refCount > 1, is copied and its reference released).
 */
export function makeComplex(b: MpsgpuBackend, real: TensorInfo, imag: TensorInfo): TensorInfo {
  const own = (t: TensorInfo): TensorInfo => {
    if (b.refCount(t.dataId) <= 1) return t;
    const copy = copyTensor(b, t);
    b.disposeIntermediateTensorInfo(t);
    return copy;
  };
  const out = b.makeTensorInfo(real.shape, 'complex64');
  b.data.get(out.dataId).complexParts = {real: own(real), imag: own(imag)};
  return out;
}

/** Applies a float32 kernel `f` to both parts of complex64 `x`. */
export function mapComplex(b: MpsgpuBackend, x: TensorInfo, f: (part: TensorInfo) => TensorInfo): TensorInfo {
  const {real, imag} = complexParts(b, x);
  return makeComplex(b, f(real), f(imag));
}

export const complexConfig: KernelConfig = {
  kernelName: Complex,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend}) => {
    const b = mpsgpuBackend(backend);
    const {real, imag} = inputs as {real: TensorInfo; imag: TensorInfo};
    for (const [name, t] of [['real', real], ['imag', imag]] as const) {
      if (t.dtype !== 'float32') {
        throw new Error(`Complex: input '${name}' must be float32, got dtype ${t.dtype} (shape [${t.shape}])`);
      }
    }
    if (real.shape.length !== imag.shape.length || real.shape.some((d, i) => d !== imag.shape[i])) {
      throw new Error(`Complex: real and imag shapes, [${real.shape}] and [${imag.shape}], must match`);
    }
    return makeComplex(b, copyTensor(b, real), copyTensor(b, imag));
  },
};

function partKernel(name: string, part: 'real'|'imag'): KernelConfig {
  return {
    kernelName: name,
    backendName: 'mpsgpu',
    kernelFunc: ({inputs, backend}) => {
      const b = mpsgpuBackend(backend);
      const {input: x} = inputs as {input: TensorInfo};
      if (x.dtype !== 'complex64') {
        if (x.dtype === 'string') throw new Error(`${name}: input 'input' has dtype string (shape [${x.shape}])`);
        // A real tensor: its real part is itself, its imaginary part zero.
        if (part === 'real') return copyTensor(b, x);
        return runElementwise(b, name, constant(0, 'f32'), [], 'float32', x.shape);
      }
      return copyTensor(b, complexParts(b, x)[part]);
    },
  };
}

export const realConfig = partKernel(Real, 'real');
export const imagConfig = partKernel(Imag, 'imag');
