// Size-class buffer pool. A released buffer is reusable at once by anything submitted later: the
// queue runs submissions and queue.writeBuffer calls in order, so a later write cannot overtake
// earlier work that reads the buffer (and the GPU finishing is only observed when JavaScript
// yields, which a training step recorded in one go never does: waiting for it kept every buffer a
// step freed from being reused in the same step). Buffers released while a flush is being encoded
// are reusable by later dispatches of the same command buffer (the queue orders them), never by
// uploads (queue.writeBuffer runs before the whole command buffer), until it is submitted.
import {stats} from '../stats.js';


/** Size classes: powers of two with four steps each, from 256 bytes. Worst-case waste is 25%. */
export function sizeClass(bytes: number): number {
  const min = 256;
  if (bytes <= min) return min;
  const pow = 2 ** Math.floor(Math.log2(bytes));
  const step = pow / 4;
  return Math.ceil(bytes / step) * step;
}

/**
 * A request its size class cannot serve from free buffers takes a free buffer of up to this many
 * times its size before a new one is created: fewer bytes allocated, a few more held.
 */
const LARGER_FIT = 2;

/** Distinct uploaded scalar values kept in shared buffers (beyond: ordinary uploads). */
const MAX_SCALARS = 4096;
/** A shared scalar's buffer: the pool's smallest size class, so any binding of it is valid. */
const SCALAR_BYTES = 256;

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  /** Released in the flush now being encoded: only dispatches of that flush may reuse them. */
  private freeInEncoder = new Map<number, GPUBuffer[]>();
  private sizes = new Map<GPUBuffer, number>();
  allocatedBytes = 0;
  /** Bytes of buffers handed out and not released: what tensors hold. */
  inUseBytes = 0;
  freeBytes = 0;
  /**
   * Uploaded scalars, one read-only buffer per dtype and bit pattern, shared by every tensor of
   * that value and never released to the pool: an InceptionV3 training step uploads ~2,300
   * scalars (the numbers of x.mul(2), Adam's betas …), each a writeBuffer and a fresh buffer that
   * kept bind groups from being reused across steps.
   */
  private scalars = new Map<string, GPUBuffer>();
  private scalarBuffers = new Set<GPUBuffer>();

  constructor(private device: GPUDevice,
              private usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST) {}

  /** A buffer of at least `bytes`. `forDispatch`: may reuse buffers released in this encoder. */
  acquire(bytes: number, forDispatch: boolean): GPUBuffer {
    const size = sizeClass(bytes);
    this.inUseBytes += size;
    stats.peakLiveBytes = Math.max(stats.peakLiveBytes, this.inUseBytes);
    if (forDispatch) {
      const list = this.freeInEncoder.get(size);
      if (list && list.length > 0) return list.pop()!;
    }
    const list = this.free.get(size);
    if (list && list.length > 0) {
      this.freeBytes -= size;
      return list.pop()!;
    }
    // Rather than grow the pool, take the smallest free buffer up to LARGER_FIT times the size.
    const larger = this.smallestFreeUpTo(size, LARGER_FIT * size);
    if (larger > 0) {
      this.inUseBytes += larger - size;
      stats.peakLiveBytes = Math.max(stats.peakLiveBytes, this.inUseBytes);
      this.freeBytes -= larger;
      return this.free.get(larger)!.pop()!;
    }
    const buffer = this.device.createBuffer({size, usage: this.usage});
    stats.buffersCreated++;
    this.sizes.set(buffer, size);
    this.allocatedBytes += size;
    stats.peakAllocatedBytes = Math.max(stats.peakAllocatedBytes, this.allocatedBytes);
    return buffer;
  }

  /**
   * A buffer for an arena (src/memory/arena.ts) of at least `bytes`: the smallest free one up to
   * twice that size, so that flushes of similar size share arenas, else a new one.
   */
  acquireArena(bytes: number): GPUBuffer {
    const want = sizeClass(bytes);
    const best = this.smallestFreeUpTo(want, 2 * want);
    return this.acquire(best > 0 ? best : want, false);
  }

  /** The smallest size class in [from, to] with a free buffer; 0 if none. */
  private smallestFreeUpTo(from: number, to: number): number {
    let best = 0;
    for (const [size, list] of this.free) {
      if (list.length > 0 && size >= from && size <= to && (best === 0 || size < best)) best = size;
    }
    return best;
  }

  /** The shared buffer holding the scalar `value` (one element of `dtype`); null when the cache is full. */
  scalar(dtype: string, value: ArrayBufferView): GPUBuffer|null {
    const bits = new Uint32Array(value.buffer, value.byteOffset, 1)[0];
    const key = `${dtype}:${bits}`;
    let buffer = this.scalars.get(key);
    if (buffer) return buffer;
    if (this.scalars.size >= MAX_SCALARS) return null;
    buffer = this.device.createBuffer({size: SCALAR_BYTES, usage: this.usage});
    this.device.queue.writeBuffer(buffer, 0, value.buffer, value.byteOffset, 4);
    stats.uploads++;
    this.scalars.set(key, buffer);
    this.scalarBuffers.add(buffer);
    return buffer;
  }

  /** Release a buffer that the flush being encoded used last. */
  releaseInEncoder(buffer: GPUBuffer): void {
    if (this.scalarBuffers.has(buffer)) return;
    this.inUseBytes -= this.sizes.get(buffer)!;
    push(this.freeInEncoder, this.sizes.get(buffer)!, buffer);
  }

  /** Release a buffer whose last use (if any) was submitted already. */
  release(buffer: GPUBuffer): void {
    if (this.scalarBuffers.has(buffer)) return;
    this.inUseBytes -= this.sizes.get(buffer)!;
    this.makeFree(buffer);
  }

  /** The encoder's recycled buffers were all used by it, and it was submitted. */
  endEncoder(): void {
    for (const list of this.freeInEncoder.values()) {
      for (const buffer of list) this.makeFree(buffer);
    }
    this.freeInEncoder.clear();
  }

  /** Destroy free buffers until at most `keepBytes` stay free; returns how many were destroyed. */
  trim(keepBytes = 0): number {
    let destroyed = 0;
    for (const [size, list] of this.free) {
      while (list.length > 0 && this.freeBytes > keepBytes) {
        const buffer = list.pop()!;
        buffer.destroy();
        this.sizes.delete(buffer);
        this.freeBytes -= size;
        this.allocatedBytes -= size;
        stats.buffersDestroyed++;
        destroyed++;
      }
    }
    return destroyed;
  }

  dispose(): void {
    for (const buffer of this.sizes.keys()) buffer.destroy();
    for (const buffer of this.scalarBuffers) buffer.destroy();
    this.scalars.clear();
    this.scalarBuffers.clear();
    this.sizes.clear();
    this.free.clear();
    this.freeInEncoder.clear();
    this.allocatedBytes = this.freeBytes = this.inUseBytes = 0;
  }

  private makeFree(buffer: GPUBuffer) {
    const size = this.sizes.get(buffer)!;
    push(this.free, size, buffer);
    this.freeBytes += size;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
