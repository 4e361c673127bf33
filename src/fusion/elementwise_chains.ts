// Fusion pass: chains of elementwise nodes collapse into one kernel. An elementwise node whose
// output only one later elementwise node of the same output shape reads (in this segment) is
// substituted into that reader's expression: one dispatch instead of two. If tfjs disposed the
// intermediate, it never touches memory; if tfjs still holds it (a value saved for the gradient,
// or a temporary of a scope still open), the fused kernel also stores it, as a second output.
// Applied front to back, each consumer absorbs its producers' already-fused chains, so a whole
// tree (relu'(x)·dy, an optimizer's update, a loss) becomes one kernel as far as the adapter's
// storage-buffer limit allows. A chain whose one reader is a reduction's pass over its input ends
// inside that pass (Program.reduction): the reduction computes the values where it reads them.
//
// Values: the same f32 operations as unfused; inside one kernel a compiler may contract a·b + c
// into an fma, so a result can differ from the unfused one in its last bits (specs allow 1e-6).
import {elementwiseProgram, ElementwiseInput, Expr, prologueReadable} from '../codegen/elementwise.js';
import {ElementwiseDesc, Program} from '../codegen/program.js';
import {Uniform} from '../codegen/shader.js';
import type {Node, TensorData} from '../graph/graph.js';

import {namesOf} from './rewrite.js';

/** Expressions larger than this (operations) stay separate: one shader's size and compile time. */
export const MAX_OPS = 256;

export interface FusionLimits {
  /** Buffers one fused kernel may bind, inputs and outputs (the adapter's storage buffers per stage). */
  maxBuffers: number;
}

/** The segment after the pass, and what it did. */
export interface FusionResult {
  nodes: Node[];
  needed: boolean[];
  /** Nodes of the result that are fused groups. */
  groups: number;
  /** Recorded nodes folded into another (each saved one dispatch). */
  absorbed: number;
}

/**
 * Fuse the segment's elementwise chains (and their ends into reductions). `needed[i]`: node i
 * will run (its outputs are wanted).
 * Keeps the graph's bookkeeping consistent: pending-reader counts move from the absorbed nodes to
 * the fused one, and absorbed intermediates lose their producer (they are never computed).
 */
export function fuseElementwiseChains(nodes: Node[], needed: boolean[], limits: FusionLimits): FusionResult {
  const absorbedNodes = new Set<Node>();
  const result: Node[] = [];
  const resultNeeded: boolean[] = [];
  let absorbed = 0;
  for (let i = 0; i < nodes.length; ++i) {
    let node = nodes[i];
    if (needed[i] && node.program.elementwise) {
      for (;;) {
        const fused = absorbOneProducer(node, limits);
        if (!fused) break;
        absorbedNodes.add(fused.producer);
        node = fused.node;
        absorbed++;
      }
    } else if (needed[i] && node.program.reduction) {
      const fused = absorbIntoReduction(node, limits);
      if (fused) {
        absorbedNodes.add(fused.producer);
        node = fused.node;
        absorbed++;
      }
    }
    result.push(node);
    resultNeeded.push(needed[i]);
  }
  const keep = result.map(n => !absorbedNodes.has(n));
  const nodesOut = result.filter((_, i) => keep[i]);
  return {
    nodes: nodesOut,
    needed: resultNeeded.filter((_, i) => keep[i]),
    groups: nodesOut.filter(n => (n.fusedFrom ?? 1) > 1).length,
    absorbed,
  };
}

/**
 * A reduction reading the output of an elementwise node (its chain already fused) that nothing
 * else reads or holds: the reduction computes the values where it reads them, and the
 * intermediate (often as large as the reduction's whole input) is never stored.
 */
function absorbIntoReduction(consumer: Node, limits: FusionLimits): {node: Node; producer: Node}|null {
  const hook = consumer.program.reduction!;
  const data = consumer.inputs[0];
  const producer = data.producer;
  if (consumer.inputs.length !== 1 || !producer || !producer.program.elementwise) return null;
  const p = producer.program.elementwise;
  if (data.kept || data.pendingReaders !== 1 || producer.outputs.length !== 1 || producer.outputs[0] !== data) return null;
  if (p.outType !== hook.inType || p.expr.type !== p.outType || !sameShape(p.outShape, data.shape)) return null;
  if (p.inputs.length + consumer.outputs.length > limits.maxBuffers || countOps(p) > MAX_OPS) return null;
  // The reduction's own uniforms (outSize, count, …) and the expression's are kept apart.
  const expr = rebuild(p.expr, j => ({kind: 'input', index: j, type: p.inputs[j].type}), name => `pro_${name}`);
  const prologue = {expr, inputs: p.inputs, shape: p.outShape, uniforms: p.uniforms.map(u => ({...u, name: `pro_${u.name}`}))};
  if (!prologueReadable(prologue, hook.vec)) return null;
  const node = groupNode(producer, consumer, name => ({...hook.withPrologue(prologue), name}), producer.inputs, consumer.outputs);
  // The producer's inputs are now the reduction's (the same entries): only the intermediate's
  // reader goes.
  data.pendingReaders--;
  data.producer = null;
  return {node, producer};
}

/** The node computing `producer` and `consumer` together (its program built under the group's name). */
function grouped(producer: Node, consumer: Node, program: (name: string) => Program, inputs: TensorData[], outputs: TensorData[]): Node {
  const names = [...namesOf(producer), ...namesOf(consumer)];
  return {
    program: program(groupName(names)),
    inputs,
    outputs,
    fusedFrom: (producer.fusedFrom ?? 1) + (consumer.fusedFrom ?? 1),
    fusedNames: names,
  };
}

/** The same, made the producer of its outputs. */
function groupNode(producer: Node, consumer: Node, program: (name: string) => Program, inputs: TensorData[], outputs: TensorData[]): Node {
  const node = grouped(producer, consumer, program, inputs, outputs);
  for (const o of outputs) o.producer = node;
  return node;
}

/**
 * `consumer` with `producer`'s expression substituted for its reads of the producer's output, if
 * the result stays within the buffer limit and `maxOps`. Changes nothing in the graph.
 */
function mergedNode(consumer: Node, producer: Node, limits: FusionLimits, maxOps: number): Node|null {
  const merged = merge(consumer, producer);
  const d = merged.desc;
  if (d.inputs.length + merged.outputs.length > limits.maxBuffers || countOps(d) > maxOps) return null;
  return grouped(producer, consumer, name => elementwiseProgram(name, d.expr, d.inputs, d.outShape, d.outType, d.uniforms, d.extraOutputs),
                 merged.inputs, merged.outputs);
}

/** Whether `data`'s producer can merge into `consumer`, its one pending reader: returns the producer. */
function absorbableProducer(consumer: Node, desc: ElementwiseDesc, slot: number): Node|null {
  const data = consumer.inputs[slot];
  // Every pending read of it is this consumer's (mul(x, x) reads it twice).
  const reads = consumer.inputs.filter(d => d === data).length;
  if (data.pendingReaders !== reads) return null;
  return mergeableProducer(consumer, desc, slot);
}

/** The producer of `consumer`'s input `slot`, if its expression can be substituted for the reads. */
function mergeableProducer(consumer: Node, desc: ElementwiseDesc, slot: number): Node|null {
  const data = consumer.inputs[slot];
  const producer = data.producer;
  if (!producer || producer === consumer || !producer.program.elementwise) return null;
  // The producer's main output (its further outputs, if it is a fused group, come along).
  if (producer.outputs[0] !== data) return null;
  const p = producer.program.elementwise;
  const input = desc.inputs[slot];
  // Read position for position: same shape, no view, same type as the producer stores.
  if (input.view || !sameShape(input.shape, desc.outShape) || !sameShape(p.outShape, desc.outShape)) return null;
  if (input.type !== p.outType || p.expr.type !== p.outType) return null;
  return producer;
}

function absorbOneProducer(consumer: Node, limits: FusionLimits): {node: Node; producer: Node}|null {
  const c = consumer.program.elementwise!;
  for (let slot = 0; slot < consumer.inputs.length; ++slot) {
    const producer = absorbableProducer(consumer, c, slot);
    if (!producer) continue;
    const node = mergedNode(consumer, producer, limits, MAX_OPS);
    if (!node) continue;
    // The intermediate loses its producer first: if tfjs holds it, the group produces it again.
    producer.outputs[0].producer = null;
    for (const o of node.outputs) o.producer = node;
    // Bookkeeping: the fused node reads what both read (each distinct input once per slot).
    for (const x of producer.inputs) x.pendingReaders--;
    for (const x of consumer.inputs) x.pendingReaders--;
    for (const x of node.inputs) x.pendingReaders++;
    return {node, producer};
  }
  return null;
}

/**
 * A node computing `consumer` with the producer of its input `slot` substituted, for a recipe of a
 * virtual value (src/memory/rematerialize.ts): the producer's output must be a value nothing keeps
 * (so the result has the consumer's outputs). Null where the two cannot merge within the limits.
 * Changes nothing in the graph: the producer stays, and may run for its other readers.
 */
export function inlineProducer(consumer: Node, slot: number, limits: FusionLimits, maxOps: number): Node|null {
  const c = consumer.program.elementwise;
  const producer = c ? mergeableProducer(consumer, c, slot) : null;
  if (!producer || producer.outputs.length !== 1 || producer.outputs[0].kept) return null;
  return mergedNode(consumer, producer, limits, Math.min(maxOps, MAX_OPS));
}

/**
 * The consumer's expression with the producer's substituted for its reads of the intermediate.
 * Outputs: the consumer's, then the intermediate if tfjs still holds it, then the producer's own
 * further outputs.
 */
function merge(consumer: Node, producer: Node): {desc: ElementwiseDesc; inputs: TensorData[]; outputs: TensorData[]} {
  const c = consumer.program.elementwise!, p = producer.program.elementwise!;
  const intermediate = producer.outputs[0];
  const {inputs, datas, slotOf} = inputTable();
  // The producer's uniforms are renamed apart from the consumer's (both may call theirs attr0).
  const prefix = `f${(consumer.fusedFrom ?? 1) + (producer.fusedFrom ?? 1) - 1}_`;
  const uniforms: Uniform[] = [...c.uniforms, ...p.uniforms.map(u => ({...u, name: prefix + u.name}))];
  const producerMemo = new Map<Expr, Expr>();
  const producerLeaf = (j: number): Expr => ({kind: 'input', index: slotOf(producer.inputs[j], p.inputs[j]), type: p.inputs[j].type});
  const producerExpr = rebuild(p.expr, producerLeaf, name => prefix + name, producerMemo);
  const consumerMemo = new Map<Expr, Expr>();
  const consumerLeaf = (k: number): Expr => (consumer.inputs[k] === intermediate ? producerExpr
    : {kind: 'input', index: slotOf(consumer.inputs[k], c.inputs[k]), type: c.inputs[k].type});
  const expr = rebuild(c.expr, consumerLeaf, name => name, consumerMemo);
  const extraOutputs = c.extraOutputs.map(o => ({expr: rebuild(o.expr, consumerLeaf, name => name, consumerMemo), type: o.type}));
  const outputs = [...consumer.outputs];
  if (intermediate.kept) {
    extraOutputs.push({expr: producerExpr, type: p.outType});
    outputs.push(intermediate);
  }
  p.extraOutputs.forEach((o, k) => {
    extraOutputs.push({expr: rebuild(o.expr, producerLeaf, name => prefix + name, producerMemo), type: o.type});
    outputs.push(producer.outputs[k + 1]);
  });
  return {desc: {expr, inputs, outShape: c.outShape, outType: c.outType, uniforms, extraOutputs}, inputs: datas, outputs};
}

/**
 * The inputs of a merged kernel: `slotOf` gives a value's slot, adding it unless the same value is
 * already read the same way.
 */
export function inputTable() {
  const inputs: ElementwiseInput[] = [];
  const datas: TensorData[] = [];
  const slotOf = (data: TensorData, input: ElementwiseInput): number => {
    for (let j = 0; j < datas.length; ++j) if (datas[j] === data && sameInput(inputs[j], input)) return j;
    datas.push(data);
    inputs.push(input);
    return datas.length - 1;
  };
  return {inputs, datas, slotOf};
}

/** A copy of `e` with input leaves replaced and uniforms renamed; shared subtrees stay shared. */
export function rebuild(e: Expr, leaf: (index: number) => Expr, rename: (name: string) => string, memo = new Map<Expr, Expr>()): Expr {
  const done = memo.get(e);
  if (done) return done;
  let out: Expr;
  switch (e.kind) {
    case 'input': out = leaf(e.index); break;
    case 'const': out = e; break;
    case 'uniform': out = {...e, name: rename(e.name)}; break;
    case 'op': out = {...e, args: e.args.map(a => rebuild(a, leaf, rename, memo))}; break;
  }
  memo.set(e, out);
  return out;
}

/** Distinct operations of a description's outputs together. */
export function countOps(d: ElementwiseDesc): number {
  const seen = new Set<Expr>();
  const count = (e: Expr): number => {
    if (seen.has(e) || e.kind !== 'op') return 0;
    seen.add(e);
    return 1 + e.args.reduce((n, a) => n + count(a), 0);
  };
  return [d.expr, ...d.extraOutputs.map(o => o.expr)].reduce((n, e) => n + count(e), 0);
}

export function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function sameInput(a: ElementwiseInput, b: ElementwiseInput): boolean {
  if (a.type !== b.type || !sameShape(a.shape, b.shape) || !a.view !== !b.view) return false;
  return !a.view || (a.view.offset === b.view!.offset && sameShape(a.view.strides, b.view!.strides));
}

/** A fused group's name for stats and kernel times: its kernels in order (long chains shortened). */
export function groupName(names: string[]): string {
  const text = names.join('+');
  return names.length <= 6 ? text : `${names.slice(0, 3).join('+')}+…+${names.slice(-2).join('+')} (${names.length})`;
}
