// tfjs-backend-webgpu checks navigator.gpu when its module is evaluated: give it Dawn first.
import {create, globals} from 'webgpu';

Object.assign(globalThis, globals);
const g = globalThis as unknown as {navigator?: {gpu?: unknown}};
if (!g.navigator) Object.defineProperty(globalThis, 'navigator', {value: {}, configurable: true, writable: true});
if (!g.navigator!.gpu) (g.navigator as {gpu?: unknown}).gpu = create([]);
