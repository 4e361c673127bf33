// Runs last: it destroys the device. Also checks that no spec before it caused a WebGPU error.
import * as tf from '@tensorflow/tfjs-core';

import {mpsgpu} from '../src/index.js';

describe('mpsgpu device', () => {
  it('saw no WebGPU validation error in any spec so far', async () => {
    await tf.setBackend('mpsgpu');
    expect(mpsgpu.device().uncapturedErrors).toEqual([]);
  });

  it('after device loss, the next op throws an error that says so, and setBackend builds a new device', async () => {
    await tf.setBackend('mpsgpu');
    const x = tf.tensor([1, 2, 3]);
    await x.square().data();
    const lost = mpsgpu.device();
    lost.device.destroy();
    await lost.device.lost;
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(() => x.add(1)).toThrowError(/device was lost/);
    expect(await tf.setBackend('mpsgpu')).toBe(true);
    expect(mpsgpu.device()).not.toBe(lost);
    const y = tf.tensor([1, 2, 3]).mul(2);
    expect(Array.from(await y.data())).toEqual([2, 4, 6]);
    tf.dispose([y]);
  });
});
