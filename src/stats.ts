// Counters behind mpsgpu.stats(): cumulative since load (or the last resetStats()).

/** One flush of the pending graph. */
export interface FlushStats {
  /** Nodes the segment held. */
  nodes: number;
  /** Compute dispatches encoded (nodes whose outputs something still needed). */
  dispatches: number;
  /** Nodes dropped unrun: their outputs died before the flush. */
  skipped: number;
  /** Dispatches that are fused groups of several recorded nodes (src/fusion). */
  fusedGroups: number;
  /** Recorded nodes folded into a fused group's dispatch (each a dispatch saved). */
  nodesFused: number;
  /** Values made virtual (src/memory/rematerialize.ts): held by tfjs, not stored. */
  virtualized: number;
  /** Dispatches added to recompute virtual values of earlier flushes (before fusion). */
  recomputed: number;
  /** Temporaries placed in arenas (src/memory/arena.ts): computed and dead within the flush. */
  arenaValues: number;
  /** Bytes of the arenas the flush used. */
  arenaBytes: number;
  /** Bytes of its temporaries: what they would take in buffers of their own. */
  arenaValueBytes: number;
  /** The segment's plan came from the plan cache (src/graph/plan_cache.ts). */
  planReused: boolean;
  /** GPU buffer bytes the pool had allocated after the flush (live and free). */
  poolBytes: number;
  /** GPU milliseconds of its passes (MPSGPU_GPU_TIMING); null until read back, or untimed. */
  gpuMs: number|null;
}

export interface Stats {
  /** Nodes recorded into the lazy graph (one per GPU kernel call). */
  nodesRecorded: number;
  /** Recorded nodes never computed because their outputs died before a flush. */
  nodesSkipped: number;
  /** Compute dispatches encoded. */
  dispatches: number;
  /** Dispatches that were fused groups (src/fusion). */
  fusedGroups: number;
  /** Recorded nodes folded into fused groups (dispatches saved by fusion). */
  nodesFused: number;
  /** Flushes of the pending graph that had work. */
  flushes: number;
  /** queue.submit calls (flushes plus readback copies). */
  submissions: number;
  /** Tensors uploaded from the CPU. */
  uploads: number;
  /** Buffers read back to the CPU. */
  readbacks: number;
  /** Pipelines created (each distinct shader once). */
  pipelinesCompiled: number;
  /** GPU buffers the pool created. */
  buffersCreated: number;
  /** Free GPU buffers the pool destroyed (trimmed: MPSGPU_POOL_FREE_BYTES). */
  buffersDestroyed: number;
  /** Dispatches that reused a cached bind group (same layout, buffers and uniform range). */
  bindGroupsReused: number;
  /**
   * GPU milliseconds of the compute passes timed so far (MPSGPU_GPU_TIMING, where the adapter has
   * timestamp-query; read back once each submission is done, so it trails the latest flushes).
   */
  gpuMs: number;
  /** Passes past a flush's timestamp capacity, left untimed. */
  untimedPasses: number;
  /** Values made virtual: held by tfjs, recomputed where read instead of stored. */
  virtualized: number;
  /** Their bytes. */
  virtualBytes: number;
  /** Recomputations of virtual values added to flushes (before fusion). */
  recomputed: number;
  /** Temporaries placed in arenas. */
  arenaValues: number;
  /** Flushes whose fused schedule and arena placement came from the plan cache. */
  planCacheHits: number;
  /** Flushes planned anew (with MPSGPU_PLAN_CACHE: segments not seen before). */
  planCacheMisses: number;
  /** The largest arena bytes one flush used since the last reset. */
  peakArenaBytes: number;
  /** The latest flush (null before the first). */
  lastFlush: FlushStats|null;
  /** Most GPU buffer bytes allocated at once (live and free, in the pool) since the last reset. */
  peakAllocatedBytes: number;
  /** Most GPU buffer bytes held by tensors and pending work at once since the last reset. */
  peakLiveBytes: number;
}

function zero(): Stats {
  return {nodesRecorded: 0, nodesSkipped: 0, dispatches: 0, fusedGroups: 0, nodesFused: 0, flushes: 0, submissions: 0, uploads: 0,
          readbacks: 0, pipelinesCompiled: 0, buffersCreated: 0, buffersDestroyed: 0, bindGroupsReused: 0, gpuMs: 0, untimedPasses: 0,
          virtualized: 0, virtualBytes: 0, recomputed: 0, arenaValues: 0, planCacheHits: 0, planCacheMisses: 0, peakArenaBytes: 0, lastFlush: null,
          peakAllocatedBytes: 0, peakLiveBytes: 0};
}

export const stats: Stats = zero();

export function resetStats(): void {
  Object.assign(stats, zero());
}

export function snapshotStats(): Stats {
  return {...stats, lastFlush: stats.lastFlush && {...stats.lastFlush}};
}

/** Starts the memory peaks at the given current values (after a reset). */
export function setPeaks(allocatedBytes: number, liveBytes: number): void {
  stats.peakAllocatedBytes = allocatedBytes;
  stats.peakLiveBytes = liveBytes;
}
