// Helpers shared by our specs (Node and browser): run the same computation on tfjs-backend-cpu and
// on mpsgpu, compare with stated tolerances, in lazy and eager modes.
import * as tf from '@tensorflow/tfjs-core';

/** Deterministic pseudo-random values (never all zero), so failures reproduce. */
export function randomValues(n: number, seed = 1, lo = -2, hi = 2): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; ++i) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (hi - lo) * (s / 2 ** 32);
  }
  return out;
}

export function randomInts(n: number, seed = 1, lo = -10, hi = 10): Int32Array {
  return Int32Array.from(randomValues(n, seed, lo, hi + 1), v => Math.floor(v));
}

type Out = tf.Tensor|tf.Tensor[];

async function valuesOf(out: Out): Promise<Array<{shape: number[]; dtype: string; values: ArrayLike<number>}>> {
  const list = Array.isArray(out) ? out : [out];
  const result = [];
  for (const t of list) result.push({shape: t.shape, dtype: t.dtype, values: await t.data() as ArrayLike<number>});
  return result;
}

/** Runs `cpu` on tfjs-backend-cpu, then `gpu` on mpsgpu, returning both results' values. */
export async function runOnBoth(gpuFn: () => Out, cpuFn: () => Out = gpuFn) {
  const before = tf.getBackend();
  const valuesOn = async (backend: string, fn: () => Out) => {
    await tf.setBackend(backend);
    const out = tf.tidy(fn);
    const values = await valuesOf(out);
    tf.dispose(out);
    return values;
  };
  const cpu = await valuesOn('cpu', cpuFn);
  const gpu = await valuesOn('mpsgpu', gpuFn);
  if (before) await tf.setBackend(before);
  return {cpu, gpu};
}

/** Relative-or-absolute closeness, like tfjs's expectArraysClose (float32 tolerance 1e-3). */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-3, what = '') {
  expect(actual.length).toBe(expected.length, `${what}: length`);
  let bad = 0;
  let first = '';
  for (let i = 0; i < expected.length; ++i) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (e === a) continue;
    if (!(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)))) {
      if (bad++ === 0) first = `at ${i}: got ${a}, expected ${e}`;
    }
  }
  expect(bad).toBe(0, `${what}: ${bad} of ${expected.length} values off (tolerance ${tol}); first ${first}`);
}

/**
 * `gpu` on mpsgpu gives what `cpu` gives on tfjs-backend-cpu (shapes, dtypes, values within `tol`);
 * a separate `cpu` reference serves where the CPU backend refuses an input or gets it wrong.
 */
export async function expectGpuMatches(gpu: () => Out, cpu: () => Out, tol = 0, what = '') {
  const {cpu: expected, gpu: actual} = await runOnBoth(gpu, cpu);
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => {
    expect(actual[i].shape).toEqual(e.shape, `${what} output ${i} shape`);
    expect(actual[i].dtype).toBe(e.dtype, `${what} output ${i} dtype`);
    expectClose(actual[i].values, e.values, tol, `${what} output ${i}`);
  });
}

/** `fn` computes the same on cpu and mpsgpu (shapes, dtypes, values within `tol`). */
export async function expectMatchesCpu(fn: () => Out, tol = 1e-3, what = '') {
  await expectGpuMatches(fn, fn, tol, what);
}

/** Runs the body of a describe in lazy mode and again in eager mode (MPSGPU_EAGER). */
export function describeLazyAndEager(name: string, body: () => void) {
  for (const eager of [false, true]) {
    describe(`${name} (${eager ? 'eager' : 'lazy'})`, () => {
      let saved: boolean;
      beforeAll(async () => {
        await tf.setBackend('mpsgpu');
        saved = tf.env().getBool('MPSGPU_EAGER');
        tf.env().set('MPSGPU_EAGER', eager);
      });
      afterAll(() => tf.env().set('MPSGPU_EAGER', saved));
      body();
    });
  }
}

type Flags = Record<string, number|boolean|string>;

/** A spec body run with `flags` set through tf.env(), restored afterwards. */
export function withFlags(flags: Flags, body: () => Promise<void>): () => Promise<void> {
  return async () => {
    const saved: Flags = {};
    for (const k of Object.keys(flags)) saved[k] = tf.env().get(k);
    tf.env().setFlags(flags);
    try {
      await body();
    } finally {
      tf.env().setFlags(saved);
    }
  };
}

/** Bytes of GPU buffers that tensors and pending work hold (mpsgpu's tf.memory().numBytesInGPU). */
export function bytesInGpu(): number {
  return (tf.memory() as tf.MemoryInfo & {numBytesInGPU: number}).numBytesInGPU;
}
