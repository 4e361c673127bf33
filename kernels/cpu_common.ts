// What the kernels computed on the CPU share: reading an input's values (readSync flushes pending
// GPU work and waits for it; values already on the CPU come back as they are), and the CPU
// backend's checks.
import {TensorInfo, TypedArray, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';

/** The values of a numeric (float32, int32, bool) tensor. */
export function readNumbers(b: MpsgpuBackend, t: TensorInfo): TypedArray {
  return b.readSync(t.dataId) as TypedArray;
}

/** The encoded values of a string tensor (one Uint8Array per element). */
export function readStrings(b: MpsgpuBackend, t: TensorInfo): Uint8Array[] {
  const values = b.readSync(t.dataId);
  // An empty tensor written without values reads as an empty typed array.
  return Array.isArray(values) ? values as Uint8Array[] : [];
}

/** tfjs-backend-cpu's assertNotComplex (its message, less the backend's name). */
export function assertNotComplex(t: TensorInfo, opName: string): void {
  util.assert(t.dtype !== 'complex64', () => `${opName} does not support complex64 tensors.`);
}
