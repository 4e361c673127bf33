// The built package (dist/) used as a user would in plain Node, without a bundler: the Node entry
// registers the backend, setBackend resolves true, a kernel computes, dataSync works; the `layers`
// entry (tfjs-layers, an optional peer) gives mpsgpu.layers.lstm, which runs the fused LSTM.
import * as tf from '@tensorflow/tfjs-core';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const {mpsgpu} = await import('../dist/src/node.js');
const ok = await tf.setBackend('mpsgpu');
const y = tf.square(tf.tensor([1, 2, 3]));
const values = Array.from(y.dataSync());
const good = ok && tf.getBackend() === 'mpsgpu' && values.join() === '1,4,9' && mpsgpu.device().uncapturedErrors.length === 0;
console.log(`package: setBackend ${ok}, backend ${tf.getBackend()}, square [1,2,3] = [${values}]: ${good ? 'ok' : 'WRONG'}`);

// The layers entry attaches `layers` to the same namespace object.
const layersEntry = await import('../dist/src/layers/index.js');
const layer = mpsgpu.layers?.lstm({units: 2, kernelInitializer: 'ones', recurrentInitializer: 'ones'});
const out = layer?.apply(tf.ones([1, 3, 2]));
const lstmValues = out ? Array.from(out.dataSync()) : [];
// By hand: all weights 1, bias 0, tanh and hard sigmoid; every unit alike.
let h = 0, c = 0;
for (let t = 0; t < 3; ++t) {
  const z = 2 + 2 * h;
  const g = Math.min(1, Math.max(0, 0.2 * z + 0.5));
  c = g * c + g * Math.tanh(z);
  h = g * Math.tanh(c);
}
const layersGood = layersEntry.mpsgpu === mpsgpu && out?.shape.join() === '1,2' &&
  lstmValues.every(v => Math.abs(v - h) < 1e-5) && mpsgpu.device().uncapturedErrors.length === 0;
console.log(`package: layers entry, mpsgpu.layers.lstm output [${lstmValues}] (expected ${h} each): ${layersGood ? 'ok' : 'WRONG'}`);
process.exit(good && layersGood ? 0 : 1);
