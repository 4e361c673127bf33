// tfjs-backend-cpu's shared implementations, for the kernels computed on the CPU. Imported from the
// package root: its `dist/shared` files are extensionless ES modules that plain Node cannot load,
// while the root resolves to the CommonJS build in Node and to the ES build in bundlers. (The root
// also registers the cpu backend, which tfjs users have anyway.)
import {shared} from '@tensorflow/tfjs-backend-cpu';

export const cpuShared = shared;
