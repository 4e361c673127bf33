// The backward pass with early release, while mpsgpu is the active backend (MPSGPU_RELEASE_BACKWARD).
//
// tfjs-core 4.22's engine.gradients keeps every intermediate gradient (one per tensor on the tape)
// and every tensor saved for a gradient until the whole backward pass has run. For InceptionV3 at
// batch 64 that is most of the GPU memory at the end of the backward pass: the forward pass's
// activations plus a gradient of each. Here, once a tape node's gradient has run, its outputs'
// gradients and its saved tensors are disposed (no node processed later reads them), so the
// activations go as the backward pass reaches them, as other frameworks free their graphs during
// backward. The gradients computed, their order and the errors are tfjs-core's.
//
// Not released: the gradients of y and of the xs (returned), a gradient that another tensor's entry
// still refers to (a gradient function may pass dy through), and anything while an outer gradient
// is being recorded (higher-order gradients read the inner backward pass's tensors).
import {add, engine, NamedTensorMap, ones, Tensor, util} from '@tensorflow/tfjs-core';

import {flags} from './flags.js';

/** A node of tfjs-core's tape (tape.ts, 4.22). */
interface TapeNode {
  id: number;
  kernelName: string;
  outputs: Tensor[];
  inputs: NamedTensorMap;
  gradient?: (dys: Tensor[]) => Record<string, () => Tensor>;
  saved?: Tensor[];
}

/** The parts of tfjs-core's Engine (4.22) that engine.gradients uses. */
interface EngineInternals {
  state: {activeTape: TapeNode[]|null; gradientDepth: number};
  backendName: string;
  scopedRun<R>(start: () => void, end: () => void, f: () => R): R;
  startTape(): void;
  endTape(): void;
  tidy<T>(nameOrFn: string|(() => T), fn?: () => T): T;
  gradients: Gradients;
}

/** What a tidy may return: tensors, kept (tfjs's TensorContainer, narrowed to our uses). */
type TensorContainerLike = Tensor|Record<string, Tensor>;

type Gradients = (this: EngineInternals, f: () => Tensor, xs: Tensor[], dy?: Tensor, allowNoGradients?: boolean) => {value: Tensor; grads: Tensor[]};

const INSTALLED = new WeakSet<object>();

/** Replaces engine.gradients (once) by one that releases as it goes while `backendName` is active. */
export function installBackwardRelease(backendName: string): void {
  const e = engine() as unknown as EngineInternals;
  if (INSTALLED.has(e) || typeof e.gradients !== 'function' || !e.state || !('gradientDepth' in e.state)) return;
  INSTALLED.add(e);
  const original = e.gradients;
  e.gradients = function(this: EngineInternals, f, xs, dy, allowNoGradients = false) {
    if (this.backendName !== backendName || !flags.releaseBackward) return original.call(this, f, xs, dy, allowNoGradients);
    return gradientsReleasing.call(this, f, xs, dy, allowNoGradients);
  };
}

/** tfjs-core's engine.gradients, with the backward pass of backpropagate(). */
const gradientsReleasing: Gradients = function(f, xs, dy, allowNoGradients = false) {
  util.assert(xs.length > 0, () => 'gradients() received an empty list of xs.');
  if (dy != null && dy.dtype !== 'float32') throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
  const y = this.scopedRun(() => this.startTape(), () => this.endTape(), () => this.tidy('forward', f));
  util.assert(y instanceof Tensor, () => 'The result y returned by f() must be a tensor.');
  const filteredTape = nodesFromXToY(this.state.activeTape!, xs, y);
  if (!allowNoGradients && filteredTape.length === 0 && xs.length > 0) {
    throw new Error('Cannot compute gradient of y=f(x) with respect to x. Make sure ' +
                    'that the f you passed encloses all operations that lead from x ' +
                    'to y.');
  }
  return this.tidy('backward', () => {
    const gradients = new GradientMap();
    gradients.set(y.id, dy == null ? ones(y.shape) : dy);
    const keep = new Set([y.id, ...xs.map(x => x.id)]);
    backpropagate(gradients, filteredTape, fn => this.tidy(fn), this.state.gradientDepth === 0 ? keep : null);
    const grads = xs.map(x => gradients.get(x.id)!);
    if (this.state.gradientDepth === 0) {
      // No higher-order gradient: the tape goes (what was not released above).
      this.state.activeTape!.forEach(node => {
        for (const tensor of node.saved ?? []) tensor.dispose();
      });
      this.state.activeTape = null;
    }
    return {value: y, grads};
  });
};

/**
 * The tape nodes on a path from an x to y, each with only its inputs that depend on an x (what
 * tfjs-core's getFilteredNodesXToY computes; its module is not importable from Node's ESM).
 */
function nodesFromXToY(tape: TapeNode[], xs: Tensor[], y: Tensor): TapeNode[] {
  // Plain loops and per-position flags (tape node ids are unique): this runs on every training
  // step's whole tape.
  const fromX = new Set<number>();
  for (const x of xs) fromX.add(x.id);
  const isFromX = new Uint8Array(tape.length);
  for (let i = 0; i < tape.length; i++) {
    const node = tape[i];
    let reads = false;
    for (const name in node.inputs) {
      if (fromX.has(node.inputs[name].id)) {
        reads = true;
        break;
      }
    }
    if (reads) {
      for (const o of node.outputs) fromX.add(o.id);
      isFromX[i] = 1;
    }
  }
  const toY = new Set<number>([y.id]);
  const isToY = new Uint8Array(tape.length);
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    // As tfjs-core: a node without inputs does not count as leading to y.
    let hasInputs = false;
    for (const _ in node.inputs) {
      hasInputs = true;
      break;
    }
    if (hasInputs && node.outputs.some(o => toY.has(o.id))) {
      for (const name in node.inputs) toY.add(node.inputs[name].id);
      isToY[i] = 1;
    }
  }
  const out: TapeNode[] = [];
  for (let i = 0; i < tape.length; i++) {
    if (!isFromX[i] || !isToY[i]) continue;
    const node = tape[i];
    const inputs: NamedTensorMap = {};
    for (const name in node.inputs) if (fromX.has(node.inputs[name].id)) inputs[name] = node.inputs[name];
    out.push({...node, inputs, outputs: node.outputs});
  }
  return out;
}

/** Accumulated gradients by tensor id, counting the entries that refer to each tensor. */
class GradientMap {
  private byId = new Map<number, Tensor>();
  private refs = new Map<Tensor, number>();

  get(id: number): Tensor|undefined {
    return this.byId.get(id);
  }

  set(id: number, t: Tensor) {
    this.delete(id);
    this.byId.set(id, t);
    this.refs.set(t, (this.refs.get(t) ?? 0) + 1);
  }

  /** Whether an entry's value is `t`. */
  refersTo(t: Tensor): boolean {
    return this.refs.has(t);
  }

  /** Removes the entry; returns its tensor if no other entry refers to it. */
  delete(id: number): Tensor|null {
    const t = this.byId.get(id);
    if (t === undefined) return null;
    this.byId.delete(id);
    const n = this.refs.get(t)! - 1;
    if (n > 0) {
      this.refs.set(t, n);
      return null;
    }
    this.refs.delete(t);
    return t;
  }
}

/**
 * tfjs-core's backpropagateGradients (tape.ts); with `keep` (the ids whose gradients are returned),
 * each node's output gradients and saved tensors are disposed once its gradient has run, and so are
 * the tensors its gradient function made outside the closures it returns. tfjs-core leaves those to
 * the end of the backward pass: batch norm's gradient computes dy·scale and x − mean there (each
 * x-sized, one per layer: InceptionV3 at batch 64 held 2.3 GB of them at the end of the pass).
 */
function backpropagate(gradients: GradientMap, tape: TapeNode[], tidy: <T extends TensorContainerLike>(f: () => T) => T,
                       keep: Set<number>|null) {
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    const dys = node.outputs.map(o => gradients.get(o.id) ?? null);
    if (node.gradient == null) {
      throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
    }
    const gradientsOf = () => {
      const inputGradients = node.gradient!(dys as Tensor[]);
      const dxs: Record<string, Tensor> = {};
      for (const inputName in node.inputs) {
        if (!(inputName in inputGradients)) {
          throw new Error(`Cannot backprop through input ${inputName}. ` +
                          `Available gradients found: ${Object.keys(inputGradients)}.`);
        }
        dxs[inputName] = tidy(() => inputGradients[inputName]());
      }
      return dxs;
    };
    // Under an outer tape (keep === null), tfjs-core's scoping exactly.
    const dxs = keep === null ? gradientsOf() : tidy(gradientsOf);
    for (const inputName in node.inputs) {
      const dx = dxs[inputName];
      if (dx.dtype !== 'float32') {
        throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ` +
                        `${inputName} must have 'float32' dtype, but has '${dx.dtype}'`);
      }
      const x = node.inputs[inputName];
      if (!util.arraysEqual(dx.shape, x.shape)) {
        throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ` +
                        `'${inputName}' has shape '${dx.shape}', which does not match ` +
                        `the shape of the input '${x.shape}'`);
      }
      const current = gradients.get(x.id);
      if (current === undefined) {
        gradients.set(x.id, dx);
      } else {
        gradients.set(x.id, add(current, dx));
        current.dispose();
        // tfjs-core keeps dx to the end of the pass. Under mpsgpu the sum would then stay a
        // recipe holding both terms (src/memory/rematerialize.ts): every branch's input gradient
        // of an Inception block, alive to the end. Released unless something else refers to it.
        if (keep !== null && !gradients.refersTo(dx) && !isTapeTensor(node, dx)) dx.dispose();
      }
    }
    if (keep === null) continue;
    for (const o of node.outputs) {
      if (!keep.has(o.id)) gradients.delete(o.id)?.dispose();
    }
    for (const tensor of node.saved ?? []) tensor.dispose();
  }
}

/** Whether `t` is one of the node's inputs, outputs or saved tensors (a gradient may return one). */
function isTapeTensor(node: TapeNode, t: Tensor): boolean {
  return node.outputs.includes(t) || (node.saved ?? []).includes(t) || Object.values(node.inputs).includes(t);
}
