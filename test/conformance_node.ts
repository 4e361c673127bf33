// tfjs-core 4.22's own suite, whole, against mpsgpu in Node (see scripts/run-node-tests.mjs).
import './conformance_setup.js';
import '@tensorflow/tfjs-core/dist/tests';
