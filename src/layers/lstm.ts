// MpsgpuLSTM: tfjs-layers' LSTM layer running on the fused op (mpsgpu.lstm, kernels/LSTM.ts).
//
// A subclass of tfjs-layers' own LSTM: the config, the cell, its weights (kernel,
// recurrent_kernel, bias: names, shapes, order, initializers, unitForgetBias), getConfig and the
// output shapes are the stock layer's; only `call` differs. Where the fused op does not apply
// (another backend, stateful, dropout while training, an activation it lacks) it runs the stock
// per-step loop, so it is a drop-in everywhere. Registered for serialization as 'MpsgpuLSTM'.
import {engine, serialization, Tensor, tidy} from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type {LSTM, LSTMCell, LSTMLayerArgs} from '@tensorflow/tfjs-layers/dist/layers/recurrent';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';

import {LSTM_ACTIVATIONS, LstmActivation, lstmOp} from '../../kernels/LSTM.js';

type LstmConstructor = new (args: LSTMLayerArgs) => LSTM;

/**
 * tfjs-layers' LSTM class: the package exports only its factory, so it is taken from the
 * serialization registry, where tfjs-layers registers it on import (no layer is created).
 */
function stockLstmClass(): LstmConstructor {
  // Referencing the factory keeps tfjs-layers' recurrent module (and its registration) in bundles.
  if (typeof tfl.layers.lstm !== 'function') throw new Error('mpsgpu.layers: @tensorflow/tfjs-layers has no layers.lstm');
  const entry = serialization.SerializationMap.getMap().classNameMap['LSTM'];
  if (!entry) throw new Error('mpsgpu.layers: @tensorflow/tfjs-layers did not register its LSTM class');
  return entry[0] as unknown as LstmConstructor;
}

function fusedActivation(name: string): LstmActivation|null {
  return (LSTM_ACTIVATIONS as readonly string[]).includes(name) ? name as LstmActivation : null;
}

/** tfjs-layers' LSTM on the fused op; same config, weights and outputs. */
export class MpsgpuLSTM extends stockLstmClass() {
  /** @nocollapse */
  static className = 'MpsgpuLSTM';

  override call(inputs: Tensor|Tensor[], kwargs: Kwargs): Tensor|Tensor[] {
    const cell = this.cell as LSTMCell;
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    let initialState = (kwargs?.['initialState'] ?? null) as Tensor[]|null;
    if (initialState === null && Array.isArray(inputs) && inputs.length === 3) initialState = inputs.slice(1);
    let mask = (kwargs?.['mask'] ?? null) as Tensor|Tensor[]|null;
    if (Array.isArray(mask)) mask = mask[0] ?? null;
    const training = kwargs?.['training'] === true;
    const activation = fusedActivation(cell.activation.getClassName());
    const recurrentActivation = fusedActivation(cell.recurrentActivation.getClassName());
    const dropout = training && ((cell.dropout > 0 && cell.dropout < 1) || (cell.recurrentDropout > 0 && cell.recurrentDropout < 1));
    const fused = engine().backendName === 'mpsgpu' && !this.stateful && !dropout && activation !== null &&
      recurrentActivation !== null && x instanceof Tensor && x.rank === 3 && x.dtype === 'float32' &&
      (initialState === null || initialState.length === 2) && (mask === null || mask.rank === 2);
    if (!fused) return super.call(inputs, kwargs);
    return tidy(() => lstmOp(x, cell.kernel.read(), cell.recurrentKernel.read(), cell.useBias ? cell.bias.read() : null, {
      activation: activation!,
      recurrentActivation: recurrentActivation!,
      returnSequences: this.returnSequences,
      returnState: this.returnState,
      goBackwards: this.goBackwards,
      initialState: initialState as [Tensor, Tensor]|null,
      mask: mask as Tensor|null,
    }));
  }
}
serialization.registerClass(MpsgpuLSTM as unknown as serialization.SerializableConstructor<serialization.Serializable>);

/** A drop-in for tf.layers.lstm(config) on the fused op. */
export function lstm(config: LSTMLayerArgs): MpsgpuLSTM {
  return new MpsgpuLSTM(config);
}
