// mpsgpu's flags, set through tf.env() like every tfjs flag.
import {env} from '@tensorflow/tfjs-core';

const ENV = env();

/** Flush after every recorded node: eager dispatch, for debugging and for comparing the modes. */
ENV.registerFlag('MPSGPU_EAGER', () => false);

/**
 * Fuse the graph at each flush (src/fusion): elementwise chains into one kernel. Off: every
 * recorded node is its own dispatch (for comparison and debugging).
 */
ENV.registerFlag('MPSGPU_FUSION', () => true);

/**
 * Temporaries (values computed and dead within one flush) share arenas by live interval
 * (src/memory/arena.ts) instead of each taking a pooled buffer. Off: every value from the pool.
 */
ENV.registerFlag('MPSGPU_ARENA', () => true);

/**
 * Elementwise values that tfjs holds (saved for a gradient, or a scope's temporaries at a flush)
 * stay virtual: recomputed where read instead of stored (src/memory/rematerialize.ts).
 */
ENV.registerFlag('MPSGPU_REMATERIALIZE', () => true);

/**
 * Reuse plans (src/graph/plan_cache.ts): a flushed segment with the same structure as an earlier
 * one (a repeated training step) gets that one's fused schedule and arena placement without
 * planning again. Off: every flush is planned anew.
 */
ENV.registerFlag('MPSGPU_PLAN_CACHE', () => true);

/**
 * While mpsgpu is active, the backward pass (engine.gradients: tf.grad, optimizer.minimize,
 * model.fit) disposes each tape node's output gradients and saved tensors once its gradient has
 * run, instead of all at the end (src/backward.ts): activations go as the backward pass reaches
 * them. Off: tfjs-core's own engine.gradients.
 */
ENV.registerFlag('MPSGPU_RELEASE_BACKWARD', () => true);

/** Flush when this many nodes are pending. */
ENV.registerFlag('MPSGPU_FLUSH_THRESHOLD', () => 1024);

/**
 * Nodes per segment right after an explicit flush (a read, a sync, tf.time): 8 segments this
 * small, then each twice the last, up to MPSGPU_FLUSH_THRESHOLD. The GPU starts on the first
 * kernels while JavaScript records the rest, instead of idling until a whole segment is recorded.
 * Only segments without elementwise nodes are cut early (with fusion on): a flush while tfjs's
 * scopes still hold temporaries keeps them from fusing (a ramp cutting every segment made MNIST
 * fit 40% slower on the H200). 0: every segment waits for the threshold.
 */
ENV.registerFlag('MPSGPU_FLUSH_FIRST', () => 16);

/**
 * Flush when the pending nodes read and write this many bytes: large kernels start on the GPU
 * while JavaScript records the next ones, instead of all waiting for the segment's end. Too small
 * a budget cuts fusion the same way (InceptionV3 at batch 64 on the H200: 40 images/s at 256 MiB,
 * 159 at 4 GiB, 114 at 16 GiB).
 */
ENV.registerFlag('MPSGPU_FLUSH_BYTES', () => 4 * 1024 * 1024 * 1024);

/**
 * Double buffering: an awaited read first waits until fewer than this many submissions are in
 * flight; while this many are, a full segment is cut at the next whole multiple of the budget (at
 * most 4×) instead, and recording goes on while the GPU works (MpsgpuBackend.afterRecord).
 */
ENV.registerFlag('MPSGPU_MAX_IN_FLIGHT', () => 2);

/** Keep at most this many bytes of free buffers in the pool after each flush (-1: no trimming). */
ENV.registerFlag('MPSGPU_POOL_FREE_BYTES', () => -1);

/**
 * Conv2D, FusedConv2D and Conv2DBackpropInput (conv2dTranspose) stage and accumulate in half
 * precision where the adapter has shader-f16 (like MPS's accumulator precision option): faster
 * where f16 math is, at the error bound measured in test/conv_f16.spec.ts. Off by default.
 */
ENV.registerFlag('MPSGPU_CONV_F16', () => false);

/**
 * Float32 matrix products (BatchMatMul/_FusedMatMul without transposes, one batch) run on tensor
 * cores through subgroup matrices where the adapter offers f16 → f32 configs (Dawn:
 * chromium-experimental-subgroup-matrix; in Node set MPSGPU_DAWN_TOGGLES=allow_unsafe_apis,
 * vulkan_enable_f16_on_nvidia). Inputs are rounded to f16, products accumulate in f32: error at
 * most sgmErrorBound(K) · Σ|a||b| (src/codegen/subgroup_matrix.ts). Off by default.
 */
ENV.registerFlag('MPSGPU_MATMUL_TENSOR_CORES', () => false);

/**
 * Time each flush's compute passes on the GPU with timestamp queries, where the adapter has
 * 'timestamp-query': mpsgpu.stats().gpuMs. Browsers may round timestamps (100 µs in Chrome).
 */
ENV.registerFlag('MPSGPU_GPU_TIMING', () => false);

/**
 * Profiling: every dispatch in a compute pass of its own, timed; mpsgpu.kernelTimes() gives GPU
 * time per program. Implies MPSGPU_GPU_TIMING. Slower (no batching of dispatches in passes).
 */
ENV.registerFlag('MPSGPU_KERNEL_TIMING', () => false);

export const flags = {
  get eager(): boolean { return ENV.getBool('MPSGPU_EAGER'); },
  get fusion(): boolean { return ENV.getBool('MPSGPU_FUSION'); },
  get arena(): boolean { return ENV.getBool('MPSGPU_ARENA'); },
  get rematerialize(): boolean { return ENV.getBool('MPSGPU_REMATERIALIZE'); },
  get planCache(): boolean { return ENV.getBool('MPSGPU_PLAN_CACHE'); },
  get releaseBackward(): boolean { return ENV.getBool('MPSGPU_RELEASE_BACKWARD'); },
  get flushThreshold(): number { return ENV.getNumber('MPSGPU_FLUSH_THRESHOLD'); },
  get flushFirst(): number { return ENV.getNumber('MPSGPU_FLUSH_FIRST'); },
  get flushBytes(): number { return ENV.getNumber('MPSGPU_FLUSH_BYTES'); },
  get maxInFlight(): number { return ENV.getNumber('MPSGPU_MAX_IN_FLIGHT'); },
  get poolFreeBytes(): number { return ENV.getNumber('MPSGPU_POOL_FREE_BYTES'); },
  get gpuTiming(): boolean { return ENV.getBool('MPSGPU_GPU_TIMING') || ENV.getBool('MPSGPU_KERNEL_TIMING'); },
  get kernelTiming(): boolean { return ENV.getBool('MPSGPU_KERNEL_TIMING'); },
  get convF16(): boolean { return ENV.getBool('MPSGPU_CONV_F16'); },
  get matmulTensorCores(): boolean { return ENV.getBool('MPSGPU_MATMUL_TENSOR_CORES'); },
};
