// The tfjs KernelBackend: tensor storage, reads and writes, and the recording entry points kernels
// use. Work is recorded into the lazy graph and computed at a flush.
import {backend_util, BackendTimingInfo, BackendValues, DataId, DataStorage, DataType, engine, KernelBackend, TensorInfo, util} from '@tensorflow/tfjs-core';

import {Program} from './codegen/program.js';
import {isCpuAdapter, MpsgpuDevice} from './device.js';
import {flags} from './flags.js';
import {bytesPerElement, Graph, TensorData} from './graph/graph.js';
import {Runtime} from './runtime/runtime.js';
import {stats} from './stats.js';

export interface OutputSpec {
  shape: number[];
  dtype: DataType;
}

export class MpsgpuBackend extends KernelBackend {
  readonly data: DataStorage<TensorData>;
  readonly runtime: Runtime;
  readonly graph: Graph;
  private disposed = false;

  constructor(readonly gpu: MpsgpuDevice) {
    super();
    this.data = new DataStorage(this, engine());
    this.runtime = new Runtime(gpu.device, gpu.syncWaiter, isCpuAdapter(gpu));
    this.graph = new Graph(this.runtime);
    this.graph.variables = () => this.variableData();
  }

  // ---- storage ----------------------------------------------------------------------------------

  override write(values: BackendValues|null, shape: number[], dtype: DataType): DataId {
    const dataId = {id: nextDataId++};
    this.move(dataId, values, shape, dtype, 1);
    return dataId;
  }

  override move(dataId: DataId, values: BackendValues|null, shape: number[], dtype: DataType, refCount: number): void {
    const d = new TensorData(shape, dtype, util.sizeFromShape(shape));
    d.refCount = refCount;
    if (dtype === 'complex64' && values != null) {
      const complex = backend_util.splitRealAndImagArrays(values as Float32Array);
      d.complexParts = {
        real: this.makeTensorInfo(shape, 'float32', complex.real),
        imag: this.makeTensorInfo(shape, 'float32', complex.imag),
      };
    } else {
      d.values = values;
    }
    this.data.set(dataId, d);
  }

  /** A tensor of this backend holding `values` (or, without values, to be written by a node). */
  makeTensorInfo(shape: number[], dtype: DataType, values?: BackendValues): TensorInfo {
    if (dtype === 'string' && values != null && values.length > 0 && util.isString(values[0])) {
      values = (values as unknown as string[]).map(s => util.encodeString(s));
    }
    const dataId = this.write(values ?? null, shape, dtype);
    return {dataId, shape, dtype};
  }

  override refCount(dataId: DataId): number {
    return this.data.has(dataId) ? this.data.get(dataId).refCount : 0;
  }

  override incRef(dataId: DataId): void {
    this.data.get(dataId).refCount++;
  }

  override numDataIds(): number {
    return this.data.numDataIds();
  }

  override disposeData(dataId: DataId, force = false): boolean {
    if (!this.data.has(dataId)) return true;
    const d = this.data.get(dataId);
    d.refCount--;
    if (!force && d.refCount > 0) return false;
    if (d.complexParts) {
      this.disposeData(d.complexParts.real.dataId, true);
      this.disposeData(d.complexParts.imag.dataId, true);
    }
    this.data.delete(dataId);
    d.alive = false;
    // Pending work still reading or writing it releases the buffer at the flush.
    this.graph.settle(d, null);
    return true;
  }

  disposeIntermediateTensorInfo(info: TensorInfo): void {
    this.disposeData(info.dataId);
  }

  override memory() {
    return {
      unreliable: false,
      numBytesInGPU: this.runtime.pool.inUseBytes,
      numBytesInGPUAllocated: this.runtime.pool.allocatedBytes,
      numBytesInGPUFree: this.runtime.pool.freeBytes,
    } as {unreliable: boolean};
  }

  /** The values of tfjs's variables that live on this backend. */
  private variableData(): Set<TensorData> {
    const out = new Set<TensorData>();
    const variables = (engine() as unknown as {state: {registeredVariables: Record<string, TensorInfo>}}).state.registeredVariables;
    for (const name in variables) {
      const id = variables[name].dataId;
      if (this.data.has(id)) out.add(this.data.get(id));
    }
    return out;
  }

  // ---- reads ------------------------------------------------------------------------------------

  override async read(dataId: DataId): Promise<BackendValues> {
    this.checkDevice();
    const d = this.data.get(dataId);
    if (d.complexParts) {
      const [re, im] = await Promise.all([this.read(d.complexParts.real.dataId), this.read(d.complexParts.imag.dataId)]);
      return backend_util.mergeRealAndImagArrays(re as Float32Array, im as Float32Array);
    }
    if (d.values) return this.readKnown(d);
    if (d.size === 0) return emptyValues(d.dtype);
    d.readBack = true;
    this.graph.realize(d);
    if (d.producer) await this.runtime.waitInFlightBelow(flags.maxInFlight - 1);
    let bytes: ArrayBuffer;
    if (d.producer) {
      // The readback copy rides in the flush's own command buffer: one submission.
      const {staging, id} = this.flushWithReadback(d);
      bytes = await this.runtime.finishReadback(staging, d.bytes, id);
    } else {
      this.checkBuffer(d);
      // The copy is submitted (and its map requested) before the work still pending, which then
      // starts on the GPU while the value comes back. Segments so end where the program reads (a
      // training step's loss): each step's flushes repeat and reuse their plans
      // (src/graph/plan_cache.ts), instead of drifting across step boundaries.
      const reading = this.runtime.read(d.buffer!, d.bytes);
      if (this.graph.numPending > 0) {
        this.flushGraph();
        this.segmentBudget = -1;
      }
      bytes = await reading;
    }
    d.values ??= fromGpuBytes(bytes, d.dtype);
    return d.values;
  }

  override readSync(dataId: DataId): BackendValues {
    this.checkDevice();
    const d = this.data.get(dataId);
    if (d.complexParts) {
      const re = this.readSync(d.complexParts.real.dataId) as Float32Array;
      const im = this.readSync(d.complexParts.imag.dataId) as Float32Array;
      return backend_util.mergeRealAndImagArrays(re, im);
    }
    if (d.values) return this.readKnown(d);
    if (d.size === 0) return emptyValues(d.dtype);
    d.readBack = true;
    this.graph.realize(d);
    let bytes: ArrayBuffer;
    if (d.producer && this.runtime.syncWaiter) {
      const {staging, id} = this.flushWithReadback(d);
      bytes = this.runtime.finishReadbackSync(staging, d.bytes, id);
    } else {
      if (d.producer) this.flush();
      this.checkBuffer(d);
      bytes = this.runtime.readSync(d.buffer!, d.bytes);
    }
    d.values = fromGpuBytes(bytes, d.dtype);
    return d.values;
  }

  /**
   * Values known on the CPU. When the GPU is still to compute them, the pending work is submitted
   * as a read of them would (without waiting): reads are where segments end, so the flushes of a
   * loop whose program reads such a value (model.fit's batch indices, validated by GatherV2) stay
   * the same every step and reuse their plans.
   */
  private readKnown(d: TensorData): BackendValues {
    if (d.producer) {
      this.flushGraph();
      this.segmentBudget = -1;
    }
    return d.values!;
  }

  /**
   * Computes `out`'s values on the CPU too, when `x`'s are known and small: a later read of `out`
   * (GatherV2 checking indices, a shape argument) then needs no GPU round trip. Exact operations
   * only (copies, casts), so the values equal what the GPU computes.
   */
  knowValues(out: TensorInfo, x: TensorInfo, compute: (xValues: BackendValues) => BackendValues): void {
    if (x.dtype === 'string' || x.dtype === 'complex64' || util.sizeFromShape(out.shape) > KNOWN_VALUES_MAX) return;
    const xValues = this.data.get(x.dataId).values;
    const d = this.data.get(out.dataId);
    if (xValues == null || d.values != null) return;
    d.values = compute(xValues);
  }

  private checkBuffer(d: TensorData) {
    if (!d.buffer) throw new Error('mpsgpu internal error: a tensor has neither values nor a GPU buffer');
  }

  // ---- recording --------------------------------------------------------------------------------

  /** Record `program` reading `inputs` and writing one new tensor. */
  runProgram(program: Program, inputs: TensorInfo[], shape: number[], dtype: DataType): TensorInfo {
    return this.runProgramMulti(program, inputs, [{shape, dtype}])[0];
  }

  /** Record `program` reading `inputs` and writing one new tensor per output spec. */
  runProgramMulti(program: Program, inputs: TensorInfo[], outputs: OutputSpec[]): TensorInfo[] {
    this.checkDevice();
    this.checkBindable(program.name, inputs, outputs);
    // Plain loops: this runs for every recorded kernel.
    const infos: TensorInfo[] = [];
    let empty = true;
    for (const o of outputs) {
      infos.push(this.makeTensorInfo(o.shape, o.dtype));
      if (util.sizeFromShape(o.shape) !== 0) empty = false;
    }
    if (empty) return infos;
    const outData: TensorData[] = [];
    for (const info of infos) outData.push(this.data.get(info.dataId));
    const inData: TensorData[] = [];
    for (const input of inputs) inData.push(this.data.get(input.dataId));
    this.graph.record({program, inputs: inData, outputs: outData});
    this.afterRecord();
    return infos;
  }

  /**
   * WebGPU binds a tensor whole, up to the adapter's maxStorageBufferBindingSize: a larger one
   * would fail validation on the GPU and compute nothing. Refused here, before any work is recorded.
   */
  private checkBindable(kernel: string, inputs: TensorInfo[], outputs: OutputSpec[]) {
    const limit = this.gpu.limits.maxStorageBufferBindingSize;
    // The message is built only when a check fails (this runs for every recorded kernel).
    for (let i = 0; i < inputs.length; ++i) {
      if (bindingBytes(inputs[i]) > limit) throw unbindable(kernel, `input ${i}`, inputs[i], limit);
    }
    for (let i = 0; i < outputs.length; ++i) {
      if (bindingBytes(outputs[i]) > limit) throw unbindable(kernel, `output ${i}`, outputs[i], limit);
    }
  }

  /** Node budget of the segment being recorded (see MPSGPU_FLUSH_FIRST); -1: restart the ramp. */
  private segmentBudget = -1;
  /** Segments flushed by the ramp since the last explicit flush. */
  private rampSegments = 0;
  /** Submissions made before the ramp restarted (the in-flight cap lets one of them go). */
  private rampSubmitted = 0;

  private afterRecord() {
    if (flags.eager) {
      this.flush();
      return;
    }
    const threshold = flags.flushThreshold;
    if (this.segmentBudget < 0) {
      this.segmentBudget = flags.flushFirst || threshold;
      this.rampSegments = 0;
      this.rampSubmitted = this.runtime.submitted;
    }
    const pending = this.graph.numPending;
    // The ramp cuts only segments without elementwise nodes: those may still fuse with what
    // follows (their temporaries die when tfjs's scope ends, usually after this point).
    const rampCut = !flags.fusion || this.graph.pendingElementwise === 0;
    if (pending >= this.segmentBudget && pending < threshold && rampCut) {
      // The ramp after an explicit flush: small segments start the GPU early (bounded in memory by
      // the threshold they grow to, so the in-flight cap below does not apply).
      this.flushGraph();
      if (++this.rampSegments >= RAMP_STEADY_SEGMENTS) this.segmentBudget = Math.min(threshold, 2 * pending);
      return;
    }
    // Relative to the node and byte budgets; ≥ 1: the segment is full.
    const fill = Math.max(pending / threshold, this.graph.pendingBytes / flags.flushBytes);
    if (fill < this.cutAtFill) return;
    // Keep recording while N submissions are in flight, but never let the segment grow unbounded.
    // Whether to cut is decided only where the fill reaches a whole number: cut anywhere (when a
    // submission completes), the segments of a repeated step would differ every time, each a new
    // plan with new pipelines. So they take one of 4 shapes.
    //
    // One submission from before the ramp restarted (at the last read or explicit flush) is not
    // counted. The work a read leaves pending is submitted after the read's copy, and whether it is
    // seen completed before the next step starts recording depends on the GPU's speed: counting it
    // made the cuts, and so the plans and arenas, of some steps differ (InceptionV3 on the H200: 12
    // flushes instead of 13 now and then, each new plan's arenas allocated anew). Any further
    // earlier ones count (flushes that did not wait: mpsgpu.flush(), synchronous reads).
    const own = Math.min(this.runtime.numInFlight, this.runtime.submitted - this.rampSubmitted);
    const inFlight = Math.max(own, this.runtime.numInFlight - 1);
    if (inFlight < flags.maxInFlight || fill >= 4) {
      this.flushGraph();
    } else {
      this.cutAtFill = Math.floor(fill) + 1;
    }
  }

  /** The fill (see afterRecord) at which the segment being recorded may be cut next. */
  private cutAtFill = 1;

  /**
   * Compute all pending work (submits; does not wait for the GPU). An explicit flush restarts the
   * segment ramp (MPSGPU_FLUSH_FIRST): a read or sync usually follows, and the GPU idles after it.
   */
  flush(): void {
    // Everything is computed: values tfjs holds are stored, not left virtual (a caller of
    // mpsgpu.flush() or tf.time wants the work done now).
    this.flushGraph(false);
    this.segmentBudget = -1;
  }

  private flushGraph(virtualize = true): void {
    this.checkDevice();
    this.graph.flush(d => this.upload(d), undefined, virtualize);
    this.cutAtFill = 1;
    if (flags.poolFreeBytes >= 0 && this.runtime.pool.trim(flags.poolFreeBytes) > 0) this.runtime.dropBindGroups();
  }

  private flushWithReadback(d: TensorData): {staging: GPUBuffer; id: number} {
    this.checkDevice();
    let staging: GPUBuffer|null = null;
    const id = this.graph.flush(t => this.upload(t), encoding => {
      this.checkBuffer(d);
      staging = this.runtime.stageReadback(encoding, d.buffer!, d.bytes);
    });
    this.cutAtFill = 1;
    this.segmentBudget = -1;
    return {staging: staging!, id};
  }

  private upload(d: TensorData) {
    if (d.values == null) throw new Error('mpsgpu internal error: a tensor read by the GPU has no values');
    if (d.dtype === 'string') throw new Error('mpsgpu: string tensors cannot be used in GPU kernels');
    const array = toGpuArray(d.values, d.dtype);
    // A scalar (tfjs makes one per number argument: x.mul(2)) shares one buffer per value.
    const shared = d.size === 1 && d.dtype !== 'complex64' ? this.runtime.pool.scalar(d.dtype, array) : null;
    if (shared) {
      d.buffer = shared;
      return;
    }
    d.buffer = this.runtime.pool.acquire(d.bytes, false);
    this.gpu.device.queue.writeBuffer(d.buffer, 0, array.buffer, array.byteOffset, array.byteLength);
    stats.uploads++;
  }

  // ---- timing -----------------------------------------------------------------------------------

  override timerAvailable(): boolean {
    return true;
  }

  override async time(f: () => void): Promise<BackendTimingInfo> {
    // tfjs calls f through here and uses its outputs right away: f must run synchronously.
    this.flush();
    let earlierDone = 0;
    const earlier = this.runtime.waitIdle().then(() => { earlierDone = util.now(); });
    const start = util.now();
    f();
    this.flush();
    await earlier;
    await this.runtime.waitIdle();
    // Wall time of f's GPU work: from when both f started and earlier work finished, to idle.
    return {kernelMs: util.now() - Math.max(start, earlierDone)};
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  checkDevice(): void {
    if (this.gpu.lost) {
      throw new Error(`mpsgpu: the GPU device was lost (${this.gpu.lost}). Call ` +
        `await tf.setBackend('mpsgpu') to set the backend up again on a new device.`);
    }
    if (this.disposed) throw new Error('mpsgpu: this backend was disposed');
  }

  override floatPrecision(): 32 {
    return 32;
  }

  override epsilon(): number {
    return 1e-7;
  }

  override dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // The device stays: it is shared by backends created later (tfjs-core's tests reset often).
    this.runtime.dispose();
  }
}

let nextDataId = 0;

function bindingBytes(t: OutputSpec): number {
  return util.sizeFromShape(t.shape) * bytesPerElement(t.dtype);
}

function unbindable(kernel: string, what: string, t: OutputSpec, limit: number): Error {
  return new Error(`mpsgpu: ${kernel}: ${what} of shape [${t.shape}] (${t.dtype}, ${bindingBytes(t)} bytes) exceeds this ` +
                   `adapter's maxStorageBufferBindingSize (${limit} bytes), the most one GPU kernel can bind`);
}

/** Elements up to which copies and casts of known values are also computed on the CPU. */
const KNOWN_VALUES_MAX = 4096;

/**
 * Ramp segments of MPSGPU_FLUSH_FIRST nodes before they start doubling. Kernel-at-a-time loops (a
 * hundred small kernels, each about as long on the GPU as in JavaScript) then overlap recording
 * with the GPU as tfjs-backend-webgpu's 15-dispatch submissions do, and leave only a short last
 * segment to wait for; a long training step reaches full segments after ~1100 nodes.
 */
const RAMP_STEADY_SEGMENTS = 8;

function emptyValues(dtype: DataType): BackendValues {
  return util.getTypedArrayFromDType(dtype === 'string' ? 'float32' : dtype as 'float32', 0);
}

/** The array uploaded for `values` (bool goes up as i32). */
function toGpuArray(values: BackendValues, dtype: DataType): Float32Array|Int32Array {
  if (dtype === 'float32') return values instanceof Float32Array ? values : new Float32Array(values as ArrayLike<number>);
  return values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>);
}

function fromGpuBytes(bytes: ArrayBuffer, dtype: DataType): BackendValues {
  switch (dtype) {
    case 'float32': return new Float32Array(bytes);
    case 'int32': return new Int32Array(bytes);
    case 'bool': return Uint8Array.from(new Int32Array(bytes));
    default: throw new Error(`mpsgpu: cannot read ${dtype} from the GPU`);
  }
}

export {bytesPerElement};
