// Pack (tf.stack): each input viewed with a unit axis inserted at `axis`, then concatenated.
import {KernelConfig, Pack, PackAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {mpsgpuBackend, reshapeView} from '../src/kernel_util.js';

import {concatTensors} from './Concat.js';

export const packConfig: KernelConfig = {
  kernelName: Pack,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const tensors = inputs as unknown as TensorInfo[];
    if (tensors.length === 0) throw new Error('Pack: needs at least one input tensor');
    const shape = tensors[0].shape, dtype = tensors[0].dtype;
    let {axis} = attrs as unknown as PackAttrs;
    if (axis < 0) axis += shape.length + 1;
    if (!(Number.isInteger(axis) && axis >= 0 && axis <= shape.length)) {
      throw new Error(`Pack: axis ${(attrs as unknown as PackAttrs).axis} is out of range for inputs of shape [${shape}]`);
    }
    tensors.forEach((t, i) => {
      if (t.shape.length !== shape.length || t.shape.some((d, j) => d !== shape[j])) {
        throw new Error(`Pack: All tensors passed to stack must have matching shapes; input ${i} has shape ` +
          `[${t.shape}], input 0 has shape [${shape}]`);
      }
      if (t.dtype !== dtype) {
        throw new Error(`Pack: All tensors passed to stack must have matching dtypes; input ${i} has dtype ` +
          `${t.dtype}, input 0 has dtype ${dtype}`);
      }
    });
    const expanded = shape.slice();
    expanded.splice(axis, 0, 1);
    const views = tensors.map(t => reshapeView(b, t, expanded));
    if (views.length === 1) return views[0];
    const result = concatTensors(b, views, axis);
    views.forEach(v => b.disposeIntermediateTensorInfo(v));
    return result;
  },
};
