// The lazy graph. Kernels record nodes whose outputs are pending TensorData; a flush computes every
// node that something alive still needs, in recording order, as one command buffer, and drops the
// rest unrun.
import {BackendValues, DataType, TensorInfo} from '@tensorflow/tfjs-core';

import {dispatchesOf, Program} from '../codegen/program.js';
import {flags} from '../flags.js';
import {fuseConcatProducers} from '../fusion/concat_producers.js';
import {fuseElementwiseChains} from '../fusion/elementwise_chains.js';
import {fuseEpilogues} from '../fusion/epilogues.js';
import {fuseSiblingReductions} from '../fusion/sibling_reductions.js';
import {fuseSiblings} from '../fusion/siblings.js';
import {fuseSliceViews} from '../fusion/slice_views.js';
import {Binding, Encoding, Runtime} from '../runtime/runtime.js';
import {planFlushMemory, reservedBytes} from '../memory/arena.js';
import {rematerialize} from '../memory/rematerialize.js';
import {FlushStats, stats} from '../stats.js';

import {applyPlan, FlushPlan, PlanCache, planOf, segmentKey} from './plan_cache.js';

/** Bytes an element takes on the GPU (bool is stored as i32). */
export function bytesPerElement(dtype: DataType): number {
  return dtype === 'complex64' ? 8 : 4;
}

/** What the backend stores per tfjs dataId. */
export class TensorData {
  refCount = 1;
  /** False once tfjs disposed every handle: then only pending readers keep the value. */
  alive = true;
  buffer: GPUBuffer|null = null;
  /** Where the value starts in `buffer`: non-zero only for a temporary in an arena. */
  offset = 0;
  /** The buffer is an arena of the flush being encoded (src/memory/arena.ts), not the value's own. */
  inArena = false;
  /**
   * Values known on the CPU (tensors are immutable): written by the user, read back, or computed
   * on the CPU alongside a pending producer (small copies and casts of known values, see
   * MpsgpuBackend.knowValues).
   */
  values: BackendValues|null = null;
  /** The pending node computing this value, until a flush runs it. */
  producer: Node|null = null;
  /** Pending nodes that read this value. */
  pendingReaders = 0;
  /**
   * Not stored: recomputed by `program` from `inputs` where it is read (src/memory/rematerialize.ts).
   */
  virtual: Omit<Node, 'outputs'>|null = null;
  /** Read back to the CPU: stored, never virtual. */
  readBack = false;
  /** Virtual values computed from this one: while any lives, so must this value (or its recipe). */
  holds = 0;
  /** Its ref in the segment key stamped `keyEpoch` (src/graph/plan_cache.ts). */
  keyRef = 0;
  keyEpoch = 0;
  /** complex64: the real and imaginary parts, as tensors of this backend. */
  complexParts: {real: TensorInfo; imag: TensorInfo}|null = null;

  constructor(readonly shape: number[], readonly dtype: DataType, readonly size: number) {}

  get bytes(): number {
    return this.size * bytesPerElement(this.dtype);
  }

  /** The value must be in a buffer after its flush: tfjs or a virtual value holds it, and it is real. */
  get kept(): boolean {
    return this.virtual === null && (this.alive || this.holds > 0);
  }
}

export interface Node {
  program: Program;
  inputs: TensorData[];
  outputs: TensorData[];
  /** A fused group (src/fusion): how many recorded nodes it computes, and their kernels. */
  fusedFrom?: number;
  fusedNames?: string[];
}

/** Arena offsets and sizes are multiples of this (WebGPU's usual minStorageBufferOffsetAlignment). */
const ARENA_ALIGN = 256;
/** Arenas larger than this are split (a huge buffer is hard to place and to reuse). */
const MAX_ARENA_BYTES = 2 ** 31;

export class Graph {
  private pending: Node[] = [];
  private plans = new PlanCache();

  /** The values of tfjs variables (stored, never virtual); set by the backend. */
  variables: () => Set<TensorData> = () => new Set();

  constructor(private runtime: Runtime) {}

  /** Bytes the pending nodes read and write (each use counted): a rough measure of their GPU time. */
  pendingBytes = 0;

  get numPending(): number {
    return this.pending.length;
  }

  /** Pending elementwise nodes: what a flush now might keep from fusing with later nodes. */
  pendingElementwise = 0;

  record(node: Node): void {
    for (const input of node.inputs) {
      input.pendingReaders++;
      this.pendingBytes += input.bytes;
    }
    for (const output of node.outputs) {
      output.producer = node;
      this.pendingBytes += output.bytes;
    }
    this.pending.push(node);
    if (node.program.elementwise) this.pendingElementwise++;
    stats.nodesRecorded++;
  }

  /**
   * Compute what is still needed; returns the submission id (0: nothing was submitted).
   * `beforeSubmit` may add commands (a readback copy) to the same command buffer.
   */
  flush(upload: (data: TensorData) => void, beforeSubmit?: (encoding: Encoding) => void, virtualize = true): number {
    const recorded = this.pending;
    if (recorded.length === 0) return 0;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingElementwise = 0;
    let nodes = recorded;
    const record: FlushStats = {nodes: recorded.length, dispatches: 0, skipped: 0, fusedGroups: 0, nodesFused: 0, virtualized: 0,
                                recomputed: 0, arenaValues: 0, arenaBytes: 0, arenaValueBytes: 0, planReused: false, poolBytes: 0,
                                gpuMs: null};
    // Always, even when no new value may become virtual: a node may read one an earlier flush made.
    const remat = rematerialize(nodes, flags.eager ? new Set() : this.variables(), virtualize && flags.rematerialize && !flags.eager, this.fusionLimits);
    nodes = remat.nodes;
    record.virtualized = remat.virtualized;
    record.recomputed = remat.recomputed;
    stats.virtualized += remat.virtualized;
    stats.virtualBytes += remat.virtualBytes;
    stats.recomputed += remat.recomputed;
    // A segment seen before (a repeated training step) takes its plan; a new one is planned and
    // its plan kept.
    const key = flags.planCache ? segmentKey(nodes, this.planContext) : null;
    let plan = key ? this.plans.get(key.key) : undefined;
    let needed: boolean[];
    if (plan && key) {
      nodes = applyPlan(plan, nodes, key);
      needed = plan.needed;
      stats.planCacheHits++;
      record.planReused = true;
      record.fusedGroups = plan.groups;
      record.nodesFused = plan.absorbed;
    } else {
      const segment = nodes;
      needed = neededNodes(nodes);
      let groups = 0, absorbed = 0;
      if (flags.fusion) {
        const fused = fuseElementwiseChains(nodes, needed, this.fusionLimits);
        const views = fuseSliceViews(fused.nodes, fused.needed, this.fusionLimits);
        const concats = fuseConcatProducers(views.nodes, views.needed, this.fusionLimits);
        const epilogues = fuseEpilogues(concats.nodes, concats.needed, this.fusionLimits);
        const siblings = fuseSiblings(epilogues.nodes, epilogues.needed, this.fusionLimits);
        const reductions = fuseSiblingReductions(siblings.nodes, siblings.needed, this.fusionLimits);
        nodes = reductions.nodes;
        needed = reductions.needed;
        groups = nodes.filter(n => (n.fusedFrom ?? 1) > 1).length;
        absorbed = fused.absorbed + views.absorbed + concats.absorbed + epilogues.absorbed + siblings.joined + reductions.joined;
      }
      if (key) {
        plan = planOf(segment, key, nodes, needed, groups, absorbed);
        this.plans.set(key.key, plan);
        stats.planCacheMisses++;
      }
      record.fusedGroups = groups;
      record.nodesFused = absorbed;
    }
    stats.fusedGroups += record.fusedGroups;
    stats.nodesFused += record.nodesFused;
    // Uploads first: queue.writeBuffer runs before the command buffer, so they use buffers that no
    // dispatch of this flush recycles.
    for (let i = 0; i < nodes.length; ++i) {
      if (!needed[i]) continue;
      for (const input of nodes[i].inputs) {
        if (input.buffer === null && input.producer === null && input.size > 0) upload(input);
      }
    }
    const pool = this.runtime.pool;
    const arenas = flags.arena ? this.placeTemporaries(nodes, needed, record, plan) : [];
    const encoding = this.runtime.beginEncoding();
    encoding.flushStats = record;
    for (let i = 0; i < nodes.length; ++i) {
      const node = nodes[i];
      if (needed[i]) {
        this.encode(node, encoding);
        record.dispatches += dispatchesOf(node.program);
      } else {
        stats.nodesSkipped++;
        record.skipped++;
      }
      for (const output of node.outputs) {
        output.producer = null;
        this.settle(output, encoding);
      }
      for (const input of node.inputs) {
        input.pendingReaders--;
        this.settle(input, encoding);
      }
    }
    // Values fusion absorbed (their readers now read what they were computed from) are in no node
    // of the fused segment: a dead virtual one among them lets go of its inputs here.
    for (const node of remat.nodes) for (const d of node.inputs) this.settle(d, encoding);
    if (beforeSubmit) beforeSubmit(encoding);
    const id = encoding.submit();
    for (const arena of arenas) pool.release(arena);
    if (id > 0) {
      stats.flushes++;
      record.poolBytes = pool.allocatedBytes;
      stats.lastFlush = record;
    }
    pool.endEncoder();
    return id;
  }

  /**
   * Give the flush's temporaries their places in arenas (src/memory/arena.ts), or the places a
   * reused plan gave them; returns the arena buffers, which go back to the pool once the flush is
   * submitted.
   */
  private placeTemporaries(nodes: Node[], needed: boolean[], record: FlushStats, plan: FlushPlan|undefined): GPUBuffer[] {
    let placement = plan?.arena;
    if (!placement) {
      const limits = this.runtime.device.limits;
      const align = this.arenaAlign;
      // The pool rounds a buffer up by at most a quarter: the arena must still fit the device.
      const maxArena = Math.floor(Math.min(limits.maxBufferSize * 0.75, MAX_ARENA_BYTES) / align) * align;
      const memory = planFlushMemory(nodes, needed, align, maxArena);
      placement = {
        bytes: memory.arenaBytes,
        values: memory.values.flatMap(({node, output}, k) => {
          const {arena, offset} = memory.placements[k];
          return arena < 0 ? [] : [{node, output, arena, offset}];
        }),
        valueBytes: memory.valueBytes,
      };
      if (plan) plan.arena = placement;
    }
    const buffers = placement.bytes.map(bytes => this.runtime.pool.acquireArena(bytes));
    for (const {node, output, arena, offset} of placement.values) {
      const d = nodes[node].outputs[output];
      d.buffer = buffers[arena];
      d.offset = offset;
      d.inArena = true;
    }
    record.arenaValues = placement.values.length;
    record.arenaBytes = placement.bytes.reduce((a, b) => a + b, 0);
    record.arenaValueBytes = placement.valueBytes;
    stats.arenaValues += record.arenaValues;
    stats.peakArenaBytes = Math.max(stats.peakArenaBytes, record.arenaBytes);
    return buffers;
  }

  private get arenaAlign(): number {
    return Math.max(ARENA_ALIGN, this.runtime.device.limits.minStorageBufferOffsetAlignment);
  }

  /** What a plan depends on besides the segment: the flags and limits that shape fusion. */
  private get planContext(): string {
    return `${flags.fusion}|${this.fusionLimits.maxBuffers}`;
  }

  private get fusionLimits() {
    return {maxBuffers: this.runtime.device.limits.maxStorageBuffersPerShaderStage};
  }

  private encode(node: Node, encoding: Encoding) {
    const pool = this.runtime.pool;
    const outputs = node.outputs.map(o => {
      if (o.size === 0) return this.whole(this.runtime.emptyBuffer);
      if (o.buffer === null) o.buffer = pool.acquire(o.bytes, true);
      return this.binding(o);
    });
    const inputs = node.inputs.map(d => (d.buffer ? this.binding(d) : this.whole(this.runtime.emptyBuffer)));
    const parts = node.program.parts;
    if (!parts) {
      encoding.dispatch(node.program, outputs, inputs);
      return;
    }
    for (const part of parts) encoding.dispatch(part.program, outputs, part.inputs.map(k => inputs[k]));
  }

  private binding(d: TensorData): Binding {
    if (d.inArena) return {buffer: d.buffer!, offset: d.offset, size: reservedBytes(d.bytes, ARENA_ALIGN)};
    // A pooled buffer is bound whole (bind groups then serve any tensor it holds), unless its size
    // class exceeds what one binding may span while the tensor does not (the backend refuses those).
    if (d.buffer!.size > this.runtime.device.limits.maxStorageBufferBindingSize) {
      return {buffer: d.buffer!, offset: 0, size: reservedBytes(d.bytes, 16)};
    }
    return this.whole(d.buffer!);
  }

  private whole(buffer: GPUBuffer): Binding {
    return {buffer, offset: 0, size: 0};
  }

  /**
   * A value no pending node reads or writes: its buffer goes back unless it is kept (for reuse later
   * in the flush being encoded, if any), and a dead virtual value that nothing holds lets go of
   * its inputs.
   */
  settle(data: TensorData, encoding: Encoding|null) {
    if (data.pendingReaders > 0 || data.producer !== null) return;
    if (data.buffer !== null && !data.kept) {
      if (data.inArena) {
        // The arena goes back whole after the submission.
        data.inArena = false;
        data.offset = 0;
      } else if (encoding && encoding.used.has(data.buffer)) {
        this.runtime.pool.releaseInEncoder(data.buffer);
      } else {
        this.runtime.pool.release(data.buffer);
      }
      data.buffer = null;
    }
    if (data.virtual !== null && !data.alive && data.holds === 0) {
      const inputs = data.virtual.inputs;
      data.virtual = null;
      for (const x of inputs) {
        x.holds--;
        this.settle(x, encoding);
      }
    }
  }

  /** Make a virtual value real (it is about to be read back): record its computation. */
  realize(data: TensorData) {
    const v = data.virtual;
    if (v === null) return;
    data.virtual = null;
    const node: Node = {...v, outputs: [data]};
    this.record(node);
    // A pending node recorded while the value was virtual may read it: compute it before the first.
    const first = this.pending.findIndex(n => n !== node && n.inputs.includes(data));
    if (first >= 0) {
      this.pending.pop();
      this.pending.splice(first, 0, node);
    }
    // The pending node now keeps the inputs.
    for (const x of v.inputs) x.holds--;
  }
}

/** Backwards: a node is needed if an output is kept or read by a needed node. */
function neededNodes(nodes: Node[]): boolean[] {
  const needed = new Array<boolean>(nodes.length).fill(false);
  const neededData = new Set<TensorData>();
  for (let i = nodes.length - 1; i >= 0; --i) {
    const node = nodes[i];
    if (node.outputs.some(o => o.kept || neededData.has(o))) {
      needed[i] = true;
      for (const input of node.inputs) neededData.add(input);
    }
  }
  return needed;
}
