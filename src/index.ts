// Browser entry (and the common part of the Node entry): registers the `mpsgpu` backend and its
// kernels, and exports the small `mpsgpu` namespace for what tfjs has no word for.
import './flags.js';

import {engine, registerBackend, registerKernel} from '@tensorflow/tfjs-core';

import {kernelConfigs} from '../kernels/index.js';
import {lstmOp} from '../kernels/LSTM.js';
import {momentsOp} from '../kernels/moments.js';
import {MpsgpuBackend} from './backend.js';
import {acquireDevice, hasDevicePlatform, MpsgpuDevice, onDeviceLost, setDevicePlatform} from './device.js';
import {installBackwardRelease} from './backward.js';
import {installGradients} from './gradients.js';
import {kernelGpuTimes} from './runtime/gpu_timer.js';
import {resetStats, setPeaks, snapshotStats, Stats} from './stats.js';

export const BACKEND_NAME = 'mpsgpu';
/** Above cpu (1) and webgl (2), like the official WebGPU backend: the default where WebGPU exists. */
const PRIORITY = 3;

if (!hasDevicePlatform() && typeof navigator !== 'undefined' && (navigator as Navigator).gpu) {
  setDevicePlatform({gpu: (navigator as Navigator).gpu, syncWaiter: null});
}

installGradients(BACKEND_NAME);
installBackwardRelease(BACKEND_NAME);

registerBackend(BACKEND_NAME, async () => {
  installGradients(BACKEND_NAME);
  const device = await acquireDevice();
  if (!device) throw new Error('mpsgpu: WebGPU is not available (no adapter or device)');
  return new MpsgpuBackend(device);
}, PRIORITY);

for (const config of kernelConfigs) registerKernel({...config, backendName: BACKEND_NAME});

onDeviceLost.push(() => {
  // Forget the broken instance so the next setBackend('mpsgpu') builds one on a new device; the
  // engine keeps it as the active backend meanwhile, and every op on it throws "device was lost".
  const registry = (engine() as unknown as {registry: Record<string, unknown>}).registry;
  delete registry[BACKEND_NAME];
});

function activeBackend(): MpsgpuBackend {
  const b = engine().findBackend(BACKEND_NAME);
  if (!(b instanceof MpsgpuBackend)) throw new Error(`mpsgpu: the backend is not initialized; await tf.setBackend('${BACKEND_NAME}') first`);
  return b;
}

export {MpsgpuBackend};
export type {Stats, MpsgpuDevice};

/** What tfjs has no word for. */
export const mpsgpu = {
  /** Compute all recorded work now (submits; does not wait). */
  flush(): void {
    activeBackend().flush();
  },
  /** Resolves when the GPU finished everything submitted so far. */
  async sync(): Promise<void> {
    const b = activeBackend();
    b.flush();
    await b.runtime.waitIdle();
  },
  /** Cumulative counters: nodes recorded and skipped, dispatches, flushes, submissions, … */
  stats(): Stats {
    return snapshotStats();
  },
  resetStats(): void {
    resetStats();
    kernelGpuTimes.clear();
    // The peaks start from what is allocated and held now.
    const b = engine().findBackend(BACKEND_NAME);
    if (b instanceof MpsgpuBackend) setPeaks(b.runtime.pool.allocatedBytes, b.runtime.pool.inUseBytes);
  },
  /**
   * GPU time per program name (MPSGPU_KERNEL_TIMING, where the adapter has timestamp-query):
   * calls and total milliseconds of the dispatches whose timestamps were read back so far.
   */
  kernelTimes(): Map<string, {calls: number; ms: number}> {
    return new Map([...kernelGpuTimes].map(([k, v]) => [k, {...v}]));
  },
  /**
   * Mean and variance of `x` over `axes` (default: all) as float32 tensors, in one numerically
   * stable pass over x (tf.moments takes three): batch-norm statistics.
   */
  moments: momentsOp,
  /**
   * tfjs-layers' LSTM over a whole sequence, fused on the GPU (one GEMM for the input projection,
   * one dispatch per step), with its gradient (backpropagation through time on the GPU).
   */
  lstm: lstmOp,
  /** The adapter, its features and limits, and WebGPU errors seen (none, unless mpsgpu has a bug). */
  device(): MpsgpuDevice {
    return activeBackend().gpu;
  },
};
