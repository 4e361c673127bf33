// Training parity of the small InceptionV3 (75 × 75 input): the same model, initial weights and
// batches trained the same steps with Adam on tfjs-backend-cpu and on mpsgpu. Exits 1 unless
// - every step's loss agrees within LOSS_TOL (relative-or-absolute, |a − e| ≤ tol · max(1, |e|));
// - every final weight (moving batch-norm statistics included) within 2 · lr · steps, absolute:
//   Adam moves a weight by about lr · m / √v per step whatever the gradient's size, so a gradient
//   near zero whose sign float32 rounding flips moves it by up to 2 · lr the other way (seen
//   after one step: a batch-norm gamma 2.0e-3 apart at lr 1e-3; everything else closer).
//
//   npm run parity:inception -- [--steps 20] [--batch-size 8] [--classes 5] [--lr 0.001] [--backends cpu,mpsgpu]
//                                [--criterion absolute|perturbed]
//
// --criterion perturbed trains the reference a second time with every image scaled by 1 + 1e-6
// and passes if the candidate is at most twice as far from the reference as that run (see
// perturbedCriterion): this model is ill-conditioned at this size, and the absolute tolerances
// above fail on rounding alone.
//
// The batch is 8 by default: the last blocks are 1 × 1 pixels at this input size, so with 2
// images each batch normalization divides by the spread of 2 values, and float32 rounding grows
// into visible differences within one forward pass (loss 1.7402 on cpu, 1.7258 on mpsgpu at the
// first step); with 8 the first losses agreed within 6.1e-5.
//
// Status (lavapipe, 2026-11-27): the first step passes; the second step's loss was 1.9767 on cpu
// and 2.3143 on mpsgpu. After one step 86,009 of the 23 M weights had moved the other way, in 206
// tensors, at most 4% of any one (2 of 48): the scatter of near-zero gradients whose sign rounding
// flipped, not one wrong gradient (which would flip about half of its tensor). This model at this
// size amplifies those ±lr moves; a tolerance that holds needs a better-conditioned setting.
// With --criterion perturbed (same machine, 2026-11-27, `-- --steps 2 --batch-size 2 --criterion
// perturbed`): weights passed (median per-tensor difference 3.94e-3 against the perturbed run's
// 3.80e-3), losses failed (1.12e-1 against 1.65e-2; the first step's forward already differs at
// batch 2, see above). `-- --steps 5 --criterion perturbed` (batch 8): PASS, losses 1.61× and
// weights 1.01× the perturbed run's differences (cpu 1.7039 1.9767 2.6611 2.5544 2.1724; mpsgpu
// 1.7040 2.3143 2.1568 3.3635 3.1595; cpu on perturbed images 1.7040 2.1975 2.0519 2.4859 2.9172).
// The full run, `npm run parity:inception -- --criterion perturbed` (20 steps, batch 8; a7dc934,
// 2026-11-27, lavapipe on a loaded 2-core machine: cpu 2,577 s, mpsgpu 240 s, cpu on perturbed
// images 4,630 s): PASS, mean |loss difference| 0.664 against the perturbed run's 0.880 (0.76×),
// median per-tensor max |weight difference| 2.17e-2 against 2.16e-2 (1.00×).
// Not part of `npm test`: tfjs-backend-cpu takes 40 s (batch 2) to 130 s (batch 8) per step of
// this model on a 2-core machine.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';

import {mpsgpu} from '../../src/node.js';

import {inceptionV3, syntheticBatch} from './model.js';

const LOSS_TOL = 1e-3;

/** Adam's learning rate (--lr). */
let LR = 0.001;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

interface Trained {losses: number[]; weights: Float32Array[]; names: string[]}

/** The relative change of the input images in the `cpu:perturbed` run. */
const PERTURBATION = 1e-6;

async function train(name: string, steps: number, batchSize: number, classes: number): Promise<Trained> {
  // mpsgpu:nofusion: mpsgpu with MPSGPU_FUSION off (a check of how far rounding alone moves a run).
  // cpu:perturbed: the reference with every image scaled by 1 + PERTURBATION.
  const [backend, variant] = name.split(':');
  await tf.setBackend(backend);
  if (backend === 'mpsgpu') tf.env().set('MPSGPU_FUSION', variant !== 'nofusion');
  // Seeded initializers and data: the same values on every backend (tfjs draws them in JavaScript).
  const model = inceptionV3({imageSize: 75, classes, seed: 1});
  model.compile({optimizer: tf.train.adam(LR), loss: 'categoricalCrossentropy'});
  const losses: number[] = [];
  const t0 = performance.now();
  for (let step = 0; step < steps; ++step) {
    const batch = syntheticBatch(batchSize, 75, classes, 10 + step);
    const xs = variant === 'perturbed' ? tf.tidy(() => batch.xs.mul(1 + PERTURBATION)) : batch.xs;
    losses.push(await model.trainOnBatch(xs, batch.ys) as number);
    tf.dispose([xs, batch.xs, batch.ys]);
  }
  console.log(`${name}: ${steps} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s, losses ${losses.map(l => l.toFixed(4)).join(' ')}`);
  const weights = await Promise.all(model.weights.map(async w => Float32Array.from(await w.read().data() as Float32Array)));
  const names = model.weights.map(w => w.name);
  model.dispose();
  return {losses, weights, names};
}

/** The largest |a − e| over two arrays. */
function maxAbs(a: ArrayLike<number>, e: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < e.length; ++i) m = Math.max(m, Math.abs(a[i] - e[i]));
  return m;
}

/** The largest |a − e| / max(1, |e|) over two arrays. */
function worst(a: ArrayLike<number>, e: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < e.length; ++i) m = Math.max(m, Math.abs(a[i] - e[i]) / Math.max(1, Math.abs(e[i])));
  return m;
}

/** The median over tensors of each tensor's largest |a − e|. */
function medianWeightDiff(a: Float32Array[], e: Float32Array[]): number {
  const d = e.map((w, k) => maxAbs(a[k], w)).sort((x, y) => x - y);
  return d[Math.floor(d.length / 2)];
}

/**
 * --criterion perturbed: this model's gradients are not a smooth function of its input (batch
 * norm centres pre-activations at 0, so rounding flips relu masks; a relative 1e-6 change of the
 * input moved step-1 gradients by 3% in median), so the tolerance is what the reference itself
 * does under a 1e-6 perturbation: the candidate's mean loss difference over the steps and its
 * median per-tensor weight difference may be at most twice the perturbed reference's.
 */
function perturbedCriterion(ref: Trained, cand: Trained, pert: Trained): boolean {
  const mean = (a: number[], e: number[]) => a.reduce((s, v, k) => s + Math.abs(v - e[k]), 0) / e.length;
  const lossCand = mean(cand.losses, ref.losses), lossPert = mean(pert.losses, ref.losses);
  const wCand = medianWeightDiff(cand.weights, ref.weights), wPert = medianWeightDiff(pert.weights, ref.weights);
  console.log(`mean |loss difference| over the steps: candidate ${lossCand.toExponential(2)}, perturbed reference ` +
              `${lossPert.toExponential(2)} (ratio ${(lossCand / lossPert).toFixed(2)}, allowed 2)`);
  console.log(`median per-tensor max |weight difference|: candidate ${wCand.toExponential(2)}, perturbed reference ` +
              `${wPert.toExponential(2)} (ratio ${(wCand / wPert).toFixed(2)}, allowed 2)`);
  return lossCand <= 2 * lossPert && wCand <= 2 * wPert && cand.losses.every(Number.isFinite);
}

async function main() {
  const steps = arg('steps', 20), batchSize = arg('batch-size', 8), classes = arg('classes', 5);
  LR = arg('lr', LR);
  const i = process.argv.indexOf('--backends');
  const [reference, candidate] = i >= 0 ? process.argv[i + 1].split(',') : ['cpu', 'mpsgpu'];
  const c = process.argv.indexOf('--criterion');
  const criterion = c >= 0 ? process.argv[c + 1] : 'absolute';
  const cpu = await train(reference, steps, batchSize, classes);
  const gpu = await train(candidate, steps, batchSize, classes);
  if (criterion === 'perturbed') {
    const pert = await train(`${reference.split(':')[0]}:perturbed`, steps, batchSize, classes);
    const ok = perturbedCriterion(cpu, gpu, pert);
    console.log(ok ? 'PASS' : 'FAIL');
    process.exit(ok ? 0 : 1);
  }
  const info = mpsgpu.device().adapterInfo;
  console.log(`adapter: ${`${info.vendor} ${info.architecture} ${info.device} ${info.description}`.trim()}`);
  const lossErr = worst(gpu.losses, cpu.losses);
  let weightErr = 0, worstName = '';
  cpu.weights.forEach((w, i) => {
    const e = maxAbs(gpu.weights[i], w);
    if (e > weightErr) [weightErr, worstName] = [e, cpu.names[i]];
  });
  // Weights whose update went the other way (a gradient near zero whose sign flipped, or a wrong
  // gradient): the tensors with the most elements more than lr / 2 apart.
  const flipped = cpu.weights.map((w, k) => {
    let n = 0;
    for (let j = 0; j < w.length; ++j) if (Math.abs(gpu.weights[k][j] - w[j]) > LR / 2) n++;
    return {name: cpu.names[k], n, size: w.length};
  }).filter(f => f.n > 0).sort((a, b) => b.n / b.size - a.n / a.size);
  console.log(`weights more than lr/2 apart: ${flipped.reduce((n, f) => n + f.n, 0)} in ${flipped.length} tensors; most: ` +
              flipped.slice(0, 5).map(f => `${f.name} ${f.n}/${f.size}`).join(', '));
  const weightTol = 2 * LR * steps * (1 + 1e-3);
  console.log(`losses: worst relative difference ${lossErr.toExponential(2)} over ${steps} steps (tolerance ${LOSS_TOL})`);
  console.log(`weights: worst absolute difference ${weightErr.toExponential(2)} (${worstName}) over ${cpu.weights.length} tensors ` +
              `(tolerance 2 · lr · steps = ${weightTol})`);
  const ok = lossErr <= LOSS_TOL && weightErr <= weightTol && gpu.losses.every(Number.isFinite);
  console.log(ok ? 'PASS' : 'FAIL');
  process.exit(ok ? 0 : 1);
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
