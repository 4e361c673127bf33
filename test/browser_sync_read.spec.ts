// Browser only (imported by browser_specs.ts): dataSync() reads the GPU synchronously through
// canvases (src/runtime/canvas_sync_read.ts). Every byte must come back exactly as written.
import * as tf from '@tensorflow/tfjs-core';

import {mpsgpu, MpsgpuBackend} from '../src/index.js';

function backend(): MpsgpuBackend {
  return tf.backend() as MpsgpuBackend;
}

/**
 * Moves a tensor's values to a GPU buffer and forgets the CPU copy, so that dataSync() must read
 * the GPU. Returns the bytes written.
 */
function toGpuOnly(t: tf.Tensor): Uint8Array {
  const b = backend();
  const d = b.data.get(t.dataId);
  const values = d.values!;
  const array = t.dtype === 'float32' ? values as Float32Array : Int32Array.from(values as ArrayLike<number>);
  d.buffer = b.runtime.pool.acquire(d.bytes, false);
  b.gpu.device.queue.writeBuffer(d.buffer, 0, array.buffer, array.byteOffset, array.byteLength);
  d.values = null;
  return new Uint8Array(array.buffer.slice(array.byteOffset, array.byteOffset + array.byteLength));
}

function bytesOf(values: tf.backend_util.TypedArray): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

function expectSameBytes(actual: Uint8Array, expected: Uint8Array, what: string) {
  expect(actual.length).toBe(expected.length, `${what}: byte length`);
  let bad = 0;
  let first = '';
  for (let i = 0; i < expected.length; ++i) {
    if (actual[i] !== expected[i] && bad++ === 0) first = `byte ${i}: got ${actual[i]}, expected ${expected[i]}`;
  }
  expect(bad).toBe(0, `${what}: ${bad} of ${expected.length} bytes differ; first at ${first}`);
}

function float32FromBits(bits: number[]): Float32Array {
  return new Float32Array(Uint32Array.from(bits, b => b >>> 0).buffer);
}

/** Every (alpha byte, colour byte) pair: the bytes a premultiplying canvas would lose. */
function allBytePairs(): Float32Array {
  const bits: number[] = [];
  for (let a = 0; a < 256; ++a) {
    for (let c = 0; c < 256; ++c) bits.push((a << 24) | (c << 16) | ((255 - c) << 8) | ((c * 7 + a) & 255));
  }
  return float32FromBits(bits);
}

describe('browser synchronous reads (canvas)', () => {
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
  });

  beforeEach(async () => {
    await mpsgpu.sync();
  });

  it('has no event-loop waiter and uses OffscreenCanvas', () => {
    expect(typeof OffscreenCanvas).toBe('function');
    expect(backend().runtime.syncWaiter).toBeNull();
  });

  it('float32 special values come back bit for bit (NaN, ±Infinity, -0, denormals, extremes)', () => {
    const f = new Float32Array([
      NaN, Infinity, -Infinity, -0, 0, 1e-45, -1e-45, 1e-40, -1e-40, 1.1754942e-38, 1.17549435e-38,
      3.4028235e38, -3.4028235e38, 1e-38, 1e38, -1e38, 3.14159265, -1.5, 1, -1, 0.1, 16777217, 1e-7,
    ]);
    const nanPayloads = float32FromBits([0x7fc00000, 0xffc00000, 0x7fc00001, 0x7f800001, 0xffbfffff, 0x7fffffff, 0x807fffff, 0x00000001, 0x80000000]);
    for (const [what, values] of [['special values', f], ['NaN payloads and raw patterns', nanPayloads]] as const) {
      const t = tf.tensor(values, [values.length], 'float32');
      const written = toGpuOnly(t);
      const before = mpsgpu.stats().readbacks;
      const read = t.dataSync() as Float32Array;
      expect(mpsgpu.stats().readbacks).toBe(before + 1, `${what}: read from the GPU`);
      expectSameBytes(bytesOf(read), written, what);
      t.dispose();
    }
  });

  it('every byte survives: all (alpha, colour) byte pairs', () => {
    const t = tf.tensor(allBytePairs());
    const written = toGpuOnly(t);
    expectSameBytes(bytesOf(t.dataSync() as Float32Array), written, 'byte pairs');
    t.dispose();
  });

  it('sizes: one element, a partial row, rows and a partial row, more than one canvas (1 MiB)', () => {
    for (const n of [1, 5, 256, 3 * 256 + 7, 262144, 300001]) {
      const values = new Float32Array(n);
      for (let i = 0; i < n; ++i) values[i] = (i * 2654435761 % 1000003) / 7 - 70000;
      const t = tf.tensor(values);
      const written = toGpuOnly(t);
      expectSameBytes(bytesOf(t.dataSync() as Float32Array), written, `${n} elements`);
      t.dispose();
    }
  });

  it('int32 extremes', () => {
    const values = [2147483647, -2147483648, 0, -1, 1, 16777217, -16777217, 123456789, -987654321, 255, 256, 65535];
    const t = tf.tensor(values, [values.length], 'int32');
    const written = toGpuOnly(t);
    const read = t.dataSync() as Int32Array;
    expect(read instanceof Int32Array).toBe(true);
    expectSameBytes(bytesOf(read), written, 'int32');
    expect(Array.from(read)).toEqual(values);
    t.dispose();
  });

  it('bool', () => {
    const values = [true, false, true, true, false, false, true];
    const t = tf.tensor(values, [values.length], 'bool');
    toGpuOnly(t);
    const read = t.dataSync();
    expect(Array.from(read)).toEqual(values.map(v => v ? 1 : 0));
    t.dispose();
  });

  it('an odd byte count reads just those bytes', () => {
    const b = backend();
    const buffer = b.runtime.pool.acquire(16, false);
    b.gpu.device.queue.writeBuffer(buffer, 0, new Uint8Array([1, 2, 3, 250, 5, 6, 7, 8]));
    const bytes = new Uint8Array(b.runtime.readSync(buffer, 6));
    expect(Array.from(bytes)).toEqual([1, 2, 3, 250, 5, 6]);
    b.runtime.pool.release(buffer);
  });

  it('dataSync of pending results sees all earlier work (queue order)', () => {
    const x = tf.tensor([1, -2, 3, -4]);
    expect(Array.from(x.mul(-2).dataSync())).toEqual([-2, 4, -6, 8]);
    let acc: tf.Tensor = tf.scalar(0);
    for (let i = 1; i <= 20; ++i) {
      const next = acc.add(tf.scalar(i));
      acc.dispose();
      acc = next;
      expect(acc.dataSync()[0]).toBe(i * (i + 1) / 2);
    }
    expect(tf.tidy(() => x.add(1).dataSync()[2])).toBe(4);
    tf.dispose([x, acc]);
  });

  it('a large pending result', () => {
    const n = 300001;
    const x = tf.tensor(Float32Array.from({length: n}, (_, i) => i % 1000));
    const y = x.add(1);
    const v = y.dataSync();
    let bad = 0;
    for (let i = 0; i < n; ++i) if (v[i] !== i % 1000 + 1) bad++;
    expect(bad).toBe(0);
    tf.dispose([x, y]);
  });
});
