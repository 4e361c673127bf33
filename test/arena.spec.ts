// Specs of memory aliasing (src/memory/arena.ts): the planner's placements over random lifetimes
// never overlap two values live at once, no dispatch binds one arena both read-only and writable,
// and random graphs compute the same numbers with arenas as without them.
import * as tf from '@tensorflow/tfjs-core';

import {Program} from '../src/codegen/program.js';
import {Node, TensorData} from '../src/graph/graph.js';
import {LiveValue, planArenas, planFlushMemory, reservedBytes} from '../src/memory/arena.js';
import {BufferPool} from '../src/memory/pool.js';
import {mpsgpu} from '../src/index.js';
import {randomGraph, rng} from './random_graph.js';
import {expectMatchesCpu, randomValues, withFlags} from './util.js';

function overlapsInTime(a: LiveValue, b: LiveValue): boolean {
  return a.first <= b.last && b.first <= a.last;
}

describe('mpsgpu arenas', () => {
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
  });

  it('never overlap two values live at the same time (random lifetimes)', () => {
    const align = 256;
    for (let trial = 0; trial < 200; ++trial) {
      const r = rng(trial + 1);
      const n = 1 + Math.floor(r() * 60);
      const steps = 1 + Math.floor(r() * 40);
      const values: LiveValue[] = [];
      for (let i = 0; i < n; ++i) {
        const first = Math.floor(r() * steps);
        // Sizes from 4 bytes to 64 KiB, some not multiples of the alignment.
        values.push({bytes: 4 * (1 + Math.floor(r() ** 3 * 16384)), first, last: first + Math.floor(r() * (steps - first))});
      }
      const maxArena = trial % 3 === 0 ? 32 * 1024 : 1 << 30;
      const plan = planArenas(values, align, maxArena);
      for (let i = 0; i < n; ++i) {
        const p = plan.placements[i];
        const size = reservedBytes(values[i].bytes, align);
        if (size > maxArena) {
          expect(p.arena).toBe(-1);
          continue;
        }
        expect(p.arena).toBeGreaterThanOrEqual(0);
        expect(p.offset % align).toBe(0);
        expect(p.offset + size).toBeLessThanOrEqual(plan.arenaBytes[p.arena]);
        expect(plan.arenaBytes[p.arena]).toBeLessThanOrEqual(maxArena);
        for (let j = 0; j < i; ++j) {
          const q = plan.placements[j];
          if (q.arena !== p.arena || !overlapsInTime(values[i], values[j])) continue;
          const qEnd = q.offset + reservedBytes(values[j].bytes, align);
          const disjoint = p.offset + size <= q.offset || qEnd <= p.offset;
          expect(disjoint).toBe(true, `trial ${trial}: values ${i} and ${j} overlap`);
        }
      }
      // Aliasing must pay: never more than the values' own reserved bytes.
      const total = plan.arenaBytes.reduce((a, b) => a + b, 0);
      const own = values.map(v => reservedBytes(v.bytes, align)).filter(b => b <= maxArena).reduce((a, b) => a + b, 0);
      expect(total).toBeLessThanOrEqual(own);
    }
  });

  it('shares memory between values whose lives do not overlap', () => {
    // A chain: each value dies when the next is written. Two slots suffice.
    const values = Array.from({length: 10}, (_, i) => ({bytes: 1024, first: i, last: i + 1}));
    const plan = planArenas(values, 256, 1 << 30);
    expect(plan.arenaBytes).toEqual([2048]);
  });

  it('keeps a dispatch\'s read and written temporaries in different arenas (random graphs)', () => {
    const program = {name: 'op'} as unknown as Program;
    for (let trial = 0; trial < 100; ++trial) {
      const r = rng(1000 + trial);
      const held = Array.from({length: 3}, () => new TensorData([64], 'float32', 64));
      const made: TensorData[] = [];
      const nodes: Node[] = [];
      const count = 2 + Math.floor(r() * 30);
      for (let i = 0; i < count; ++i) {
        const pool = [...held, ...made];
        const inputs = Array.from({length: 1 + Math.floor(r() * 3)}, () => pool[Math.floor(r() * pool.length)]);
        const outputs = Array.from({length: 1 + Math.floor(r() * 2)}, () => {
          const d = new TensorData([16 + Math.floor(r() * 500)], 'float32', 0);
          (d as {size: number}).size = d.shape[0];
          d.alive = r() < 0.2;
          return d;
        });
        made.push(...outputs);
        nodes.push({program, inputs, outputs});
      }
      const needed = nodes.map(() => true);
      const plan = planFlushMemory(nodes, needed, 256, 1 << 30);
      const where = new Map<TensorData, {arena: number; offset: number; value: LiveValue}>();
      const lastRead = new Map<TensorData, number>();
      nodes.forEach((n, i) => n.inputs.forEach(d => lastRead.set(d, i)));
      plan.values.forEach(({node, output}, k) => {
        const d = nodes[node].outputs[output];
        expect(d.alive).toBe(false);
        where.set(d, {...plan.placements[k], value: {bytes: d.bytes, first: node, last: Math.max(node, lastRead.get(d) ?? node)}});
      });
      // Every dead output is a temporary; nothing held is.
      for (const n of nodes) for (const d of n.outputs) expect(where.has(d)).toBe(!d.alive);
      for (const n of nodes) {
        const written = new Set(n.outputs.map(d => where.get(d)?.arena ?? -1));
        for (const d of n.inputs) {
          const a = where.get(d)?.arena ?? -1;
          if (a >= 0) expect(written.has(a)).toBe(false, `trial ${trial}: arena ${a} read and written by one dispatch`);
        }
      }
      const entries = [...where.values()];
      for (let i = 0; i < entries.length; ++i) {
        for (let j = 0; j < i; ++j) {
          const a = entries[i], b = entries[j];
          if (a.arena !== b.arena || !overlapsInTime(a.value, b.value)) continue;
          const disjoint = a.offset + reservedBytes(a.value.bytes, 256) <= b.offset || b.offset + reservedBytes(b.value.bytes, 256) <= a.offset;
          expect(disjoint).toBe(true);
        }
      }
    }
  });

  it('random graphs compute the same values with arenas as without, and as tfjs-backend-cpu', async () => {
    for (let seed = 1; seed <= 12; ++seed) {
      const data = [0, 1, 2].map(k => randomValues(64, seed * 10 + k, -1, 1));
      const run = async (arena: boolean) => {
        let values: Float32Array[] = [];
        let arenaValues = 0;
        await withFlags({MPSGPU_ARENA: arena}, async () => {
          await mpsgpu.sync();
          mpsgpu.resetStats();
          const outs = tf.tidy(() => randomGraph(seed, data.map(d => tf.tensor2d(d, [8, 8]))));
          values = await Promise.all(outs.map(t => t.data() as Promise<Float32Array>));
          arenaValues = mpsgpu.stats().arenaValues;
          tf.dispose(outs);
        })();
        return {values, arenaValues};
      };
      const aliased = await run(true);
      const separate = await run(false);
      expect(aliased.arenaValues).toBeGreaterThan(0);
      expect(separate.arenaValues).toBe(0);
      for (let k = 0; k < 3; ++k) expect(Array.from(aliased.values[k])).toEqual(Array.from(separate.values[k]));
      await expectMatchesCpu(() => randomGraph(seed, data.map(d => tf.tensor2d(d, [8, 8]))), 1e-4);
    }
  });

  it('a flush reports its arenas in stats().lastFlush', async () => {
    const x = tf.tensor2d(randomValues(64 * 64, 3), [64, 64]);
    await mpsgpu.sync();
    mpsgpu.resetStats();
    // Products do not fuse: each intermediate is a temporary of 16 KiB.
    const y = tf.tidy(() => x.matMul(x).matMul(x).matMul(x).matMul(x));
    await y.data();
    const f = mpsgpu.stats().lastFlush!;
    expect(f.arenaValues).toBe(3);
    expect(f.arenaValueBytes).toBe(3 * 64 * 64 * 4);
    // A chain needs two slots at a time.
    expect(f.arenaBytes).toBe(2 * 64 * 64 * 4);
    expect(mpsgpu.stats().peakArenaBytes).toBe(f.arenaBytes);
    tf.dispose([x, y]);
  });
});

describe('mpsgpu buffer pool', () => {
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
  });

  it('serves a request from its size class, else from a free buffer up to twice its size, else grows', () => {
    const device = (tf.backend() as unknown as {gpu: {device: GPUDevice}}).gpu.device;
    const pool = new BufferPool(device);
    const a = pool.acquire(4096, false);
    const b = pool.acquire(3072, false);
    expect(pool.allocatedBytes).toBe(4096 + 3072);
    pool.release(a);
    pool.release(b);
    // Its own class first.
    expect(pool.acquire(3000, false)).toBe(b);
    // Then the smallest free buffer within twice the size: no growth, a few more bytes in use.
    expect(pool.acquire(2100, false)).toBe(a);
    expect(pool.allocatedBytes).toBe(4096 + 3072);
    expect(pool.inUseBytes).toBe(4096 + 3072);
    pool.release(a);
    // More than twice: a new buffer.
    const c = pool.acquire(1024, false);
    expect(c).not.toBe(a);
    expect(pool.allocatedBytes).toBe(4096 + 3072 + 1024);
    // Released buffers return to their own class, whatever size was asked of them.
    expect(pool.freeBytes).toBe(4096);
    pool.dispose();
  });
});
