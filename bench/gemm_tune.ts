// Tile sweep for the GEMM engine (src/codegen/gemm.ts): times matmul 2048² and the three DESIGN.md
// reference convolutions under each forced tile / split-K count, so the shape heuristics in
// chooseTile / chooseSplits are measured, not guessed. Run on the GPU (../shared/GPU.md):
//   node scripts/bundle.mjs bench/gemm_tune.ts .gpu/app/gemm_tune.mjs; bash .gpu/boot.sh node .gpu/app/gemm_tune.mjs
import * as tf from '@tensorflow/tfjs-core';

import {GemmTile, gemmTuning} from '../src/codegen/gemm.js';
import {mpsgpu} from '../src/node.js';

const TILES: Array<GemmTile|null> = process.argv.includes('--all-tiles') ? [
  null,
  {bm: 128, bn: 128, bk: 16, tm: 8, tn: 8},
  {bm: 128, bn: 128, bk: 8, tm: 8, tn: 8},
  {bm: 128, bn: 64, bk: 16, tm: 8, tn: 8},
  {bm: 64, bn: 128, bk: 16, tm: 8, tn: 8},
  {bm: 64, bn: 64, bk: 16, tm: 8, tn: 8},
  {bm: 64, bn: 64, bk: 16, tm: 4, tn: 4},
  {bm: 128, bn: 64, bk: 32, tm: 8, tn: 8},
  {bm: 64, bn: 64, bk: 32, tm: 8, tn: 8},
] : [
  null,
  {bm: 128, bn: 128, bk: 16, tm: 8, tn: 8},
  {bm: 64, bn: 128, bk: 16, tm: 8, tn: 8},
  {bm: 128, bn: 64, bk: 16, tm: 8, tn: 8},
  {bm: 64, bn: 64, bk: 16, tm: 8, tn: 8},
  {bm: 64, bn: 64, bk: 16, tm: 4, tn: 4},
];

async function time(f: () => tf.Tensor, reps = 7): Promise<number> {
  // Warm-up results stay alive until the sync (mpsgpu skips work whose results die unread).
  const warm = [tf.tidy(f), tf.tidy(f)];
  await mpsgpu.sync();
  warm.forEach(t => t.dispose());
  // ~100 ms of work so the GPU's clocks are up before timing.
  const rampStart = performance.now();
  while (performance.now() - rampStart < 100) {
    const ramp = tf.tidy(f);
    await mpsgpu.sync();
    ramp.dispose();
  }
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const outs: tf.Tensor[] = [];
    for (let i = 0; i < 20; i++) outs.push(tf.tidy(f));
    await mpsgpu.sync();
    times.push((performance.now() - t0) / 20);
    outs.forEach(o => o.dispose());
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function main() {
  await tf.setBackend('mpsgpu');
  const filter = process.argv.slice(2).find(a => !a.startsWith('--')) ?? '';
  const a = tf.randomUniform([2048, 2048]), b = tf.randomUniform([2048, 2048]);
  const x = tf.randomUniform([32, 56, 56, 64]) as tf.Tensor4D, w = tf.randomUniform([3, 3, 64, 64]) as tf.Tensor4D;
  const dy = tf.randomUniform([32, 56, 56, 64]) as tf.Tensor4D;
  const convFlops = 2 * 32 * 56 * 56 * 64 * 64 * 9;
  const cases: Array<[string, number, () => tf.Tensor, number[]]> = [
    ['matmul 2048', 2 * 2048 ** 3, () => tf.matMul(a, b), [0]],
    ['conv ref fwd', convFlops, () => tf.conv2d(x, w, 1, 'same'), [0]],
    ['conv ref dx', convFlops, () => tf.conv2dTranspose(dy, w, [32, 56, 56, 64], 1, 'same'), [0]],
    ['conv ref dw', convFlops, () => tf.engine().runKernel('Conv2DBackpropFilter', {x, dy},
      {strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 64, 64]}) as tf.Tensor,
     [0, 32, 64, 128]],
  ];
  console.log('case\ttile\tsplits\tms\tTFLOP/s');
  if (process.argv.includes('--tensor-cores')) {
    // MPSGPU_MATMUL_TENSOR_CORES against the f32 engine, same inputs (needs the Dawn toggles).
    const big = [tf.randomUniform([4096, 4096]), tf.randomUniform([4096, 4096])];
    for (const on of [false, true]) {
      tf.env().set('MPSGPU_MATMUL_TENSOR_CORES', on);
      for (const [name, x, y] of [['matmul 2048', a, b], ['matmul 4096', big[0], big[1]]] as Array<[string, tf.Tensor, tf.Tensor]>) {
        const ms = await time(() => tf.matMul(x, y));
        const n = x.shape[0];
        console.log(`${name}\t${on ? 'tensor cores (f16 in, f32 acc)' : 'f32 engine'}\t-\t${ms.toFixed(3)}\t${(2 * n ** 3 / ms / 1e9).toFixed(1)}`);
      }
    }
    tf.env().set('MPSGPU_MATMUL_TENSOR_CORES', false);
    return;
  }
  for (const [name, flops, f, splitList] of cases) {
    if (filter && !name.includes(filter)) continue;
    for (const tile of TILES) {
      for (const splits of splitList) {
        gemmTuning.tile = tile;
        gemmTuning.splits = splits;
        try {
          const ms = await time(f);
          const t = tile ? `${tile.bm}x${tile.bn}x${tile.bk}/${tile.tm}x${tile.tn}` : 'auto';
          console.log(`${name}\t${t}\t${splits || 'auto'}\t${ms.toFixed(3)}\t${(flops / ms / 1e9).toFixed(1)}`);
        } catch (e) {
          console.log(`${name}\t${JSON.stringify(tile)}\t${splits}\tERROR ${(e as Error).message.slice(0, 200)}`);
        }
      }
    }
  }
  gemmTuning.tile = null;
  gemmTuning.splits = 0;
  // Half-precision convolutions (MPSGPU_CONV_F16), where the adapter has shader-f16.
  const f16 = mpsgpu.device().features.has('shader-f16');
  console.log(`shader-f16: ${f16}`);
  if (f16) {
    for (const half of [false, true]) {
      tf.env().set('MPSGPU_CONV_F16', half);
      for (const [name, flops, f] of cases.slice(1, 3)) {
        console.log(`${name}\t${half ? 'f16' : 'f32'}\tauto\t${(await time(f)).toFixed(3)}\t${(flops / (await time(f)) / 1e9).toFixed(1)}`);
      }
    }
    tf.env().set('MPSGPU_CONV_F16', false);
  }
  console.log('stats', JSON.stringify(mpsgpu.stats()));
}
main();
