// GPU time from timestamp queries, where the adapter has 'timestamp-query'. Each compute pass of a
// flush writes a timestamp at its start and at its end; once the submission is done the pairs are
// read back and summed into stats.gpuMs. With MPSGPU_KERNEL_TIMING every dispatch gets a pass of
// its own and its time is also added under its program's name (profiling: it splits the passes).
import {FlushStats, stats} from '../stats.js';

/** Passes timed per flush; later ones go untimed (stats.untimedPasses counts them). */
const PAIRS = 1024;

interface Slot {
  querySet: GPUQuerySet;
  resolve: GPUBuffer;
  readback: GPUBuffer;
}

/** GPU time per program name (MPSGPU_KERNEL_TIMING): calls and milliseconds. */
export const kernelGpuTimes = new Map<string, {calls: number; ms: number}>();

export class GpuTimer {
  private free: Slot[] = [];
  private disposed = false;

  constructor(private device: GPUDevice) {}

  /** Timestamps for one encoding's passes. */
  begin(): TimedEncoding {
    const slot = this.free.pop() ?? this.createSlot();
    return new TimedEncoding(this, slot);
  }

  private createSlot(): Slot {
    return {
      querySet: this.device.createQuerySet({type: 'timestamp', count: 2 * PAIRS}),
      resolve: this.device.createBuffer({size: 16 * PAIRS, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC}),
      readback: this.device.createBuffer({size: 16 * PAIRS, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST}),
    };
  }

  /** Read a submitted encoding's timestamps when the GPU is done with it. */
  collect(slot: Slot, labels: Array<string|null>, flush: FlushStats|null) {
    const n = labels.length;
    slot.readback.mapAsync(GPUMapMode.READ, 0, 16 * n).then(() => {
      const t = new BigUint64Array(slot.readback.getMappedRange(0, 16 * n));
      let total = 0;
      for (let i = 0; i < n; ++i) {
        // Some drivers reorder or reset timestamps across passes: a negative span counts as 0.
        const ms = t[2 * i + 1] > t[2 * i] ? Number(t[2 * i + 1] - t[2 * i]) / 1e6 : 0;
        total += ms;
        const label = labels[i];
        if (label !== null) {
          const entry = kernelGpuTimes.get(label) ?? {calls: 0, ms: 0};
          entry.calls++;
          entry.ms += ms;
          kernelGpuTimes.set(label, entry);
        }
      }
      stats.gpuMs += total;
      if (flush) flush.gpuMs = total;
      slot.readback.unmap();
      this.release(slot);
    }, () => {
      // The device was lost or destroyed: the slot goes with it.
    });
  }

  /** A slot back for reuse; after dispose (a readback still in flight then), destroyed. */
  release(slot: Slot) {
    if (this.disposed) destroySlot(slot);
    else this.free.push(slot);
  }

  dispose() {
    this.disposed = true;
    this.free.forEach(destroySlot);
    this.free = [];
  }
}

function destroySlot(s: Slot) {
  s.querySet.destroy();
  s.resolve.destroy();
  s.readback.destroy();
}

export class TimedEncoding {
  /** Per timed pass: the program name (kernel timing) or null. */
  private labels: Array<string|null> = [];

  constructor(private timer: GpuTimer, private slot: Slot) {}

  /** timestampWrites for the next compute pass (undefined once the slot is full). */
  pass(label: string|null): GPUComputePassTimestampWrites|undefined {
    if (this.labels.length >= PAIRS) {
      stats.untimedPasses++;
      return undefined;
    }
    const i = this.labels.length;
    this.labels.push(label);
    return {querySet: this.slot.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1};
  }

  /** Resolve the timestamps into the readback buffer, at the end of the command buffer. */
  finish(encoder: GPUCommandEncoder) {
    const n = this.labels.length;
    if (n === 0) return;
    encoder.resolveQuerySet(this.slot.querySet, 0, 2 * n, this.slot.resolve, 0);
    encoder.copyBufferToBuffer(this.slot.resolve, 0, this.slot.readback, 0, 16 * n);
  }

  /** After the submit: read the times back when the GPU is done (into `flush` too, if given). */
  submitted(flush: FlushStats|null) {
    if (this.labels.length === 0) {
      this.timer.release(this.slot);
      return;
    }
    this.timer.collect(this.slot, this.labels, flush);
  }
}
