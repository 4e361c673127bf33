// Virtual values: an elementwise result that tfjs holds is not stored; it is recomputed where it is
// read. tfjs keeps the tensors a gradient needs alive until the backward pass (per conv, batch
// norm and relu: the conv output, its deviations from the mean, the normalized values, the relu
// output, each as large as the conv output), and the temporaries of scopes still open when a flush
// cuts a segment. Most of these are elementwise functions of tensors that are held anyway (the conv
// output, per-channel statistics, weights): keeping the function instead of the values costs no
// memory, and an elementwise reader absorbs the recomputation (src/fusion), so it often costs no
// dispatch either. A non-elementwise reader (a convolution) gets the values computed into a
// temporary of its flush (an arena).
//
// A virtual value holds its inputs (TensorData.holds), which keep their buffers while it lives.
// Limits, so that holding never costs more than storing would:
//  - its inputs must be held by tfjs when it is created, virtual values of the same flush, or small
//    (at most 1/16 of its size); a larger temporary of the same flush that is elementwise is
//    recomputed inside its recipe instead (a gradient's step(x) in relu'(x)·dy);
//  - a value computed from a virtual of an earlier flush is stored, so chains of virtual values
//    never grow across steps;
//  - variables' values are stored (an optimizer's new moments would otherwise chain every step).
import {FusionLimits, inlineProducer} from '../fusion/elementwise_chains.js';
import type {Node, TensorData} from '../graph/graph.js';

/** Operations a recipe may have: the recomputation stays cheap next to storing and reading. */
const RECIPE_OPS = 64;
/** A temporary a virtual value may hold (keep stored) instead of recomputing: 1/16 of its size. */
const SMALL_FRACTION = 16;

/** What becomes of a flush's nodes: recomputations inserted, new virtual values chosen. */
export interface RematerializeResult {
  nodes: Node[];
  /** Recomputations of virtual values of earlier flushes added to the segment. */
  recomputed: number;
  /** Values this flush made virtual. */
  virtualized: number;
  /** Their bytes (never stored). */
  virtualBytes: number;
}

/**
 * Nodes that recompute the virtual values `nodes` read, each inserted before its first reader
 * (inputs of those that are virtual too, before them), then virtual values chosen among the
 * recorded elementwise nodes. `isVariable`: the value is a variable's.
 */
export function rematerialize(nodes: Node[], isVariable: (d: TensorData) => boolean, limits: FusionLimits): RematerializeResult {
  const out: Node[] = [];
  const recomputes = new Set<Node>();
  const insert = (d: TensorData) => {
    if (d.virtual === null || d.producer !== null) return;
    const node: Node = {program: d.virtual.program, inputs: d.virtual.inputs, outputs: [d]};
    d.producer = node;
    for (const x of node.inputs) {
      insert(x);
      x.pendingReaders++;
    }
    recomputes.add(node);
    out.push(node);
  };
  for (const node of nodes) {
    for (const d of node.inputs) insert(d);
    out.push(node);
  }
  let virtualized = 0, virtualBytes = 0;
  const madeHere = new Set<TensorData>();
  for (const node of out) {
    const program = node.program;
    if (recomputes.has(node) || !program.elementwise || program.elementwise.extraOutputs.length > 0 || node.outputs.length !== 1) continue;
    const d = node.outputs[0];
    if (!d.alive || d.virtual !== null || d.readBack || d.dtype === 'complex64' || isVariable(d)) continue;
    const holdable = (x: TensorData) => (x.virtual === null ? x.alive || x.holds > 0 || x.bytes * SMALL_FRACTION <= d.bytes : madeHere.has(x));
    // The recipe: the node, with the producers of temporaries it cannot hold substituted in.
    let recipe: Node|null = node;
    for (;;) {
      const slot: number = recipe.inputs.findIndex(x => !holdable(x));
      if (slot < 0) break;
      // A virtual value of an earlier flush is recomputed, never substituted (chains stay short).
      recipe = recipe.inputs[slot].virtual === null ? inlineProducer(recipe, slot, limits, RECIPE_OPS) : null;
      if (!recipe) break;
    }
    if (!recipe) continue;
    d.virtual = {program: recipe.program, inputs: recipe.inputs};
    for (const x of recipe.inputs) x.holds++;
    madeHere.add(d);
    virtualized++;
    virtualBytes += d.bytes;
  }
  return {nodes: out, recomputed: recomputes.size, virtualized, virtualBytes};
}
