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
//  - a virtual value of an earlier flush that it reads is substituted into its recipe (the
//    backward pass reads the forward's virtual values), and recipes have at most RECIPE_OPS
//    operations: beyond that the value is stored, so chains stay short;
//  - variables' values are stored (read every step, they would be recomputed every step).
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
 * The segment with what virtual values need: variables' values that are virtual stored first (a
 * value tfjs assigned to a variable after the flush that made it virtual: read every step, its
 * recipe would otherwise hold the previous step's tensors), nodes recomputing the virtual values
 * `nodes` read inserted before their first readers (inputs of those that are virtual too, before
 * them); then, if `virtualize`, new virtual values chosen among the recorded elementwise nodes.
 */
export function rematerialize(nodes: Node[], variables: Set<TensorData>, virtualize: boolean, limits: FusionLimits): RematerializeResult {
  const out: Node[] = [];
  const recomputes = new Set<Node>();
  const insert = (d: TensorData, recompute: boolean) => {
    if (d.virtual === null || d.producer !== null) return;
    const node: Node = {...d.virtual, outputs: [d]};
    d.producer = node;
    for (const x of node.inputs) {
      insert(x, true);
      x.pendingReaders++;
    }
    if (recompute) {
      recomputes.add(node);
    } else {
      // Stored from now on: the pending node keeps its inputs instead.
      d.virtual = null;
      for (const x of node.inputs) x.holds--;
    }
    out.push(node);
  };
  for (const v of variables) insert(v, false);
  for (const node of nodes) {
    for (const d of node.inputs) insert(d, true);
    out.push(node);
  }
  const result = {nodes: out, recomputed: recomputes.size, virtualized: 0, virtualBytes: 0};
  if (!virtualize) return result;
  const madeHere = new Set<TensorData>();
  for (const node of out) {
    const program = node.program;
    if (recomputes.has(node) || !program.elementwise || program.elementwise.extraOutputs.length > 0 || node.outputs.length !== 1) continue;
    const d = node.outputs[0];
    if (!d.alive || d.virtual !== null || d.readBack || d.dtype === 'complex64' || variables.has(d)) continue;
    const holdable = (x: TensorData) => (x.virtual === null ? x.alive || x.holds > 0 || x.bytes * SMALL_FRACTION <= d.bytes : madeHere.has(x));
    // The recipe: the node, with the producers of temporaries it cannot hold substituted in.
    let recipe: Node|null = node;
    for (;;) {
      const slot: number = recipe.inputs.findIndex(x => !holdable(x));
      if (slot < 0) break;
      recipe = inlineProducer(recipe, slot, limits, RECIPE_OPS);
      if (!recipe) break;
    }
    if (!recipe) continue;
    // fusedFrom keeps uniform names apart when a later recipe substitutes this one.
    d.virtual = {program: recipe.program, inputs: recipe.inputs, fusedFrom: recipe.fusedFrom, fusedNames: recipe.fusedNames};
    for (const x of recipe.inputs) x.holds++;
    madeHere.add(d);
    result.virtualized++;
    result.virtualBytes += d.bytes;
  }
  return result;
}
