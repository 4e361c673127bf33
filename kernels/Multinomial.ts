// Multinomial: numSamples draws per row of logits (softmax-ed unless `normalized`), each by
// walking the row's CDF with a uniform number from a counter-based hash of (seed, row, sample), so
// a seed always gives the same samples. (tfjs-backend-cpu's seedrandom stream cannot be matched on
// a GPU; the distribution is the same.)
import {KernelConfig, Multinomial, MultinomialAttrs, TensorInfo} from '@tensorflow/tfjs-core';

import {mpsgpuBackend} from '../src/kernel_util.js';

import {check, perElementProgram} from './array_common.js';

/** Two 32-bit words of the seed's float64 bits (any number, integral or not). */
function seedWords(seed: number): [number, number] {
  const words = new Uint32Array(new Float64Array([seed]).buffer);
  return [words[0], words[1]];
}

const PCG = `
fn pcgHash(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}`;

export const multinomialConfig: KernelConfig = {
  kernelName: Multinomial,
  backendName: 'mpsgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = mpsgpuBackend(backend);
    const {logits} = inputs as {logits: TensorInfo};
    const {numSamples, seed, normalized} = attrs as unknown as MultinomialAttrs;
    check(logits.shape.length === 2 && logits.dtype === 'float32',
          () => `Multinomial: input 'logits' must be a float32 [batch, numOutcomes] matrix, got dtype ${logits.dtype} and shape [${logits.shape}]`);
    check(Number.isInteger(numSamples) && numSamples >= 0, () => `Multinomial: numSamples must be a non-negative integer, got ${numSamples}`);
    const [batch, events] = logits.shape;
    check(events >= 1, () => `Multinomial: the logits (shape [${logits.shape}]) need at least one outcome`);
    const outShape = [batch, numSamples];
    if (batch * numSamples === 0) return b.makeTensorInfo(outShape, 'int32');
    const [s0, s1] = seedWords(seed);
    const prob = (e: string) => (normalized ? `logits[row + ${e}]` : `exp(logits[row + ${e}] - m) / total`);
    const body = `
  let r0 = i / u.samples;
  let sample = i - r0 * u.samples;
  let row = r0 * u.events;
  var m = logits[row];
  var total = 0.0;
  ${normalized ? '' : `for (var e = 1u; e < u.events; e = e + 1u) { m = max(m, logits[row + e]); }
  for (var e = 0u; e < u.events; e = e + 1u) { total = total + exp(logits[row + e] - m); }`}
  let h = pcgHash(pcgHash(pcgHash(u.seed0 ^ pcgHash(u.seed1)) + r0) ^ pcgHash(sample + 0x9e3779b9u));
  let r = f32(h >> 8u) * 5.9604644775390625e-8;
  var cdf = 0.0;
  var pick = u.events - 1u;
  for (var e = 0u; e + 1u < u.events; e = e + 1u) {
    cdf = cdf + ${prob('e')};
    if (r < cdf) { pick = e; break; }
  }
  out[i] = i32(pick);`;
    const program = perElementProgram(Multinomial, `multinomial|${!!normalized}`, batch * numSamples, [{name: 'logits', type: 'f32'}],
                                      'i32', body, [{name: 'samples', type: 'u32', value: numSamples},
                                                    {name: 'events', type: 'u32', value: events},
                                                    {name: 'seed0', type: 'u32', value: s0}, {name: 'seed1', type: 'u32', value: s1}], PCG);
    return b.runProgram(program, [logits], outShape, 'int32');
  },
};
