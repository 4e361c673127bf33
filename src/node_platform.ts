// Node: the GPU comes from Dawn (the `webgpu` package), and synchronous reads wait by pumping
// libuv with `deasync` (a promise's continuation never runs inside that loop, so the wait polls
// the staging buffer's mapState, which Dawn's callback sets).
import {createRequire} from 'module';
import {create, globals} from 'webgpu';

import {setDevicePlatform} from './device.js';
import {SyncWaiter} from './runtime/runtime.js';

Object.assign(globalThis, globals);

function loadSyncWaiter(): SyncWaiter|null {
  try {
    const require = createRequire(import.meta.url);
    const deasync = require('deasync') as {runLoopOnce(): void};
    return (done: () => boolean) => {
      while (!done()) deasync.runLoopOnce();
    };
  } catch {
    return null;
  }
}

// Dawn toggles from the environment, e.g. MPSGPU_DAWN_TOGGLES=vulkan_enable_f16_on_nvidia (Dawn offers
// shader-f16 on NVIDIA's Vulkan driver only with it) or allow_unsafe_apis (subgroup matrices).
const toggles = (typeof process !== 'undefined' && process.env.MPSGPU_DAWN_TOGGLES) || '';
setDevicePlatform({gpu: create(toggles ? [`enable-dawn-features=${toggles}`] : []) as unknown as GPU, syncWaiter: loadSyncWaiter()});
