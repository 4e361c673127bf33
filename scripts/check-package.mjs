// The built package (dist/) used as a user would in plain Node, without a bundler: the Node entry
// registers the backend, setBackend resolves true, a kernel computes, dataSync works.
import * as tf from '@tensorflow/tfjs-core';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const {mpsgpu} = await import('../dist/src/node.js');
const ok = await tf.setBackend('mpsgpu');
const y = tf.square(tf.tensor([1, 2, 3]));
const values = Array.from(y.dataSync());
const good = ok && tf.getBackend() === 'mpsgpu' && values.join() === '1,4,9' && mpsgpu.device().uncapturedErrors.length === 0;
console.log(`package: setBackend ${ok}, backend ${tf.getBackend()}, square [1,2,3] = [${values}]: ${good ? 'ok' : 'WRONG'}`);
process.exit(good ? 0 : 1);
