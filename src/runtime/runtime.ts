// The runtime owns the device: shader and pipeline caches, uniform packing, command encoding,
// submission accounting and readback. One Encoding per flush becomes one command buffer.
import {Program} from '../codegen/program.js';
import {buildShader} from '../codegen/shader.js';
import {flags} from '../flags.js';
import {BufferPool} from '../memory/pool.js';
import {FlushStats, stats} from '../stats.js';
import {canvasReadSync, canvasSyncReadAvailable} from './canvas_sync_read.js';
import {GpuTimer, TimedEncoding} from './gpu_timer.js';

/** Blocks the calling thread until `done()` holds (Node: pumps the event loop). */
export type SyncWaiter = (done: () => boolean) => void;

/** A buffer binding: a whole pooled buffer, or a temporary's range of an arena (src/memory/arena.ts). */
export interface Binding {
  buffer: GPUBuffer;
  /** Bytes from the buffer's start (0 for a whole buffer). */
  offset: number;
  /** Bytes bound; 0: the whole buffer. */
  size: number;
}

interface DispatchCommand {
  kind: 'dispatch';
  program: Program;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  bindings: Binding[];
  uniformOffset: number;
  uniformBytes: number;
}
interface CopyCommand {
  kind: 'copy';
  src: GPUBuffer;
  srcOffset: number;
  dst: GPUBuffer;
  dstOffset: number;
  bytes: number;
}
type Command = DispatchCommand|CopyCommand;

const UNIFORM_ALIGN = 256;
/**
 * Bind groups kept for reuse. A training step's dispatches recur with the same buffers when the
 * pool hands them out in the same order, so the cache must hold a step's worth (InceptionV3 at
 * batch 64: about 5,500 dispatches); when full, the oldest quarter goes.
 */
const MAX_CACHED_BIND_GROUPS = 32768;

interface ShaderEntry {
  text: string;
  numOutputs: number;
  numInputs: number;
  hasUniforms: boolean;
  /** The pipeline of `text` once made or found (pipelines are never dropped). */
  pipeline: PipelineEntry|null;
}
interface PipelineEntry {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}
/** A node of the bind-group trie: the bindings sharing a prefix of parts (Runtime.bindGroup). */
interface GroupTrie {
  next: Map<unknown, GroupTrie>|null;
  group: GPUBindGroup|null;
  parent: GroupTrie|null;
  /** This node's part under `parent`. */
  part: unknown;
}

function newGroupTrie(parent: GroupTrie|null, part: unknown): GroupTrie {
  return {next: null, group: null, parent, part};
}

/** The child of `node` for `part`, made if missing. */
function trieChild(node: GroupTrie, part: unknown): GroupTrie {
  let child = node.next?.get(part);
  if (child === undefined) {
    child = newGroupTrie(node, part);
    (node.next ??= new Map()).set(part, child);
  }
  return child;
}

/** Drops a node's group, and the nodes left leading to no group. */
function trieRemove(node: GroupTrie) {
  node.group = null;
  let at: GroupTrie = node;
  while (at.parent && at.group === null && (at.next === null || at.next.size === 0)) {
    at.parent.next!.delete(at.part);
    at = at.parent;
  }
}

/**
 * Shader and pipeline caches live with the device: backends come and go (tfjs resets often). One
 * pair per uniform binding mode (dynamic, fixed offsets), whose bind group layouts differ.
 */
interface DeviceCaches {shaders: Map<string, ShaderEntry>; pipelines: Map<string, PipelineEntry>}
const deviceCaches = new WeakMap<GPUDevice, [DeviceCaches|null, DeviceCaches|null]>();

export class Runtime {
  readonly pool: BufferPool;
  /** Uniform blocks of a flush, packed into one buffer from this pool. */
  readonly uniformPool: BufferPool;
  private shaderText: Map<string, ShaderEntry>;
  private pipelines: Map<string, PipelineEntry>;
  private stagingFree: GPUBuffer[] = [];
  /** Submissions made, and known completed (the in-flight cap counts against these). */
  submitted = 0;
  completed = 0;
  private inFlight: Array<{id: number; done: Promise<void>}> = [];
  private dummy: GPUBuffer;
  private gpuTimer: GpuTimer|null;
  /**
   * Bind groups by (layout, buffers, uniform buffer and block size; the block's offset is dynamic).
   * Dawn's createBindGroup costs ~30 µs a call in Node, as much as the rest of a small op: a
   * repeated step binds the same pooled buffers and reuses them. A trie over the objects and
   * numbers themselves (no key string to build and hash per dispatch); it is dropped when the pool
   * destroys buffers, and loses its oldest quarter when it holds MAX_CACHED_BIND_GROUPS.
   */
  private bindGroups = newGroupTrie(null, null);
  /** The trie's nodes holding a group, oldest first. */
  private bindGroupOrder: GroupTrie[] = [];

  /**
   * @param staticUniformOffsets Bind each dispatch's uniform block at a fixed offset instead of a
   *     dynamic one. For CPU adapters: lavapipe copies a descriptor set with dynamic offsets at every
   *     dispatch into fresh memory, mapped and unmapped (with the TLB shootdown that costs across
   *     threads): the tiny 3×7×13×5 max pool took 86–105 µs a dispatch that way and 48–56 µs with
   *     fixed offsets (tfjs-backend-webgpu, whose uniforms are fixed: 99–117 µs). GPUs keep dynamic
   *     offsets, so that a bind group serves its program wherever its block lands in a later flush.
   */
  constructor(readonly device: GPUDevice, readonly syncWaiter: SyncWaiter|null, readonly staticUniformOffsets = false) {
    this.pool = new BufferPool(device);
    this.uniformPool = new BufferPool(device, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    let modes = deviceCaches.get(device);
    if (!modes) deviceCaches.set(device, modes = [null, null]);
    const mode = staticUniformOffsets ? 1 : 0;
    const caches = modes[mode] ?? (modes[mode] = {shaders: new Map(), pipelines: new Map()});
    this.shaderText = caches.shaders;
    this.pipelines = caches.pipelines;
    this.dummy = device.createBuffer({size: 16, usage: GPUBufferUsage.STORAGE});
    this.gpuTimer = device.features.has('timestamp-query') ? new GpuTimer(device) : null;
  }

  /** A 16-byte buffer bound where a tensor has no elements (WebGPU bindings need a size > 0). */
  get emptyBuffer(): GPUBuffer {
    return this.dummy;
  }

  /** A bind group for these bindings, from the cache when it has one. */
  bindGroup(layout: GPUBindGroupLayout, bindings: Binding[], uniform: Binding|null): GPUBindGroup {
    // Parts in order: the layout; per binding its buffer, its size (0: whole) and, if ranged, its
    // offset; then the uniform buffer, block size and, at fixed offsets, the offset; or null. Each
    // part's kind follows from the ones before, so equal paths mean equal bindings.
    let node = trieChild(this.bindGroups, layout);
    for (let i = 0; i < bindings.length; ++i) {
      const b = bindings[i];
      node = trieChild(trieChild(node, b.buffer), b.size);
      if (b.size !== 0) node = trieChild(node, b.offset);
    }
    if (uniform) {
      node = trieChild(trieChild(node, uniform.buffer), uniform.size);
      if (this.staticUniformOffsets) node = trieChild(node, uniform.offset);
    } else {
      node = trieChild(node, null);
    }
    if (node.group) {
      stats.bindGroupsReused++;
      return node.group;
    }
    const entries: GPUBindGroupEntry[] = bindings.map((b, binding) => ({binding, resource: b.size === 0 ? {buffer: b.buffer} : b}));
    if (uniform) entries.push({binding: entries.length, resource: uniform});
    const group = this.device.createBindGroup({layout, entries});
    if (this.bindGroupOrder.length >= MAX_CACHED_BIND_GROUPS) {
      const dropped = this.bindGroupOrder.splice(0, MAX_CACHED_BIND_GROUPS / 4);
      for (const leaf of dropped) trieRemove(leaf);
    }
    node.group = group;
    this.bindGroupOrder.push(node);
    return group;
  }

  /** Forget cached bind groups (their buffers are being destroyed). */
  dropBindGroups() {
    this.bindGroups = newGroupTrie(null, null);
    this.bindGroupOrder = [];
  }

  /** Timestamps for a new encoding, when MPSGPU_GPU_TIMING is on and the adapter can. */
  timer(): TimedEncoding|null {
    if (!this.gpuTimer || !flags.gpuTiming) return null;
    return this.gpuTimer.begin();
  }

  get numInFlight(): number {
    return this.inFlight.length;
  }

  pipelineFor(program: Program) {
    let shader = this.shaderText.get(program.key);
    if (!shader) {
      const spec = program.shader();
      const text = buildShader(spec, program.uniforms);
      shader = {text, numOutputs: spec.outputs.length, numInputs: spec.inputs.length, hasUniforms: program.uniforms.length > 0, pipeline: null};
      this.shaderText.set(program.key, shader);
    }
    if (shader.pipeline) return shader.pipeline;
    let entry = this.pipelines.get(shader.text);
    if (!entry) {
      // Explicit layouts: a binding the shader happens not to use stays valid to bind.
      const entries: GPUBindGroupLayoutEntry[] = [];
      let binding = 0;
      for (let i = 0; i < shader.numOutputs; ++i) {
        entries.push({binding: binding++, visibility: GPUShaderStage.COMPUTE, buffer: {type: 'storage'}});
      }
      for (let i = 0; i < shader.numInputs; ++i) {
        entries.push({binding: binding++, visibility: GPUShaderStage.COMPUTE, buffer: {type: 'read-only-storage'}});
      }
      if (shader.hasUniforms) {
        // The flush's uniform blocks share one buffer, each bound at its offset (see the constructor).
        entries.push({binding: binding++, visibility: GPUShaderStage.COMPUTE, buffer: {type: 'uniform', hasDynamicOffset: !this.staticUniformOffsets}});
      }
      const layout = this.device.createBindGroupLayout({entries});
      const module = this.device.createShaderModule({code: shader.text, label: program.name});
      const pipeline = this.device.createComputePipeline({
        layout: this.device.createPipelineLayout({bindGroupLayouts: [layout]}),
        compute: {module, entryPoint: 'main'},
        label: program.name,
      });
      entry = {pipeline, layout};
      this.pipelines.set(shader.text, entry);
      stats.pipelinesCompiled++;
    }
    shader.pipeline = entry;
    return entry;
  }

  /** WGSL of a program, as the runtime would compile it (for tests and debugging). */
  shaderOf(program: Program): string {
    this.pipelineFor(program);
    return this.shaderText.get(program.key)!.text;
  }

  beginEncoding(): Encoding {
    return new Encoding(this);
  }

  /** Submit a finished encoding; returns its submission id. */
  submit(commands: GPUCommandBuffer[]): number {
    this.device.queue.submit(commands);
    const id = ++this.submitted;
    const done = this.device.queue.onSubmittedWorkDone().then(() => this.markCompleted(id));
    this.inFlight.push({id, done});
    stats.submissions++;
    return id;
  }

  markCompleted(id: number) {
    if (id > this.completed) this.completed = id;
    while (this.inFlight.length > 0 && this.inFlight[0].id <= this.completed) this.inFlight.shift();
  }

  /** Resolves once at most `n` submissions are in flight. */
  async waitInFlightBelow(n: number): Promise<void> {
    while (this.inFlight.length > n) await this.inFlight[0].done;
  }

  async waitIdle(): Promise<void> {
    const id = this.submitted;
    await this.device.queue.onSubmittedWorkDone();
    this.markCompleted(id);
  }

  private staging(bytes: number): GPUBuffer {
    const i = this.stagingFree.findIndex(b => b.size >= bytes && b.size <= bytes * 2);
    if (i >= 0) return this.stagingFree.splice(i, 1)[0];
    return this.device.createBuffer({size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST});
  }

  private releaseStaging(buffer: GPUBuffer) {
    buffer.unmap();
    if (this.stagingFree.length < 8) this.stagingFree.push(buffer);
    else buffer.destroy();
  }

  private copyToStaging(buffer: GPUBuffer, bytes: number): {staging: GPUBuffer; id: number} {
    const encoding = this.beginEncoding();
    const staging = this.stageReadback(encoding, buffer, bytes);
    return {staging, id: encoding.submit()};
  }

  /** Adds a copy of `buffer` into a staging buffer to `encoding` (readback in the same submission). */
  stageReadback(encoding: Encoding, buffer: GPUBuffer, bytes: number): GPUBuffer {
    const staging = this.staging(bytes);
    encoding.copy(buffer, 0, staging, 0, Math.ceil(bytes / 4) * 4);
    stats.readbacks++;
    return staging;
  }

  /** The bytes of a staged readback once submission `id` is done. */
  async finishReadback(staging: GPUBuffer, bytes: number, id: number): Promise<ArrayBuffer> {
    await staging.mapAsync(GPUMapMode.READ);
    this.markCompleted(id);
    const out = staging.getMappedRange(0, bytes).slice(0);
    this.releaseStaging(staging);
    return out;
  }

  /** Same, blocking with the platform's waiter (Node). */
  finishReadbackSync(staging: GPUBuffer, bytes: number, id: number): ArrayBuffer {
    let failed: unknown = null;
    staging.mapAsync(GPUMapMode.READ).catch(e => { failed = e; });
    this.syncWaiter!(() => staging.mapState === 'mapped' || failed !== null);
    if (failed) throw failed;
    this.markCompleted(id);
    const out = staging.getMappedRange(0, bytes).slice(0);
    this.releaseStaging(staging);
    return out;
  }

  async read(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const {staging, id} = this.copyToStaging(buffer, bytes);
    return this.finishReadback(staging, bytes, id);
  }

  readSync(buffer: GPUBuffer, bytes: number): ArrayBuffer {
    if (!this.syncWaiter && canvasSyncReadAvailable()) {
      // Browsers: through canvases (canvas_sync_read.ts), behind everything submitted so far.
      const out = canvasReadSync(this.device, buffer, bytes);
      stats.readbacks++;
      // The queue ran the copy after every earlier submission: their buffers can be reused.
      this.markCompleted(this.submitted);
      return out;
    }
    if (!this.syncWaiter) {
      throw new Error('mpsgpu: synchronous reads (dataSync/arraySync) need a way to wait for the GPU ' +
        'that this environment does not offer; use await tensor.data() instead.');
    }
    const {staging, id} = this.copyToStaging(buffer, bytes);
    return this.finishReadbackSync(staging, bytes, id);
  }

  dispose() {
    this.dropBindGroups();
    this.pool.dispose();
    this.uniformPool.dispose();
    for (const b of this.stagingFree) b.destroy();
    this.stagingFree = [];
    this.dummy.destroy();
    this.gpuTimer?.dispose();
  }
}

/** The commands of one flush: dispatches and copies in order, uniforms packed into one buffer. */
export class Encoding {
  private commands: Command[] = [];
  private uniforms = new ArrayBuffer(4096);
  private uniformView = new DataView(this.uniforms);
  private uniformEnd = 0;
  readonly used = new Set<GPUBuffer>();
  /** The flush this encoding computes: its GPU time is filled in when read back. */
  flushStats: FlushStats|null = null;

  constructor(private runtime: Runtime) {}

  get numCommands(): number {
    return this.commands.length;
  }

  dispatch(program: Program, outputs: Binding[], inputs: Binding[]) {
    const {pipeline, layout} = this.runtime.pipelineFor(program);
    const uniforms = program.uniforms;
    const uniformBytes = Math.ceil(uniforms.length * 4 / 16) * 16;
    // Plain loops: this runs for every dispatch of every flush.
    const bindings = outputs.concat(inputs);
    for (let i = 0; i < bindings.length; ++i) this.used.add(bindings[i].buffer);
    const repeat = program.repeat;
    let counter = -1;
    if (repeat) {
      counter = uniforms.findIndex(u => u.name === repeat.uniform);
      if (counter < 0) throw new Error(`mpsgpu internal error: ${program.name} repeats over a uniform it lacks`);
    }
    const count = repeat ? repeat.count : 1;
    for (let k = 0; k < count; ++k) {
      let uniformOffset = 0;
      if (uniformBytes > 0) {
        uniformOffset = this.uniformEnd;
        this.uniformEnd += Math.ceil(uniformBytes / UNIFORM_ALIGN) * UNIFORM_ALIGN;
        this.growUniforms(this.uniformEnd);
        const view = this.uniformView;
        for (let i = 0; i < uniforms.length; ++i) {
          const uniform = uniforms[i];
          const at = uniformOffset + 4 * i;
          if (i === counter) view.setUint32(at, k, true);
          else if (uniform.type === 'f32') view.setFloat32(at, uniform.value, true);
          else if (uniform.type === 'i32') view.setInt32(at, uniform.value, true);
          else view.setUint32(at, uniform.value >>> 0, true);
        }
      }
      this.commands.push({kind: 'dispatch', program, pipeline, layout, bindings, uniformOffset, uniformBytes});
      stats.dispatches++;
    }
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number) {
    this.used.add(src);
    this.used.add(dst);
    this.commands.push({kind: 'copy', src, srcOffset, dst, dstOffset, bytes});
  }

  private growUniforms(end: number) {
    if (end <= this.uniforms.byteLength) return;
    let size = this.uniforms.byteLength;
    while (size < end) size *= 2;
    const bigger = new ArrayBuffer(size);
    new Uint8Array(bigger).set(new Uint8Array(this.uniforms));
    this.uniforms = bigger;
    this.uniformView = new DataView(bigger);
  }

  /** Encode and submit; returns the submission id (0 when there was nothing to do). */
  submit(): number {
    if (this.commands.length === 0) return 0;
    const device = this.runtime.device;
    let uniformBuffer: GPUBuffer|null = null;
    if (this.uniformEnd > 0) {
      uniformBuffer = this.runtime.uniformPool.acquire(this.uniformEnd, false);
      device.queue.writeBuffer(uniformBuffer, 0, this.uniforms, 0, this.uniformEnd);
    }
    const encoder = device.createCommandEncoder();
    const timing = this.runtime.timer();
    const perKernel = timing !== null && flags.kernelTiming;
    let pass: GPUComputePassEncoder|null = null;
    for (const c of this.commands) {
      if (c.kind === 'copy' || perKernel) {
        if (pass) { pass.end(); pass = null; }
      }
      if (c.kind === 'copy') {
        encoder.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.bytes);
        continue;
      }
      if (!pass) pass = encoder.beginComputePass(timing ? {timestampWrites: timing.pass(perKernel ? c.program.name : null)} : undefined);
      pass.setPipeline(c.pipeline);
      if (c.uniformBytes > 0 && this.runtime.staticUniformOffsets) {
        pass.setBindGroup(0, this.runtime.bindGroup(c.layout, c.bindings, {buffer: uniformBuffer!, offset: c.uniformOffset, size: c.uniformBytes}));
      } else if (c.uniformBytes > 0) {
        pass.setBindGroup(0, this.runtime.bindGroup(c.layout, c.bindings, {buffer: uniformBuffer!, offset: 0, size: c.uniformBytes}), [c.uniformOffset]);
      } else {
        pass.setBindGroup(0, this.runtime.bindGroup(c.layout, c.bindings, null));
      }
      pass.dispatchWorkgroups(c.program.dispatch[0], c.program.dispatch[1], c.program.dispatch[2]);
    }
    if (pass) pass.end();
    timing?.finish(encoder);
    const id = this.runtime.submit([encoder.finish()]);
    timing?.submitted(this.flushStats);
    if (uniformBuffer) this.runtime.uniformPool.release(uniformBuffer);
    return id;
  }
}
