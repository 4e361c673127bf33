// Specs of the backend itself: laziness, flushes, memory, errors, reads, dtypes.
import * as tf from '@tensorflow/tfjs-core';

import {depthwiseForwardProgram} from '../kernels/depthwise_programs.js';
import {mpsgpu} from '../src/index.js';
import {Runtime} from '../src/runtime/runtime.js';
import {bytesInGpu, expectClose as expectWithin, randomValues, withFlags} from './util.js';

/** `from` · I · I · … (n products with the identity, n recorded GEMM nodes), intermediates disposed. */
function productChain(from: tf.Tensor, n: number): tf.Tensor {
  return tf.tidy(() => {
    const eye = tf.eye(from.shape[1]!);
    let t = from;
    for (let i = 0; i < n; ++i) t = t.matMul(eye);
    return t;
  });
}

/** `from` + 1 + 1 + … (n adds, n recorded nodes), intermediates disposed. */
function addChain(from: tf.Tensor, n: number): tf.Tensor {
  return tf.tidy(() => {
    let t = from;
    for (let i = 0; i < n; ++i) t = t.add(1);
    return t;
  });
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>) {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; ++i) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5);
}

describe('mpsgpu backend', () => {
  beforeAll(async () => {
    expect(await tf.setBackend('mpsgpu')).toBe(true);
    expect(tf.getBackend()).toBe('mpsgpu');
  });

  beforeEach(async () => {
    await mpsgpu.sync();
  });

  describe('laziness', () => {
    for (const fusion of [true, false]) {
      it(`a chain of ops followed by one read is one flush and one submission (fusion ${fusion ? 'on' : 'off'})`,
         withFlags({MPSGPU_FUSION: fusion}, async () => {
        const x = tf.tensor(randomValues(64, 1), [8, 8]);
        mpsgpu.resetStats();
        const y = tf.tidy(() => x.add(1).mul(2).relu().sub(x));
        expect(mpsgpu.stats().dispatches).toBe(0);
        const values = await y.data();
        const s = mpsgpu.stats();
        expect(s.flushes).toBe(1);
        expect(s.submissions).toBe(1);
        // Fused: the four elementwise kernels are one.
        expect(s.dispatches).toBe(fusion ? 1 : 4);
        expect(s.fusedGroups).toBe(fusion ? 1 : 0);
        expect(s.nodesFused).toBe(fusion ? 3 : 0);
        const xv = await x.data();
        for (let i = 0; i < 64; ++i) expect(values[i]).toBeCloseTo(Math.max((xv[i] + 1) * 2, 0) - xv[i], 5);
        tf.dispose([x, y]);
      }));
    }

    it('a pending result disposed before any read is never dispatched', async () => {
      const x = tf.tensor(randomValues(16, 2));
      mpsgpu.resetStats();
      const a = x.exp();
      const b = x.neg();
      const unusedChain = a.mul(3);
      a.dispose();
      unusedChain.dispose();
      const values = await b.data();
      const s = mpsgpu.stats();
      expect(s.nodesRecorded).toBe(3);
      expect(s.dispatches).toBe(1);
      expect(s.nodesSkipped).toBe(2);
      expect(values[0]).toBeCloseTo(-(await x.data())[0], 6);
      tf.dispose([x, b]);
    });

    it('intermediates disposed by tidy are still computed for the result', withFlags({MPSGPU_FUSION: false}, async () => {
      const x = tf.tensor(randomValues(16, 3));
      mpsgpu.resetStats();
      const y = tf.tidy(() => x.add(1).mul(2).square());
      const xv = await x.data();
      const yv = await y.data();
      expect(mpsgpu.stats().dispatches).toBe(3);
      for (let i = 0; i < 16; ++i) expect(yv[i]).toBeCloseTo(((xv[i] + 1) * 2) ** 2, 4);
      tf.dispose([x, y]);
    }));

    it('MPSGPU_EAGER flushes after every node', withFlags({MPSGPU_EAGER: true}, async () => {
      const x = tf.tensor(randomValues(16, 4));
      mpsgpu.resetStats();
      const y = tf.tidy(() => x.add(1).mul(2).abs());
      expect(mpsgpu.stats().flushes).toBe(3);
      expect(mpsgpu.stats().dispatches).toBe(3);
      await y.data();
      tf.dispose([x, y]);
    }));

    // Without virtual values (src/memory/rematerialize.ts): the adds' results are all still held
    // when the budget cuts, so they would become virtual and need no dispatch at that flush.
    it('the node budget flushes long recordings', withFlags({MPSGPU_FLUSH_THRESHOLD: 4, MPSGPU_MAX_IN_FLIGHT: 64, MPSGPU_REMATERIALIZE: false}, async () => {
      const x = tf.tensor(randomValues(16, 5));
      mpsgpu.resetStats();
      const y = addChain(x, 10);
      expect(mpsgpu.stats().flushes).toBe(2);
      const yv = await y.data();
      expect(yv[0]).toBeCloseTo((await x.data())[0] + 10, 4);
      tf.dispose([x, y]);
    }));

    it('the byte budget flushes recordings of large kernels', withFlags({MPSGPU_FLUSH_BYTES: 1000, MPSGPU_MAX_IN_FLIGHT: 64, MPSGPU_REMATERIALIZE: false}, async () => {
      // Each add reads and writes 64 floats (512 bytes): the budget fills every second node.
      const x = tf.tensor(randomValues(64, 5));
      mpsgpu.resetStats();
      const y = addChain(x, 10);
      expect(mpsgpu.stats().flushes).toBe(5);
      const yv = await y.data();
      const xv = await x.data();
      for (let i = 0; i < 64; ++i) expect(yv[i]).toBeCloseTo(xv[i] + 10, 4);
      tf.dispose([x, y]);
    }));

    it('a full segment is cut only where its fill reaches a whole number, so repeated steps cut alike',
       withFlags({MPSGPU_FLUSH_THRESHOLD: 10, MPSGPU_FLUSH_FIRST: 0, MPSGPU_MAX_IN_FLIGHT: 1, MPSGPU_REMATERIALIZE: false}, async () => {
      const x = tf.tensor(randomValues(16, 5), [4, 4]);
      const eye = tf.eye(4);
      const chain = (from: tf.Tensor, n: number) => tf.tidy(() => {
        let t = from;
        for (let i = 0; i < n; ++i) t = t.matMul(eye);
        return t;
      });
      await mpsgpu.sync();
      const runtime = (tf.backend() as unknown as {runtime: {numInFlight: number; waitInFlightBelow(n: number): Promise<void>}}).runtime;
      // One submission of this run in flight (its completion is seen only once the event loop runs).
      mpsgpu.resetStats();
      const y0 = chain(x, 10);
      expect(mpsgpu.stats().flushes).toBe(1, 'full at 10 nodes, nothing in flight');
      expect(runtime.numInFlight).toBe(1, 'in flight');
      mpsgpu.resetStats();
      // Full at 10 nodes, but the cap of in-flight submissions defers the cut to 20.
      const y1 = chain(y0, 13);
      expect(mpsgpu.stats().flushes).toBe(0);
      await runtime.waitInFlightBelow(0);
      // Nothing is in flight now; still the cut waits for the 20th node, not the next one.
      const y2 = chain(y1, 6);
      expect(mpsgpu.stats().flushes).toBe(0);
      const y3 = chain(y2, 1);
      expect(mpsgpu.stats().flushes).toBe(1, 'flushes at the 20th node');
      expect(mpsgpu.stats().lastFlush!.nodes).toBe(20);
      expectClose(await y3.data(), await x.data());
      tf.dispose([x, eye, y0, y1, y2, y3]);
    }));

    it('one submission from before the last read or explicit flush does not count against the in-flight cap',
       withFlags({MPSGPU_FLUSH_THRESHOLD: 10, MPSGPU_FLUSH_FIRST: 0, MPSGPU_MAX_IN_FLIGHT: 1, MPSGPU_REMATERIALIZE: false}, async () => {
      // Whether the work a read leaves pending is seen completed before the next step records
      // depends on the GPU's speed: counted, it would move the next step's cuts.
      const x = tf.tensor(randomValues(16, 5), [4, 4]);
      const eye = tf.eye(4);
      await mpsgpu.sync();
      const runtime = (tf.backend() as unknown as {runtime: {numInFlight: number}}).runtime;
      const y0 = tf.tidy(() => x.matMul(eye));
      mpsgpu.flush();
      expect(runtime.numInFlight).toBe(1, 'in flight');
      mpsgpu.resetStats();
      const ys = [y0];
      for (let i = 0; i < 10; ++i) ys.push(tf.tidy(() => ys[ys.length - 1].matMul(eye)));
      expect(mpsgpu.stats().flushes).toBe(1, 'cut at the 10th node');
      expectClose(await ys[10].data(), await x.data());
      // Two explicit flushes that did not wait: one of them counts, and defers the cut to 20.
      await mpsgpu.sync();
      const zs = [tf.tidy(() => x.matMul(eye))];
      mpsgpu.flush();
      zs.push(tf.tidy(() => zs[0].matMul(eye)));
      mpsgpu.flush();
      expect(runtime.numInFlight).toBe(2, 'in flight');
      mpsgpu.resetStats();
      for (let i = 0; i < 10; ++i) zs.push(tf.tidy(() => zs[zs.length - 1].matMul(eye)));
      expect(mpsgpu.stats().flushes).toBe(0, 'deferred past the 10th node');
      await (runtime as unknown as {waitInFlightBelow(n: number): Promise<void>}).waitInFlightBelow(0);
      for (let i = 0; i < 10; ++i) zs.push(tf.tidy(() => zs[zs.length - 1].matMul(eye)));
      expect(mpsgpu.stats().flushes).toBe(1, 'cut at the 20th node');
      expectClose(await zs[zs.length - 1].data(), await x.data());
      tf.dispose([x, eye, ...ys, ...zs]);
    }));

    it('after a read, 8 segments are small, then they double (MPSGPU_FLUSH_FIRST)',
       withFlags({MPSGPU_FLUSH_FIRST: 4, MPSGPU_FLUSH_THRESHOLD: 64}, async () => {
      const x = tf.tensor(randomValues(16, 5), [4, 4]);
      mpsgpu.resetStats();
      // Products (not elementwise: the ramp cuts them). 8 segments of 4 nodes, one of 8; the last
      // 5 of 45 stay pending (the next budget is 16).
      const y = productChain(x, 45);
      expect(mpsgpu.stats().flushes).toBe(9);
      expect(mpsgpu.stats().dispatches).toBe(40);
      const xv = await x.data();
      const yv = await y.data();
      for (let i = 0; i < 16; ++i) expect(yv[i]).toBeCloseTo(xv[i], 4);
      // The read restarted the ramp: 4 nodes flush again.
      mpsgpu.resetStats();
      const z = productChain(y, 5);
      expect(mpsgpu.stats().flushes).toBe(1);
      const zv = await z.data();
      for (let i = 0; i < 16; ++i) expect(zv[i]).toBeCloseTo(xv[i], 4);
      tf.dispose([x, y, z]);
    }));

    it('the ramp leaves segments with elementwise nodes whole (they may fuse with what follows)',
       withFlags({MPSGPU_FLUSH_FIRST: 4, MPSGPU_FLUSH_THRESHOLD: 64}, async () => {
      const x = tf.tensor(randomValues(16, 5));
      const one = tf.scalar(1);
      mpsgpu.resetStats();
      const y = tf.tidy(() => {
        let t = x;
        for (let i = 0; i < 45; ++i) t = t.add(one);
        return t;
      });
      expect(mpsgpu.stats().flushes).toBe(0);
      const yv = await y.data();
      // One flush, one fused kernel for the 45 adds (all of x and one: two inputs).
      expect(mpsgpu.stats().flushes).toBe(1);
      expect(mpsgpu.stats().dispatches).toBe(1);
      const xv = await x.data();
      for (let i = 0; i < 16; ++i) expect(yv[i]).toBeCloseTo(xv[i] + 45, 3);
      tf.dispose([x, y, one]);
    }));

    it('uploaded scalars of one value share a buffer that outlives the tensors', async () => {
      await mpsgpu.sync();
      const bytesBefore = bytesInGpu();
      const x = tf.tensor(randomValues(32, 7));
      const xv = await x.data();
      mpsgpu.resetStats();
      // 20 scalar tensors of the value 3 (and one of -3.5 and an int32 3, distinct values).
      let y = x;
      for (let i = 0; i < 20; ++i) {
        const next = y.add(tf.scalar(3));
        if (y !== x) y.dispose();
        y = next;
      }
      const z = tf.tidy(() => y.mul(tf.scalar(-3.5)).add(tf.scalar(3, 'int32').toFloat()));
      const zv = await z.data();
      for (let i = 0; i < 32; ++i) expect(zv[i]).toBeCloseTo((xv[i] + 60) * -3.5 + 3, 3);
      // x, then one upload per distinct scalar value (3, -3.5, int32 3), unless an earlier spec
      // uploaded one of them already.
      expect(mpsgpu.stats().uploads).toBeLessThanOrEqual(4);
      tf.dispose([x, y, z]);
      // The shared scalar buffers are not held by tensors: the memory report is back where it was.
      await mpsgpu.sync();
      expect(bytesInGpu()).toBe(bytesBefore);
    });

    it('mpsgpu.flush() computes without reading', async () => {
      const x = tf.tensor(randomValues(16, 6));
      mpsgpu.resetStats();
      const y = x.sqrt();
      mpsgpu.flush();
      expect(mpsgpu.stats().flushes).toBe(1);
      expect(mpsgpu.stats().dispatches).toBe(1);
      await y.data();
      expect(mpsgpu.stats().flushes).toBe(1);
      tf.dispose([x, y]);
    });

    it('tf.time flushes and reports kernel time', async () => {
      const x = tf.tensor(randomValues(1024, 7));
      mpsgpu.resetStats();
      const info = await tf.time(() => tf.tidy(() => x.exp().log()).dispose());
      expect(typeof info.kernelMs).toBe('number');
      expect(info.kernelMs as number).toBeGreaterThanOrEqual(0);
      x.dispose();
    });
  });

  describe('GPU timing', () => {
    it('stats().lastFlush describes the latest flush, with its GPU time (MPSGPU_GPU_TIMING)', withFlags({MPSGPU_GPU_TIMING: true}, async () => {
      const x = tf.tensor(randomValues(4096, 10), [64, 64]);
      await mpsgpu.sync();
      mpsgpu.resetStats();
      expect(mpsgpu.stats().lastFlush).toBeNull();
      const unused = x.exp();
      const y = tf.tidy(() => x.add(1).mul(2).relu());
      unused.dispose();
      const yv = await y.data();
      const xv = await x.data();
      for (let i = 0; i < 4096; i += 97) expect(yv[i]).toBeCloseTo(Math.max((xv[i] + 1) * 2, 0), 4);
      const f = mpsgpu.stats().lastFlush!;
      expect(f.nodes).toBe(4);
      // add, mul and relu fused into one dispatch; exp skipped.
      expect(f.dispatches).toBe(1);
      expect(f.fusedGroups).toBe(1);
      expect(f.nodesFused).toBe(2);
      expect(f.skipped).toBe(1);
      // At least x and y (16 KiB each) are held by the pool.
      expect(f.poolBytes).toBeGreaterThanOrEqual(2 * 4096 * 4);
      if (mpsgpu.device().features.has('timestamp-query')) {
        for (let i = 0; i < 200 && mpsgpu.stats().lastFlush!.gpuMs === null; ++i) await new Promise(r => setTimeout(r, 5));
        const gpuMs = mpsgpu.stats().lastFlush!.gpuMs;
        expect(gpuMs).not.toBeNull();
        expect(gpuMs!).toBeGreaterThanOrEqual(0);
        expect(mpsgpu.stats().gpuMs).toBeGreaterThanOrEqual(gpuMs!);
      } else {
        expect(mpsgpu.stats().lastFlush!.gpuMs).toBeNull();
      }
      tf.dispose([x, y]);
    }));

    it('MPSGPU_KERNEL_TIMING times every dispatch; stats().gpuMs is their sum', withFlags({MPSGPU_KERNEL_TIMING: true}, async () => {
      if (!mpsgpu.device().features.has('timestamp-query')) {
        pending('the adapter has no timestamp-query');
        return;
      }
      // Large enough to span several timestamp quanta: Dawn rounds timestamps (to 65.5 µs seen on
      // an H200), and a 512² product there often began and ended within one.
      const a = tf.tensor(randomValues(1024 * 2048, 8), [1024, 2048]);
      const b = tf.tensor(randomValues(2048 * 1024, 9), [2048, 1024]);
      await mpsgpu.sync();
      mpsgpu.resetStats();
      const t0 = performance.now();
      const c = tf.tidy(() => tf.matMul(a, b).relu().sum());
      await c.data();
      const wall = performance.now() - t0;
      const dispatches = mpsgpu.stats().dispatches;
      // The timestamps are read back after the submission is done.
      const calls = () => [...mpsgpu.kernelTimes().values()].reduce((n, v) => n + v.calls, 0);
      for (let i = 0; i < 200 && calls() < dispatches; ++i) await new Promise(r => setTimeout(r, 5));
      expect(calls()).toBe(dispatches);
      let total = 0;
      for (const v of mpsgpu.kernelTimes().values()) {
        expect(v.ms).toBeGreaterThanOrEqual(0);
        total += v.ms;
      }
      // 2·1024²·2048 flops take a measurable time on any adapter, and less than the wall time.
      expect(total).toBeGreaterThan(0);
      expect(total).toBeLessThan(wall);
      expect(mpsgpu.stats().gpuMs).toBeCloseTo(total, 6);
      tf.dispose([a, b, c]);
    }));
  });

  describe('reads', () => {
    it('dataSync of a pending result (Node waits synchronously)', async () => {
      const x = tf.tensor([1, -2, 3, -4]);
      const y = x.mul(-2);
      if (tf.env().platformName === 'node') {
        expect(Array.from(y.dataSync())).toEqual([-2, 4, -6, 8]);
      } else {
        expect(Array.from(await y.data())).toEqual([-2, 4, -6, 8]);
      }
      tf.dispose([x, y]);
    });

    it('readSync inside tidy and inside an async read\'s continuation', async () => {
      if (tf.env().platformName !== 'node') return;
      const x = tf.tensor([1, 2, 3]);
      const s = tf.tidy(() => x.add(1).dataSync()[2]);
      expect(s).toBe(4);
      const a = x.mul(10);
      const b = x.mul(100);
      const [av, bv] = await Promise.all([
        a.data().then(v => [v[0], x.sub(1).dataSync()[0]]),
        b.data(),
      ]);
      expect(av).toEqual([10, 0]);
      expect(bv[2]).toBe(300);
      tf.dispose([x, a, b]);
    });

    it('round-trips float32 (NaN, ±Infinity, -0), int32 extremes, bool, complex64 and strings', async () => {
      const f = new Float32Array([NaN, Infinity, -Infinity, -0, 1e-40, 3.4e38, -1.5]);
      const x = tf.tensor(f);
      const y = x.add(0);  // through the GPU
      const yv = await y.data();
      expect(Number.isNaN(yv[0])).toBe(true);
      expect(yv[1]).toBe(Infinity);
      expect(yv[2]).toBe(-Infinity);
      expect(yv[6]).toBe(-1.5);
      const i = tf.tensor([2147483647, -2147483648, 0, 7], [4], 'int32');
      expect(Array.from(await i.add(tf.scalar(0, 'int32')).data())).toEqual([2147483647, -2147483648, 0, 7]);
      const bo = tf.tensor([true, false, true], [3], 'bool');
      const notB = tf.logicalNot(bo);
      expect(notB.dtype).toBe('bool');
      expect(Array.from(await notB.data())).toEqual([0, 1, 0]);
      const c = tf.complex([1, 2], [3, 4]);
      expect(Array.from(await c.data())).toEqual([1, 3, 2, 4]);
      const str = tf.tensor(['a', 'bc']);
      expect(await str.data()).toEqual(['a', 'bc'] as unknown as tf.TypedArray);
      tf.dispose([x, y, i, bo, notB, c, str]);
    });

    it('empty tensors', async () => {
      const e = tf.tensor([], [0, 3]);
      const r = e.add(1);
      expect(r.shape).toEqual([0, 3]);
      expect((await r.data()).length).toBe(0);
      tf.dispose([e, r]);
    });
  });

  describe('memory', () => {
    it('numDataIds counts only what tfjs holds', async () => {
      const x = tf.tensor(randomValues(32, 8));
      const before = tf.engine().backend.numDataIds();
      const y = tf.tidy(() => x.add(1).mul(2).exp());
      expect(tf.engine().backend.numDataIds()).toBe(before + 1);
      await y.data();
      expect(tf.engine().backend.numDataIds()).toBe(before + 1);
      y.dispose();
      expect(tf.engine().backend.numDataIds()).toBe(before);
      x.dispose();
    });

    it('allocated bytes stop growing in a repeated loop, and live bytes return', async () => {
      const x = tf.tensor(randomValues(4096, 9), [64, 64]);
      const step = async () => {
        const y = tf.tidy(() => x.mul(2).add(1).relu().sub(x).square());
        await y.data();
        y.dispose();
        await mpsgpu.sync();
      };
      await step();
      await step();
      const m1 = tf.memory() as tf.MemoryInfo & {numBytesInGPU: number; numBytesInGPUAllocated: number};
      for (let i = 0; i < 20; ++i) await step();
      const m2 = tf.memory() as typeof m1;
      expect(m2.numBytesInGPUAllocated).toBe(m1.numBytesInGPUAllocated);
      expect(m2.numBytesInGPU).toBe(m1.numBytesInGPU);
      expect(m2.numTensors).toBe(m1.numTensors);
      x.dispose();
    });
  });

  describe('bind groups', () => {
    it('a repeated step reuses its bind groups, and results stay right after the pool trims', async () => {
      const values = randomValues(1024, 12);
      const x = tf.tensor(values, [32, 32]);
      const expected = values.map(v => Math.max(0, v * 3 - 1));
      const step = async () => {
        const y = tf.tidy(() => x.mul(3).sub(1).relu());
        const got = await y.data();
        y.dispose();
        await mpsgpu.sync();
        return got;
      };
      await step();
      const before = mpsgpu.stats().bindGroupsReused;
      for (let i = 0; i < 3; ++i) expectClose(await step(), expected);
      expect(mpsgpu.stats().bindGroupsReused).toBeGreaterThan(before);
      // Trimming destroys the free buffers the cached groups name: they must not be used again.
      await withFlags({MPSGPU_POOL_FREE_BYTES: 0}, async () => {
        for (let i = 0; i < 3; ++i) expectClose(await step(), expected);
      })();
      x.dispose();
    });
  });

  describe('uniform offsets', () => {
    // Reference depthwise convolution in float64 (NHWC, multiplier 1, no dilation).
    function depthwise(x: Float32Array, xs: number[], w: Float32Array, f: number, info: tf.backend_util.Conv2DInfo): Float64Array {
      const [n, h, wd, c] = xs, out = new Float64Array(n * info.outHeight * info.outWidth * c);
      for (let b = 0; b < n; ++b) for (let r = 0; r < info.outHeight; ++r) for (let q = 0; q < info.outWidth; ++q) for (let d = 0; d < c; ++d) {
        let sum = 0;
        for (let i = 0; i < f; ++i) for (let j = 0; j < f; ++j) {
          const xr = r * info.strideHeight - info.padInfo.top + i, xc = q * info.strideWidth - info.padInfo.left + j;
          if (xr >= 0 && xr < h && xc >= 0 && xc < wd) sum += x[((b * h + xr) * wd + xc) * c + d] * w[(i * f + j) * c + d];
        }
        out[((b * info.outHeight + r) * info.outWidth + q) * c + d] = sum;
      }
      return out;
    }

    it('fixed and dynamic offsets give every dispatch its own block, also where blocks change places between flushes', async () => {
      // Two programs of one flush have their blocks at offsets 0 and 256 of the uniform buffer; the
      // next flush swaps them. A bind group cached at one offset and reused at the other would give
      // the first program the second one's geometry. The backend's own mode (fixed offsets on CPU
      // adapters, dynamic on GPUs) and the other one both run here, on a second runtime.
      const own = (tf.backend() as unknown as {runtime: Runtime}).runtime;
      const xs = [1, 7, 6, 4], f = 3;
      const x = new Float32Array(randomValues(7 * 6 * 4, 31)), w = new Float32Array(randomValues(f * f * 4, 32));
      const infos = [
        tf.backend_util.computeConv2DInfo(xs as [number, number, number, number], [f, f, 4, 1], 1, 1, 'same', undefined, true),
        tf.backend_util.computeConv2DInfo(xs as [number, number, number, number], [f, f, 4, 1], 2, 1, 'valid', undefined, true),
      ];
      const programs = infos.map((info, i) => depthwiseForwardProgram(`Depthwise${i}`, info));
      const expected = infos.map(info => depthwise(x, xs, w, f, info));
      for (const fixed of [own.staticUniformOffsets, !own.staticUniformOffsets]) {
        const rt = fixed === own.staticUniformOffsets ? own : new Runtime(own.device, null, fixed);
        const upload = (data: Float32Array) => {
          const buffer = rt.pool.acquire(data.byteLength, false);
          rt.device.queue.writeBuffer(buffer, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
          return {buffer, offset: 0, size: 0};
        };
        const inputs = [upload(x), upload(w)];
        const outputs = expected.map(e => ({buffer: rt.pool.acquire(4 * e.length, false), offset: 0, size: 0}));
        for (const order of [[0, 1], [1, 0], [0, 1]]) {
          const encoding = rt.beginEncoding();
          for (const i of order) encoding.dispatch(programs[i], [outputs[i]], inputs);
          encoding.submit();
          for (const i of [0, 1]) {
            const got = new Float32Array(await rt.read(outputs[i].buffer, 4 * expected[i].length));
            expectWithin(got, expected[i], 1e-5, `${fixed ? 'fixed' : 'dynamic'} offsets, order ${order}, program ${i}`);
          }
        }
        for (const b of [...inputs, ...outputs]) rt.pool.release(b.buffer);
        if (rt !== own) rt.dispose();
      }
    });
  });

  describe('errors', () => {
    it('a kernel given an input it cannot take throws a tfjs-style error before GPU work', async () => {
      const s = tf.tensor(['a', 'b']);
      const f = tf.tensor([1, 2]);
      mpsgpu.resetStats();
      expect(() => tf.engine().runKernel('Exp', {x: s})).toThrowError(/Exp.*string.*'x'.*\[2\]/);
      expect(() => tf.engine().runKernel('Reshape', {x: f}, {shape: [3]})).toThrowError(/Reshape.*\[2\].*\[3\]/);
      expect(mpsgpu.stats().nodesRecorded).toBe(0);
      const ok = f.add(1);
      expect(Array.from(await ok.data())).toEqual([2, 3]);
      tf.dispose([s, f, ok]);
    });

    it('a tensor larger than one binding may span is refused when recorded, and the backend goes on', async () => {
      const limit = mpsgpu.device().limits.maxStorageBufferBindingSize;
      const elements = Math.floor(limit / 4) + 1;
      mpsgpu.resetStats();
      expect(() => tf.fill([elements], 1.5)).toThrowError(new RegExp(`Fill: output 0 of shape \\[${elements}\\].*maxStorageBufferBindingSize \\(${limit} bytes\\)`));
      expect(mpsgpu.stats().nodesRecorded).toBe(0);
      // One element less is bindable (the limit is not always a multiple of 4).
      const fits = Math.floor(limit / 4);
      if (fits * 4 <= 256 * 1024 * 1024) {
        const t = tf.fill([fits], 2);
        const total = tf.sum(t);
        expect(Math.abs((await total.data())[0] - 2 * fits)).toBeLessThan(1e-6 * 2 * fits);
        tf.dispose([t, total]);
      }
      expect(mpsgpu.device().uncapturedErrors.length).toBe(0);
      const ok = tf.scalar(3).mul(2);
      expect((await ok.data())[0]).toBe(6);
      ok.dispose();
    });
  });
});
