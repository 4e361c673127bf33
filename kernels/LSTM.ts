// The fused LSTM (mpsgpu.lstm): tfjs-layers' LSTM over a whole sequence, forward and backward on
// the GPU, with the programs of kernels/lstm_programs.ts.
//
// Forward (kernel MpsgpuLSTM): x·W + b for every step as one GEMM ([B·T, 4U]), then the recurrence
// as one repeated program (one graph node, T + 1 dispatches): the initial state as entry 0, then per
// step h_{s-1}·U with the gate math fused, writing the step's record (gates i, f, g, o after their
// activations, c_s, h_s; 6U per batch row) as entry s + 1 of the kernel's one output, the records
// [B, T+1, 6U], in place. The op slices the sequence output and the final states out of it, so
// that their gradients reach the backward kernel as one tensor (tfjs-core's Slice gradient pads
// them into place) and the records are saved for the backward pass with no copy.
//
// Backward (kernel MpsgpuLSTMGrad): one repeated program (one node, T + 1 dispatches) runs the steps
// in reverse, computing dz_s from the saved gates with dh_s += dz_{s+1}·Uᵀ fused in, written in
// place into DZ [B, T, 4U] (time order), and the carry (dh_s, dc_{s-1}); its last iteration writes
// the initial state's gradient; then over all steps at once: dx = DZ·Wᵀ, dW = Xᵀ·DZ,
// dU = H_prevᵀ·DZ (GEMMs), db = ΣDZ (a reduction). Recording is a constant number of nodes,
// whatever the sequence length.
//
// Steps run in processing order s (reversed time with goBackwards: time index t = T-1-s), as
// tfjs-layers' rnn() runs them; the sequence output is in that order too, as tfjs-layers returns it.
import * as tf from '@tensorflow/tfjs-core';
import {DataType, engine, getKernel, GradConfig, KernelConfig, NamedAttrMap, NamedTensorMap, registerGradient, registerKernel, Tensor, TensorInfo} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {wgslType} from '../src/codegen/shader.js';
import {mpsgpuBackend, reshapeView} from '../src/kernel_util.js';

import {batchMatMul} from './BatchMatMul.js';
import {LSTM_ACTIVATIONS, lstmBackwardProgram, lstmForwardProgram, LstmActivation, LstmStepConfig, lstmTailCarryRow} from './lstm_programs.js';
import {reduce} from './reduce.js';
import {sliceTensor, stridedCopy} from './Slice.js';

export {LSTM_ACTIVATIONS};
export type {LstmActivation};

/** The forward kernel: inputs [x, kernel, recurrentKernel, bias?, h0?, c0?, mask?]; output the records. */
export const LSTM_KERNEL = 'MpsgpuLSTM';
/** The backward kernel: inputs [x, kernel, recurrentKernel, records, dRecords, mask?]; outputs dx, dW, dU, db, dh0, dc0. */
export const LSTM_GRAD_KERNEL = 'MpsgpuLSTMGrad';

export interface LstmAttrs {
  activation: LstmActivation;
  recurrentActivation: LstmActivation;
  goBackwards: boolean;
  hasBias: boolean;
  hasH0: boolean;
  hasC0: boolean;
  hasMask: boolean;
}

interface LstmParts<T extends TensorInfo> {
  x: T;
  kernel: T;
  recurrentKernel: T;
  bias: T|null;
  h0: T|null;
  c0: T|null;
  mask: T|null;
}

/** The forward kernel's inputs in order (absent ones left out; the attributes say which are there). */
function packInputs<T extends TensorInfo>(p: LstmParts<T>): T[] {
  return [p.x, p.kernel, p.recurrentKernel, p.bias, p.h0, p.c0, p.mask].filter((t): t is T => t !== null);
}

function unpackInputs<T extends TensorInfo>(inputs: T[], a: LstmAttrs): LstmParts<T> {
  let i = 3;
  const next = (present: boolean) => (present ? inputs[i++] : null);
  return {x: inputs[0], kernel: inputs[1], recurrentKernel: inputs[2], bias: next(a.hasBias), h0: next(a.hasH0),
          c0: next(a.hasC0), mask: next(a.hasMask)};
}

function describe(t: TensorInfo): string {
  return `shape [${t.shape}] (dtype ${t.dtype})`;
}

/**
 * tfjs-style checks of everything the kernels rely on, before anything is recorded; `where` names
 * the op or kernel in the message.
 */
function validate(where: string, p: LstmParts<TensorInfo>, a: Pick<LstmAttrs, 'activation'|'recurrentActivation'>): void {
  const fail = (msg: string) => {
    throw new Error(`${where}: ${msg}`);
  };
  const float = (name: string, t: TensorInfo) => {
    if (t.dtype !== 'float32') fail(`input '${name}' must be float32, got ${describe(t)}`);
  };
  for (const [name, act] of [['activation', a.activation], ['recurrentActivation', a.recurrentActivation]] as const) {
    if (!(LSTM_ACTIVATIONS as readonly string[]).includes(act)) {
      fail(`${name} '${act}' is not one of ${LSTM_ACTIVATIONS.join(', ')}`);
    }
  }
  const {x, kernel, recurrentKernel: rk} = p;
  if (x.shape.length !== 3) fail(`input 'x' must be rank 3 [batch, time, inputDim], got ${describe(x)}`);
  float('x', x);
  const [batch, time, inputDim] = x.shape;
  if (batch < 1 || time < 1) fail(`input 'x' must have at least one batch row and one time step, got ${describe(x)}`);
  if (kernel.shape.length !== 2 || kernel.shape[0] !== inputDim || kernel.shape[1] % 4 !== 0 || kernel.shape[1] === 0) {
    fail(`input 'kernel' must have shape [inputDim, 4·units] = [${inputDim}, 4·units] (units ≥ 1), got ${describe(kernel)}`);
  }
  float('kernel', kernel);
  const units = kernel.shape[1] / 4;
  const expect = (name: string, t: TensorInfo|null, shape: number[]) => {
    if (t === null) return;
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      fail(`input '${name}' must have shape [${shape}], got ${describe(t)}`);
    }
    float(name, t);
  };
  expect('recurrentKernel', rk, [units, 4 * units]);
  expect('bias', p.bias, [4 * units]);
  expect('h0', p.h0, [batch, units]);
  expect('c0', p.c0, [batch, units]);
  const mask = p.mask;
  if (mask !== null) {
    if (mask.shape.length !== 2 || mask.shape[0] !== batch || mask.shape[1] !== time) {
      fail(`input 'mask' must have shape [batch, time] = [${batch},${time}], got ${describe(mask)}`);
    }
    if (!(['bool', 'int32', 'float32'] as DataType[]).includes(mask.dtype)) {
      fail(`input 'mask' must be bool, int32 or float32, got ${describe(mask)}`);
    }
  }
}

function stepConfig(a: LstmAttrs, mask: TensorInfo|null): LstmStepConfig {
  return {act: a.activation, recAct: a.recurrentActivation, mask: mask ? wgslType(mask.dtype) : null};
}

/** Record the forward pass: the records [B, T+1, 6U]. */
function lstmForward(b: MpsgpuBackend, p: LstmParts<TensorInfo>, a: LstmAttrs): TensorInfo {
  const [batch, time, inputDim] = p.x.shape;
  const units = p.recurrentKernel.shape[0];
  const x2 = reshapeView(b, p.x, [batch * time, inputDim]);
  const xw = batchMatMul(b, x2, p.kernel, false, false, {bias: p.bias});
  b.disposeIntermediateTensorInfo(x2);
  const program = lstmForwardProgram(stepConfig(a, p.mask), {hasH0: p.h0 !== null, hasC0: p.c0 !== null}, batch, units, time,
                                     a.goBackwards);
  const inputs = [xw, p.recurrentKernel, p.h0, p.c0, p.mask].filter((t): t is TensorInfo => t !== null);
  const records = b.runProgram(program, inputs, [batch, time + 1, 6 * units], 'float32');
  b.disposeIntermediateTensorInfo(xw);
  return records;
}

/** Record the backward pass: [dx, dW, dU, db, dh0, dc0]. */
function lstmBackward(b: MpsgpuBackend, x: TensorInfo, kernel: TensorInfo, rk: TensorInfo, records: TensorInfo,
                      dRecords: TensorInfo, mask: TensorInfo|null, a: LstmAttrs): TensorInfo[] {
  const [batch, time, inputDim] = x.shape;
  const units = rk.shape[0];
  // dz of every step in time order (the order of x's rows), and the carries, (dh0, dc0) at the end.
  const [dz, carries] = b.runProgramMulti(lstmBackwardProgram(stepConfig(a, mask), batch, units, time, a.goBackwards),
                                          [records, dRecords, rk, ...(mask ? [mask] : [])],
                                          [{shape: [batch, time, 4 * units], dtype: 'float32'}, {shape: [2 * batch, 2 * units], dtype: 'float32'}]);
  const dz2 = reshapeView(b, dz, [batch * time, 4 * units]);
  b.disposeIntermediateTensorInfo(dz);
  const x2 = reshapeView(b, x, [batch * time, inputDim]);
  const dx2 = batchMatMul(b, dz2, kernel, false, true);
  const dx = reshapeView(b, dx2, [batch, time, inputDim]);
  b.disposeIntermediateTensorInfo(dx2);
  const dW = batchMatMul(b, x2, dz2, true, false);
  b.disposeIntermediateTensorInfo(x2);
  // h_{s-1} of each row of dz (time order): the h part of record entry s.
  const row = 6 * units;
  const hPrev = stridedCopy(b, LSTM_GRAD_KERNEL, records, [batch, time, units],
                            5 * units + (a.goBackwards ? (time - 1) * row : 0), [(time + 1) * row, a.goBackwards ? -row : row, 1],
                            [batch * time, units]);
  const dU = batchMatMul(b, hPrev, dz2, true, false);
  b.disposeIntermediateTensorInfo(hPrev);
  const db = reduce(b, dz2, [0], 'Sum', false);
  b.disposeIntermediateTensorInfo(dz2);
  const tail = lstmTailCarryRow(batch, time);
  const dh0 = sliceTensor(b, carries, [tail, 0], [batch, units], LSTM_GRAD_KERNEL);
  const dc0 = sliceTensor(b, carries, [tail, units], [batch, units], LSTM_GRAD_KERNEL);
  b.disposeIntermediateTensorInfo(carries);
  return [dx, dW, dU, db, dh0, dc0];
}

export const lstmConfig: KernelConfig = {
  kernelName: LSTM_KERNEL,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const a = attrs as unknown as LstmAttrs;
    const p = unpackInputs(inputs as unknown as TensorInfo[], a);
    validate(LSTM_KERNEL, p, a);
    return lstmForward(mpsgpuBackend(backend), p, a);
  },
};

export const lstmGradConfig: KernelConfig = {
  kernelName: LSTM_GRAD_KERNEL,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const a = attrs as unknown as LstmAttrs;
    const [x, kernel, rk, records, dRecords, mask] = inputs as unknown as TensorInfo[];
    const [batch, time] = x.shape;
    const units = rk.shape[0];
    const shape = [batch, time + 1, 6 * units];
    for (const [name, t] of [['records', records], ['dRecords', dRecords]] as const) {
      if (t.shape.join() !== shape.join() || t.dtype !== 'float32') {
        throw new Error(`${LSTM_GRAD_KERNEL}: input '${name}' must be float32 of shape [${shape}], got ${describe(t)}`);
      }
    }
    validate(LSTM_GRAD_KERNEL, {x, kernel, recurrentKernel: rk, bias: null, h0: null, c0: null, mask: a.hasMask ? mask : null}, a);
    return lstmBackward(mpsgpuBackend(backend), x, kernel, rk, records, dRecords, a.hasMask ? mask : null, a);
  },
};

/** Backpropagation through time: the gradient kernel, then the gradient of each input given. */
const lstmGradient: GradConfig = {
  kernelName: LSTM_KERNEL,
  saveAllInputs: true,
  outputsToSave: [true],
  gradFunc: (dy: Tensor|Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const a = attrs as unknown as LstmAttrs;
    const records = saved[saved.length - 1];
    const p = unpackInputs(saved.slice(0, -1), a);
    const gradInputs = [p.x, p.kernel, p.recurrentKernel, records, dy as Tensor, ...(p.mask ? [p.mask] : [])];
    const [dx, dW, dU, db, dh0, dc0] = engine().runKernel(LSTM_GRAD_KERNEL, gradInputs as unknown as NamedTensorMap, attrs) as Tensor[];
    const grads: Array<() => Tensor> = [() => dx, () => dW, () => dU];
    if (a.hasBias) grads.push(() => db);
    if (a.hasH0) grads.push(() => dh0);
    if (a.hasC0) grads.push(() => dc0);
    // The mask selects; it has no gradient (tfjs-layers casts it to bool).
    if (a.hasMask) grads.push(() => tf.zeros(p.mask!.shape));
    return Object.fromEntries(grads.map((g, i) => [String(i), g]));
  },
};

let registered = false;

/** Registers the kernels and the gradient (once; also where the backend was registered afresh). */
export function ensureLstmRegistered(): void {
  if (registered && getKernel(LSTM_KERNEL, 'mpsgpu') != null) return;
  if (getKernel(LSTM_KERNEL, 'mpsgpu') == null) {
    registerKernel(lstmConfig);
    registerKernel(lstmGradConfig);
    registerGradient(lstmGradient);
  }
  registered = true;
}

export interface LstmOptions {
  /** Applied to the cell candidate and to the cell state before the output gate (default 'tanh'). */
  activation?: LstmActivation;
  /** Applied to the input, forget and output gates (default 'hardSigmoid', tfjs-layers' default). */
  recurrentActivation?: LstmActivation;
  /** The output for every step ([batch, time, units]) instead of the last ([batch, units]). */
  returnSequences?: boolean;
  /** Return [output, h, c] (the final states) instead of the output alone. */
  returnState?: boolean;
  /** Process the sequence from its last step to its first (the sequence output is in that order). */
  goBackwards?: boolean;
  /** [h0, c0], each [batch, units] (default zeros). */
  initialState?: [Tensor, Tensor]|null;
  /**
   * [batch, time] (bool, int32 or float32): where zero, the step is skipped for that row: state and
   * output carry over from the step before (tfjs-layers' rnn()).
   */
  mask?: Tensor|null;
}

/**
 * mpsgpu.lstm: tfjs-layers' LSTM over a whole sequence, x [batch, time, inputDim], with kernel
 * [inputDim, 4·units], recurrentKernel [units, 4·units] and bias [4·units] (gates i, f, c, o, as
 * Keras), fused on the GPU, differentiable with respect to x, the weights and the initial state.
 */
export function lstmOp(x: Tensor, kernel: Tensor, recurrentKernel: Tensor, bias: Tensor|null|undefined,
                       options: LstmOptions&{returnState: true}): Tensor[];
export function lstmOp(x: Tensor, kernel: Tensor, recurrentKernel: Tensor, bias?: Tensor|null, options?: LstmOptions): Tensor;
export function lstmOp(x: Tensor, kernel: Tensor, recurrentKernel: Tensor, bias?: Tensor|null, options: LstmOptions = {}): Tensor|Tensor[] {
  const where = 'mpsgpu.lstm';
  for (const [name, t] of [['x', x], ['kernel', kernel], ['recurrentKernel', recurrentKernel]] as const) {
    if (!(t instanceof Tensor)) throw new Error(`${where}: input '${name}' must be a tf.Tensor, got ${typeof t}`);
  }
  const initial = options.initialState ?? null;
  if (initial !== null && (!Array.isArray(initial) || initial.length !== 2 || !initial.every(t => t instanceof Tensor))) {
    throw new Error(`${where}: initialState must be [h0, c0], two tensors of shape [batch, units]`);
  }
  const attrs: LstmAttrs = {
    activation: options.activation ?? 'tanh',
    recurrentActivation: options.recurrentActivation ?? 'hardSigmoid',
    goBackwards: options.goBackwards ?? false,
    hasBias: bias != null,
    hasH0: initial !== null,
    hasC0: initial !== null,
    hasMask: options.mask != null,
  };
  const parts: LstmParts<Tensor> = {x, kernel, recurrentKernel, bias: bias ?? null, h0: initial?.[0] ?? null,
                                    c0: initial?.[1] ?? null, mask: options.mask ?? null};
  validate(where, parts, attrs);
  if (engine().backendName !== 'mpsgpu') {
    throw new Error(`${where}: the active backend is '${engine().backendName}'; await tf.setBackend('mpsgpu') first`);
  }
  ensureLstmRegistered();
  const [batch, time] = x.shape;
  const units = recurrentKernel.shape[0];
  return tf.tidy(() => {
    const records = engine().runKernel(LSTM_KERNEL, packInputs(parts) as unknown as NamedTensorMap,
                                       attrs as unknown as NamedAttrMap) as Tensor;
    const last = (offset: number) => tf.reshape(tf.slice(records, [0, time, offset], [batch, 1, units]), [batch, units]);
    // Separate tensors for the output and the state h (either may be disposed alone).
    const output = options.returnSequences ? tf.slice(records, [0, 1, 5 * units], [batch, time, units]) : last(5 * units);
    return options.returnState ? [output, last(5 * units), last(4 * units)] : output;
  });
}
