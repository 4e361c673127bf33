// Memory aliasing within a flush. A value whose whole life lies inside one flush (computed there,
// dead by its end: the temporaries of a layer, of a gradient, of an optimizer update) needs memory
// only from its producer to its last reader. Such values share arenas: each gets an offset, and two
// values live at the same time never overlap. Live-outs (values tfjs still holds after the flush)
// keep buffers of their own, from the pool.
//
// Placement is greedy by decreasing size (as TFLite's arena planner): each value goes into the
// smallest gap between values already placed whose lives overlap its own, or on top of them. The
// biggest values shape the arena; smaller ones fill the gaps their lifetimes leave.
import type {Node, TensorData} from '../graph/graph.js';

/** A value to place: its size and the steps (dispatch positions) of its first write and last read. */
export interface LiveValue {
  bytes: number;
  first: number;
  last: number;
}

/** Where a value lives: arena index and byte offset; arena -1: too large for an arena. */
export interface Placement {
  arena: number;
  offset: number;
}

export interface ArenaPlan {
  placements: Placement[];
  /** Bytes each arena needs. */
  arenaBytes: number[];
}

interface Placed {
  offset: number;
  end: number;
  first: number;
  last: number;
}

/**
 * Offsets for `values` in as few arenas of at most `maxArenaBytes` as the greedy packing finds;
 * every offset and reserved size is a multiple of `align`.
 */
export function planArenas(values: LiveValue[], align: number, maxArenaBytes: number): ArenaPlan {
  const placements: Placement[] = values.map(() => ({arena: -1, offset: 0}));
  const order = values.map((_, i) => i).sort((a, b) => values[b].bytes - values[a].bytes || values[a].first - values[b].first);
  const arenas: Placed[][] = [];
  for (const i of order) {
    const v = values[i];
    const size = reservedBytes(v.bytes, align);
    if (size > maxArenaBytes) continue;
    let arena = 0;
    let offset = -1;
    for (; arena < arenas.length; ++arena) {
      offset = bestFit(arenas[arena], v, size, maxArenaBytes);
      if (offset >= 0) break;
    }
    if (arena === arenas.length) {
      arenas.push([]);
      offset = 0;
    }
    arenas[arena].push({offset, end: offset + size, first: v.first, last: v.last});
    placements[i] = {arena, offset};
  }
  return {placements, arenaBytes: arenas.map(placed => placed.reduce((m, p) => Math.max(m, p.end), 0))};
}

/** Bytes reserved for a value: whole alignment units, so the next offset stays aligned. */
export function reservedBytes(bytes: number, align: number): number {
  return Math.ceil(Math.max(bytes, 1) / align) * align;
}

/** The offset of the smallest gap fitting `size` among values live with `v`; -1: none below `max`. */
function bestFit(placed: Placed[], v: LiveValue, size: number, max: number): number {
  const conflicts = placed.filter(p => p.first <= v.last && v.first <= p.last).sort((a, b) => a.offset - b.offset);
  let best = -1, bestGap = Infinity, cursor = 0;
  for (const c of conflicts) {
    const gap = c.offset - cursor;
    if (gap >= size && gap < bestGap) {
      best = cursor;
      bestGap = gap;
    }
    cursor = Math.max(cursor, c.end);
  }
  if (best < 0 && cursor + size <= max) best = cursor;
  return best;
}

/** A flush's temporaries and where each lives. */
export interface FlushMemoryPlan {
  /** Per temporary: the dispatch (index into the flush's nodes) and output slot that writes it. */
  values: Array<{node: number; output: number}>;
  /** Per temporary: its arena (an index into arenaBytes; -1: a buffer of its own) and offset. */
  placements: Placement[];
  arenaBytes: number[];
  /** Bytes of the temporaries themselves (what separate buffers would have taken). */
  valueBytes: number;
}

/**
 * The temporaries of a flush, `nodes` in dispatch order (`needed[i]`: node i runs): outputs that no
 * one holds and that only dispatches of this flush read, each live from its producer to its last
 * reader.
 *
 * WebGPU validates usage per buffer, not per range: one dispatch may not bind a buffer both
 * read-only (an input) and writable (an output). So a temporary never shares an arena with the
 * temporaries its producer reads: each gets the lowest arena "colour" its producer's inputs leave
 * free (chains alternate between two), and each colour is packed on its own.
 */
export function planFlushMemory(nodes: Node[], needed: boolean[], align: number, maxArenaBytes: number): FlushMemoryPlan {
  const lastRead = new Map<TensorData, number>();
  for (let i = 0; i < nodes.length; ++i) {
    if (!needed[i]) continue;
    for (const d of nodes[i].inputs) lastRead.set(d, i);
  }
  const values: FlushMemoryPlan['values'] = [];
  const colourOf = new Map<TensorData, number>();
  const byColour: Array<{index: number[]; live: LiveValue[]}> = [];
  let valueBytes = 0;
  for (let i = 0; i < nodes.length; ++i) {
    if (!needed[i]) continue;
    const node = nodes[i];
    let colour = -1;
    node.outputs.forEach((d, output) => {
      if (d.kept || d.buffer !== null || d.size === 0) return;
      if (colour < 0) {
        colour = 0;
        const taken = new Set(node.inputs.map(x => colourOf.get(x) ?? -1));
        while (taken.has(colour)) colour++;
      }
      colourOf.set(d, colour);
      byColour[colour] ??= {index: [], live: []};
      byColour[colour].index.push(values.length);
      byColour[colour].live.push({bytes: d.bytes, first: i, last: Math.max(i, lastRead.get(d) ?? i)});
      values.push({node: i, output});
      valueBytes += d.bytes;
    });
  }
  const placements: Placement[] = values.map(() => ({arena: -1, offset: 0}));
  const arenaBytes: number[] = [];
  for (const group of byColour) {
    const plan = planArenas(group.live, align, maxArenaBytes);
    const base = arenaBytes.length;
    arenaBytes.push(...plan.arenaBytes);
    plan.placements.forEach((p, k) => {
      if (p.arena >= 0) placements[group.index[k]] = {arena: base + p.arena, offset: p.offset};
    });
  }
  return {values, placements, arenaBytes, valueBytes};
}
