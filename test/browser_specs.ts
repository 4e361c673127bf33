// Our own specs in headless Chromium (WebGPU on SwiftShader): entry bundled by
// scripts/build-browser-tests.mjs, run by karma (karma.conf.js). The spec files are shared with
// Node (all_specs.ts); browser-only specs are imported here.
import '../src/index.js';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import './all_specs.js';
import './browser_sync_read.spec.js';
