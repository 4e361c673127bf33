// Our own specs in Node on Dawn (lavapipe in CI): entry bundled by scripts/run-node-tests.mjs.
import '../src/node.js';
import '@tensorflow/tfjs-backend-cpu';
import './all_specs.js';
