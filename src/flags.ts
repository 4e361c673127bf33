// mpsgpu's flags, set through tf.env() like every tfjs flag.
import {env} from '@tensorflow/tfjs-core';

const ENV = env();

/** Flush after every recorded node: eager dispatch, for debugging and for comparing the modes. */
ENV.registerFlag('MPSGPU_EAGER', () => false);

/** Flush when this many nodes are pending. */
ENV.registerFlag('MPSGPU_FLUSH_THRESHOLD', () => 1024);

/** At most this many submissions in flight before recording waits (2: double buffering). */
ENV.registerFlag('MPSGPU_MAX_IN_FLIGHT', () => 2);

/** Keep at most this many bytes of free buffers in the pool after each flush (-1: no trimming). */
ENV.registerFlag('MPSGPU_POOL_FREE_BYTES', () => -1);

export const flags = {
  get eager(): boolean { return ENV.getBool('MPSGPU_EAGER'); },
  get flushThreshold(): number { return ENV.getNumber('MPSGPU_FLUSH_THRESHOLD'); },
  get maxInFlight(): number { return ENV.getNumber('MPSGPU_MAX_IN_FLIGHT'); },
  get poolFreeBytes(): number { return ENV.getNumber('MPSGPU_POOL_FREE_BYTES'); },
};
