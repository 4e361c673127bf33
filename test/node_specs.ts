// Our own specs in Node on Dawn (lavapipe in CI): entry bundled by scripts/run-node-tests.mjs.
import '../src/node.js';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import './all_specs.js';
