// Runs before tfjs-core's suite is evaluated: its describeWithFlags reads the test envs at import.
import '../src/node.js';
import '@tensorflow/tfjs-backend-cpu';

import {setTestEnvs} from '@tensorflow/tfjs-core/dist/jasmine_util';

setTestEnvs([{name: 'mpsgpu', backendName: 'mpsgpu', flags: {}, isDataSync: true}]);
