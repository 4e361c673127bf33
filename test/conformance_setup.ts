// Runs before tfjs-core's suite is evaluated: its describeWithFlags reads the test envs at import.
import '../src/node.js';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core's package leaves gradients and chained ops to the union package; the suite needs both.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';

import {setTestEnvs} from '@tensorflow/tfjs-core/dist/jasmine_util';

setTestEnvs([{name: 'mpsgpu', backendName: 'mpsgpu', flags: {}, isDataSync: true}]);
