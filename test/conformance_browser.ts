// tfjs-core 4.22's own suite, whole, against mpsgpu in headless Chromium (see karma.conf.js and
// scripts/run-browser-tests.mjs; failures are checked against test/known_failures/chromium.txt).
import '../src/index.js';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core's package leaves gradients and chained ops to the union package; the suite needs both.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';

import {setTestEnvs} from '@tensorflow/tfjs-core/dist/jasmine_util';

setTestEnvs([{name: 'mpsgpu', backendName: 'mpsgpu', flags: {}, isDataSync: true}]);

// A require, not an import: imports are hoisted, and the suite's describeWithFlags reads the test
// envs while its modules are evaluated, so it must load after setTestEnvs (esbuild keeps the order).
// eslint-disable-next-line @typescript-eslint/no-require-imports
require('@tensorflow/tfjs-core/dist/tests');
