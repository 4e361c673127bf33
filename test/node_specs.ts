// Our own specs in Node on Dawn (lavapipe in CI): entry bundled by scripts/run-node-tests.mjs.
import '../src/node.js';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import './all_specs.js';
// Opt-in precision paths: they need shader-f16 or Dawn's subgroup matrices (MPSGPU_DAWN_TOGGLES),
// which Chromium's SwiftShader does not offer; in karma these files hung (unexplained), so they
// run where they can take effect: Node (lavapipe has shader-f16; the H200 both).
import './conv_f16.spec.js';
import './matmul_tensor_cores.spec.js';
