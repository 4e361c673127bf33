// Generated motion recordings for the activity classifier (demos/activity): a phone-like sensor at
// 50 Hz, 2,000 samples (40 s) of 6 channels: accelerometer x, y, z (in g, gravity included) and
// gyroscope x, y, z (rad/s). Each activity has its own pattern (cadence, amplitudes, axis mix,
// harmonics, impacts, tilt); each recording draws its cadence, amplitudes, phases, tilt and noise
// at random, so no two recordings of a class are alike and a model has to learn the pattern. The
// generator is seeded: the same seed gives the same recordings (the test set uses another seed).

export const SAMPLES = 2000;
export const CHANNELS = 6;
export const SAMPLE_RATE_HZ = 50;

export const ACTIVITIES = ['walking', 'running', 'cycling', 'stairs up', 'stairs down', 'sitting'] as const;
export const CLASSES = ACTIVITIES.length;

export interface Recordings {
  /** [count, SAMPLES, CHANNELS], row-major (channels last, as tf.layers.conv1d reads it). */
  x: Float32Array;
  /** [count, CLASSES], one-hot. */
  y: Float32Array;
  labels: Int32Array;
  count: number;
}

/** mulberry32: a small seeded generator, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** One periodic component: amplitude × sin(harmonic · 2πf t + phase) on one channel. */
interface Wave {channel: number; amplitude: number; harmonic: number}

/**
 * Impacts: a short sharp pulse once per stride (heel strikes, a foot landing on a stair), as
 * amplitude · max(0, cos(2πf t + phase))^sharpness on one channel; sharper = shorter.
 */
interface Impact {channel: number; amplitude: number; sharpness: number}

interface Pattern {
  /** Stride or pedal cadence range, Hz. */
  cadence: [number, number];
  /** Mean device tilt: the gravity vector's direction (x, y, z; normalized at use). */
  gravity: [number, number, number];
  waves: Wave[];
  impacts: Impact[];
  /** Sudden posture changes per recording (steps in the gravity direction), mean count. */
  shifts: number;
  /** Gaussian sensor noise, standard deviation (accelerometer, in g; gyroscope ×2). */
  noise: number;
}

const AX = 0, AY = 1, AZ = 2, GX = 3, GY = 4, GZ = 5;

const PATTERNS: Record<(typeof ACTIVITIES)[number], Pattern> = {
  'walking': {
    cadence: [1.6, 2.1], gravity: [0, 0.2, 1], shifts: 0, noise: 0.06,
    waves: [
      {channel: AZ, amplitude: 0.30, harmonic: 1}, {channel: AZ, amplitude: 0.10, harmonic: 2},
      {channel: AX, amplitude: 0.12, harmonic: 0.5}, {channel: AY, amplitude: 0.15, harmonic: 1},
      {channel: GX, amplitude: 0.45, harmonic: 0.5}, {channel: GY, amplitude: 0.25, harmonic: 1},
      {channel: GZ, amplitude: 0.20, harmonic: 0.5},
    ],
    impacts: [{channel: AZ, amplitude: 0.25, sharpness: 6}],
  },
  'running': {
    cadence: [2.5, 3.2], gravity: [0.2, 0.3, 1], shifts: 0, noise: 0.10,
    waves: [
      {channel: AZ, amplitude: 0.80, harmonic: 1}, {channel: AZ, amplitude: 0.35, harmonic: 2},
      {channel: AX, amplitude: 0.35, harmonic: 0.5}, {channel: AY, amplitude: 0.45, harmonic: 1},
      {channel: AY, amplitude: 0.15, harmonic: 3},
      {channel: GX, amplitude: 1.20, harmonic: 0.5}, {channel: GY, amplitude: 0.70, harmonic: 1},
      {channel: GZ, amplitude: 0.50, harmonic: 0.5},
    ],
    impacts: [{channel: AZ, amplitude: 1.2, sharpness: 16}],
  },
  'cycling': {
    cadence: [0.9, 1.4], gravity: [0.6, 0.1, 0.8], shifts: 0, noise: 0.05,
    waves: [
      {channel: AX, amplitude: 0.12, harmonic: 1}, {channel: AY, amplitude: 0.10, harmonic: 1},
      {channel: AZ, amplitude: 0.06, harmonic: 2},
      {channel: GY, amplitude: 1.10, harmonic: 1}, {channel: GX, amplitude: 0.25, harmonic: 1},
      {channel: GZ, amplitude: 0.10, harmonic: 2},
    ],
    impacts: [],
  },
  'stairs up': {
    cadence: [1.2, 1.6], gravity: [-0.4, 0.2, 1], shifts: 0, noise: 0.06,
    waves: [
      {channel: AZ, amplitude: 0.20, harmonic: 1}, {channel: AX, amplitude: 0.20, harmonic: 1},
      {channel: AY, amplitude: 0.10, harmonic: 0.5},
      {channel: GX, amplitude: 0.40, harmonic: 0.5}, {channel: GY, amplitude: 0.45, harmonic: 1},
    ],
    impacts: [{channel: AZ, amplitude: 0.45, sharpness: 4}, {channel: AX, amplitude: -0.25, sharpness: 4}],
  },
  'stairs down': {
    cadence: [1.4, 1.9], gravity: [0.45, 0.2, 1], shifts: 0, noise: 0.07,
    waves: [
      {channel: AZ, amplitude: 0.15, harmonic: 1}, {channel: AX, amplitude: 0.15, harmonic: 1},
      {channel: AY, amplitude: 0.12, harmonic: 0.5},
      {channel: GX, amplitude: 0.50, harmonic: 0.5}, {channel: GY, amplitude: 0.35, harmonic: 1},
    ],
    impacts: [{channel: AZ, amplitude: 0.90, sharpness: 12}, {channel: AX, amplitude: 0.30, sharpness: 12}],
  },
  'sitting': {
    cadence: [0.1, 0.3], gravity: [0.3, 0.5, 0.8], shifts: 2, noise: 0.03,
    waves: [{channel: AX, amplitude: 0.02, harmonic: 1}, {channel: GZ, amplitude: 0.03, harmonic: 1}],
    impacts: [],
  },
};

/**
 * `count` recordings with classes drawn uniformly at random. Per recording: cadence uniform in the
 * activity's range, each wave's and impact's amplitude scaled by U(0.7, 1.3) and its phase random,
 * the gravity direction tilted by up to ±0.1 per axis, a slow drift, noise N(0, σ), and (sitting)
 * Poisson-many sudden posture shifts. Deterministic in `seed`.
 */
export function generateRecordings(count: number, seed: number): Recordings {
  const random = seededRandom(seed);
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * random();
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

  const x = new Float32Array(count * SAMPLES * CHANNELS);
  const y = new Float32Array(count * CLASSES);
  const labels = new Int32Array(count);
  const signal = new Float64Array(SAMPLES * CHANNELS);
  for (let r = 0; r < count; ++r) {
    const label = Math.floor(random() * CLASSES);
    labels[r] = label;
    y[r * CLASSES + label] = 1;
    const p = PATTERNS[ACTIVITIES[label]];
    const omega = 2 * Math.PI * uniform(...p.cadence) / SAMPLE_RATE_HZ;  // radians per sample
    signal.fill(0);

    // Gravity on the accelerometer, with a tilt of this recording and sudden posture shifts.
    let g = p.gravity.map(v => v + uniform(-0.1, 0.1));
    const shiftAt = new Set<number>();
    for (let s = 0; s < p.shifts * 2; ++s) if (random() < 0.5) shiftAt.add(Math.floor(random() * SAMPLES));
    const drift = [uniform(-0.05, 0.05), uniform(-0.05, 0.05), uniform(-0.05, 0.05)];
    for (let t = 0; t < SAMPLES; ++t) {
      if (shiftAt.has(t)) g = g.map(v => v + uniform(-0.25, 0.25));
      const norm = Math.hypot(g[0], g[1], g[2]) || 1;
      for (let c = 0; c < 3; ++c) signal[t * CHANNELS + c] = g[c] / norm + drift[c] * t / SAMPLES;
    }
    for (const w of p.waves) {
      const amplitude = w.amplitude * uniform(0.7, 1.3);
      const phase = uniform(0, 2 * Math.PI);
      for (let t = 0; t < SAMPLES; ++t) signal[t * CHANNELS + w.channel] += amplitude * Math.sin(w.harmonic * omega * t + phase);
    }
    for (const imp of p.impacts) {
      const amplitude = imp.amplitude * uniform(0.7, 1.3);
      const phase = uniform(0, 2 * Math.PI);
      for (let t = 0; t < SAMPLES; ++t) {
        signal[t * CHANNELS + imp.channel] += amplitude * Math.max(0, Math.cos(omega * t + phase)) ** imp.sharpness;
      }
    }
    const base = r * SAMPLES * CHANNELS;
    for (let i = 0; i < SAMPLES * CHANNELS; ++i) {
      const sigma = (i % CHANNELS) < 3 ? p.noise : 2 * p.noise;
      x[base + i] = signal[i] + sigma * gaussian();
    }
  }
  return {x, y, labels, count};
}
