// Per-kernel timings: each kernel on mpsgpu and on tfjs-backend-webgpu in one process, on the same
// adapter, same shapes and inputs. Prints a table of median times (ms per execution), the ratio
// webgpu ÷ mpsgpu (> 1: mpsgpu faster) and mpsgpu's rate (TFLOP/s, or GB/s for memory-bound
// kernels), and writes JSON (--json FILE, rewritten after every case so a cut-off run keeps what
// it measured). --list FILE writes the case list (kernel, shapes, strides, pads, dilations,
// transposes, FLOPs/bytes) as JSON without running anything: bench/torch_kernels.py times the same
// cases with PyTorch/cuDNN, bench/merge_kernels.mjs joins the two (scripts/gpu-prepare.sh packs all
// three for the GPU machine).
//
//   npm run bench:kernels -- [--backends mpsgpu,webgpu] [--filter REGEXP] [--reps N] [--inner K]
//                            [--budget S] [--min-reps M] [--interleave auto|on|off] [--quick] [--json out.json]
//                            [--list cases.json] [--flags MPSGPU_FLAG=VALUE,…]
//   (defaults: 10 reps × K = 5 executions, at most about S = 2 s of timed work per kernel and
//    backend, at least M = 3 reps, K grown until a rep lasts ~50 ms; --quick: 21 reps × K = 1, K
//    grown to ~25 ms: more, shorter rounds, so that a round's two reps see nearly the same load on
//    a busy lavapipe machine and the median of the rounds' ratios is steadier (with 9 rounds, a
//    case of a 1.2-1.9 ratio fell to 0.75 in one run of five; single rounds range 0.5-2.3). For a
//    close case, e.g. --reps 41 --min-reps 41: 41 rounds whatever the budget)
//
// --filter is a case-insensitive regular expression matched against "group kernel name"
// (groups: ref, mnist, fitnet, inception, odd, stride, dilation, batch1, depthwise, matmul, misc).
//
// Shapes (full size): the reference shapes of ../shared/DESIGN.md (conv2d 3×3 same on 32×56×56×64 →
// 64 and its two backprops, maxPool 3×3/2, matmul 2048²); the MNIST demo's network
// (demos/mnist/train.ts: 5×5 convs 1→8→16, batch 16) and bench/fit.ts's (3×3 convs 1→32→64, batch
// 256); InceptionV3 convolutions at batch 64 (299² input), forward and both backprops; odd sizes,
// explicit pads, stride 2, dilation 2, batch 1; depthwise and both its backprops; pooling and its
// gradients, MaxPoolWithArgmax; BatchMatMul with transposes and a broadcast batch, small-M and
// long-K (split-K) shapes, _FusedMatMul, FusedConv2D; batchNorm, a per-channel reduction over N·H·W,
// moments, softmax, a broadcast add. --quick scales them down (batch 1–16, smaller spatial sizes)
// for lavapipe. A backend that has no kernel registered for a case shows '—'.
//
// Timing method. Both backends are asynchronous (mpsgpu even records lazily and computes at a
// flush), so timing one call measures only the recording. Per kernel, each backend gets its own
// inputs (created once), 2 warm-up executions that compile the pipelines, ~100 ms of executions to
// raise the clocks, and one more execution timed alone to size its K; then the backends' reps are
// **interleaved**: round i runs one rep on each backend (mpsgpu then webgpu in even rounds, webgpu
// then mpsgpu in odd ones), so that load from other processes on the machine (lavapipe runs
// shaders on the same CPU cores) hits both alike instead of one backend's whole block. That is on
// CPU adapters (--interleave auto, the default); on a GPU, each backend runs its reps in a block of
// its own, with its own K, and the ratio is that of the medians (see main for why). Each rep is
//   sync; t0; K back-to-back executions (each in tf.tidy, every result kept alive); sync; t1
// and gives (t1 - t0) / K ms. The table's times are each backend's median over its reps; its
// ratio webgpu ÷ mpsgpu (and the JSON's `ratio`) is the **median of the per-round ratios**
// (webgpu's rep ÷ mpsgpu's rep of the same round), with their quartiles in `ratioQuartiles` and
// on stderr: a round's two reps see nearly the same load, so this ratio drifts far less than the
// ratio of two medians taken minutes apart (`results.webgpu / results.mpsgpu`). K grows per backend until a rep lasts ~50 ms (--quick: ~25 ms); where
// N × K executions would take longer than the budget, K and then N shrink (N to no less than
// --min-reps, 3 by default); interleaved, all backends of a case run the same K (the largest any
// of them asked for) and N (trimmed to fit the slowest backend in the budget), so that their reps
// amortize the sync alike and pair up; the JSON records the reps, K and every rep's time (runs). "sync" submits all recorded
// work and waits for the GPU to finish it, without reading a tensor back (a readback would add a
// copy, a staging buffer and, on mpsgpu, nothing else the op needs):
//   mpsgpu: `await mpsgpu.sync()` (flush + wait for the queue);
//   webgpu: end its compute pass and submit its command encoder as its own read() does, then
//           `await backend.queue.onSubmittedWorkDone()`.
// The K results stay alive until after the sync because mpsgpu skips nodes whose results die
// unread (a disposed result would not be computed at all); they are disposed afterwards. The
// time therefore includes each backend's CPU-side dispatch/recording cost, as a user sees it.
// tf.memory().numTensors is checked to be the same before and after each kernel. After each
// kernel both backends' pools of free buffers are emptied, so that the full-size run (GBs per
// case) does not pile up every size it met.
//
// FLOPs: 2·N·Ho·Wo·Co·kh·kw·Ci for a conv and for both its backprops (padding included, dilation
// not), 2·N·Ho·Wo·C·mult·kh·kw for depthwise, 2·batch·M·N·K for matmuls. Bytes (memory-bound
// kernels): 4 × (elements read + elements written), each tensor counted once.
//
// Only ratios mean something on lavapipe (a CPU driver); absolute times only on a real GPU.
import './webgpu_node_setup.js';

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgpu';
import fs from 'fs';

import {isCpuAdapter} from '../src/device.js';
import {mpsgpu} from '../src/node.js';

interface Options {
  backends: string[];
  filter: string;
  reps: number;
  inner: number;
  /** --inner given: K as given (no growing to amortize the sync). */
  innerFixed: boolean;
  budget: number;
  /** --min-reps N: the budget never trims the reps below N (default 3). */
  minReps: number;
  /** --interleave: alternate the backends' reps (on), time each in its own block (off), or auto. */
  interleave: 'auto'|'on'|'off';
  /** The length K grows a rep to (ms): 50, --quick 25. */
  repMs: number;
  quick: boolean;
  json: string;
  list: string;
  /** --flags NAME=VALUE,…: tf.env() flags set before the run (mpsgpu's, for comparisons). */
  flags: Record<string, number|boolean>;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = {backends: ['mpsgpu', 'webgpu'], filter: '', reps: 0, inner: 0, innerFixed: false, budget: 2, minReps: 3, interleave: 'auto', repMs: 50, quick: false, json: '', list: '', flags: {}};
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    const need = () => {
      if (value === undefined) throw new Error(`${argv[i]} needs a value`);
      i++;
      return value;
    };
    switch (argv[i]) {
      case '--backends': opts.backends = need().split(','); break;
      case '--filter': opts.filter = need(); break;
      case '--reps': opts.reps = Number(need()); break;
      case '--inner': opts.inner = Number(need()); opts.innerFixed = true; break;
      case '--budget': opts.budget = Number(need()); break;
      case '--min-reps': opts.minReps = Number(need()); break;
      case '--interleave': {
        const v = need();
        if (v !== 'auto' && v !== 'on' && v !== 'off') throw new Error(`--interleave takes auto, on or off, not ${v}`);
        opts.interleave = v;
        break;
      }
      case '--quick': opts.quick = true; break;
      case '--json': opts.json = need(); break;
      case '--list': opts.list = need(); break;
      case '--flags':
        for (const kv of need().split(',')) {
          const [k, v] = kv.split('=');
          opts.flags[k] = v === 'true' ? true : v === 'false' ? false : Number(v);
        }
        break;
      default: throw new Error(`unknown option ${argv[i]}`);
    }
  }
  if (!opts.reps) opts.reps = opts.quick ? 21 : 10;
  if (!opts.inner) opts.inner = opts.quick ? 1 : 5;
  opts.repMs = opts.quick ? 25 : 50;
  opts.reps = Math.max(opts.reps, opts.minReps);
  return opts;
}

type Shape = number[];
type Pair = [number, number];
type PadAttr = 'same' | 'valid' | number[][];
interface Pads {top: number; bottom: number; left: number; right: number}

// One benchmark case, as plain data: the tfjs kernel and attributes it runs, and the geometry
// bench/torch_kernels.py needs to run the same work (explicit pads, NHWC shapes, HWIO filters).
interface CaseSpec {
  name: string;             // unique
  group: string;
  kernel: string;           // a tfjs kernel name, or 'Moments' (tf.moments, a composite)
  shape: string;            // short human-readable shapes
  inputs: Record<string, Shape>;  // in the kernel's input names and order
  attrs: Record<string, unknown>; // as passed to runKernel
  outputs: Shape[];
  flops?: number;
  bytes?: number;
  positive?: string[];      // inputs drawn from [0.5, 1.5) (variances)
  conv?: {x: Shape; filter: Shape; y: Shape; strides: Pair; dilations: Pair; pad: PadAttr; pads: Pads; depthwise: boolean};
  pool?: {x: Shape; y: Shape; filterSize: Pair; strides: Pair; pad: PadAttr; pads: Pads};
  matmul?: {a: Shape; b: Shape; transposeA: boolean; transposeB: boolean; bias?: Shape; activation?: string};
  reduce?: {axes: number[]};
}

const fmt = (s: Shape) => s.join('×');
const size = (s: Shape) => s.reduce((a, b) => a * b, 1);
const bytesOf = (...shapes: Shape[]) => 4 * shapes.reduce((a, s) => a + size(s), 0);

type ConvOp = 'fwd' | 'bpi' | 'bpf' | 'fused';
interface ConvOpts {stride?: number; pad?: PadAttr; dil?: number; ops?: ConvOp[]}

const padText = (pad: PadAttr) => typeof pad === 'string' ? pad : `pad ${pad.slice(1, 3).map(p => p.join(',')).join(' ')}`;

// Conv2D (and FusedConv2D with bias + relu) and the two kernels tfjs-core's Conv2D gradient runs.
function conv(group: string, label: string, x: Shape, k: Pair, cout: number, o: ConvOpts = {}): CaseSpec[] {
  const stride = o.stride ?? 1, pad = o.pad ?? 'same', dil = o.dil ?? 1;
  const filter: Shape = [k[0], k[1], x[3], cout];
  const info = tf.backend_util.computeConv2DInfo(x as [number, number, number, number], filter as [number, number, number, number],
    stride, dil, pad as 'same');
  const y: Shape = info.outShape;
  const pads: Pads = {top: info.padInfo.top, bottom: info.padInfo.bottom, left: info.padInfo.left, right: info.padInfo.right};
  const strides: Pair = [stride, stride], dilations: Pair = [dil, dil];
  const geom = {x, filter, y, strides, dilations, pad, pads, depthwise: false};
  const flops = 2 * size(y) * k[0] * k[1] * x[3];
  const shape = `${fmt(x)} * ${k[0]}×${k[1]}×${x[3]}→${cout}${stride > 1 ? ' /' + stride : ''}${dil > 1 ? ' d' + dil : ''} ${padText(pad)}`;
  const base = {strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined};
  const out: CaseSpec[] = [];
  for (const op of o.ops ?? ['fwd', 'bpi', 'bpf']) {
    const common = {group, shape, flops, conv: geom};
    if (op === 'fwd') out.push({...common, name: `conv2d ${label}`, kernel: 'Conv2D', inputs: {x, filter}, attrs: {...base, dilations}, outputs: [y]});
    if (op === 'fused') {
      out.push({...common, name: `fusedConv2d+bias+relu ${label}`, kernel: 'FusedConv2D', inputs: {x, filter, bias: [cout]},
        attrs: {...base, dilations, activation: 'relu'}, outputs: [y]});
    }
    if (op === 'bpi') {
      out.push({...common, name: `conv2dBackpropInput ${label}`, kernel: 'Conv2DBackpropInput', inputs: {dy: y, filter},
        attrs: {...base, inputShape: x}, outputs: [x]});
    }
    if (op === 'bpf') {
      out.push({...common, name: `conv2dBackpropFilter ${label}`, kernel: 'Conv2DBackpropFilter', inputs: {x, dy: y},
        attrs: {...base, filterShape: filter}, outputs: [filter]});
    }
  }
  return out;
}

function depthwise(group: string, label: string, x: Shape, k: number, mult: number, o: ConvOpts = {}): CaseSpec[] {
  const stride = o.stride ?? 1, pad = o.pad ?? 'same', dil = o.dil ?? 1;
  const filter: Shape = [k, k, x[3], mult];
  const info = tf.backend_util.computeConv2DInfo(x as [number, number, number, number], filter as [number, number, number, number],
    stride, dil, pad as 'same', undefined, true);
  const y: Shape = info.outShape;
  const pads: Pads = {top: info.padInfo.top, bottom: info.padInfo.bottom, left: info.padInfo.left, right: info.padInfo.right};
  const strides: Pair = [stride, stride], dilations: Pair = [dil, dil];
  const common = {group, flops: 2 * size(y) * k * k, conv: {x, filter, y, strides, dilations, pad, pads, depthwise: true},
    shape: `${fmt(x)} * ${k}×${k}×${x[3]}×${mult}${stride > 1 ? ' /' + stride : ''}${dil > 1 ? ' d' + dil : ''} ${padText(pad)}`};
  const attrs = {strides, pad, dilations, dataFormat: 'NHWC', dimRoundingMode: undefined};
  const out: CaseSpec[] = [];
  for (const op of o.ops ?? ['fwd', 'bpi', 'bpf']) {
    if (op === 'fwd') out.push({...common, name: `depthwiseConv2d ${label}`, kernel: 'DepthwiseConv2dNative', inputs: {x, filter}, attrs, outputs: [y]});
    if (op === 'bpi') {
      out.push({...common, name: `depthwiseBackpropInput ${label}`, kernel: 'DepthwiseConv2dNativeBackpropInput', inputs: {dy: y, filter},
        attrs: {...attrs, inputShape: x}, outputs: [x]});
    }
    if (op === 'bpf') {
      out.push({...common, name: `depthwiseBackpropFilter ${label}`, kernel: 'DepthwiseConv2dNativeBackpropFilter', inputs: {x, dy: y},
        attrs: {...attrs, filterShape: filter}, outputs: [filter]});
    }
  }
  return out;
}

type PoolOp = 'max' | 'avg' | 'maxGrad' | 'avgGrad' | 'argmax';
function pool(group: string, label: string, x: Shape, k: number, stride: number, pad: PadAttr, ops: PoolOp[]): CaseSpec[] {
  const info = tf.backend_util.computePool2DInfo(x as [number, number, number, number], k, stride, 1, pad as 'same');
  const y: Shape = info.outShape;
  const pads: Pads = {top: info.padInfo.top, bottom: info.padInfo.bottom, left: info.padInfo.left, right: info.padInfo.right};
  const filterSize: Pair = [k, k], strides: Pair = [stride, stride];
  const attrs = {filterSize, strides, pad, dimRoundingMode: undefined};
  const common = {group, shape: `${fmt(x)} ${k}×${k} /${stride} ${padText(pad)}`, pool: {x, y, filterSize, strides, pad, pads}};
  const out: CaseSpec[] = [];
  for (const op of ops) {
    if (op === 'max') out.push({...common, name: `maxPool ${label}`, kernel: 'MaxPool', inputs: {x}, attrs, outputs: [y], bytes: bytesOf(x, y)});
    if (op === 'avg') out.push({...common, name: `avgPool ${label}`, kernel: 'AvgPool', inputs: {x}, attrs, outputs: [y], bytes: bytesOf(x, y)});
    if (op === 'maxGrad') {
      out.push({...common, name: `maxPoolGrad ${label}`, kernel: 'MaxPoolGrad', inputs: {dy: y, input: x, output: y}, attrs, outputs: [x],
        bytes: bytesOf(y, x, y, x)});
    }
    // AvgPoolGrad uses its `input` only for the shape.
    if (op === 'avgGrad') {
      out.push({...common, name: `avgPoolGrad ${label}`, kernel: 'AvgPoolGrad', inputs: {dy: y, input: x}, attrs, outputs: [x], bytes: bytesOf(y, x)});
    }
    if (op === 'argmax') {
      out.push({...common, name: `maxPoolWithArgmax ${label}`, kernel: 'MaxPoolWithArgmax', inputs: {x},
        attrs: {filterSize, strides, pad, includeBatchInIndex: false}, outputs: [y, y], bytes: bytesOf(x, y, y)});
    }
  }
  return out;
}

// BatchMatMul (or _FusedMatMul with bias + relu) of a [..., M, K] (or [..., K, M] transposed) and
// b [..., K, N] (or [..., N, K]); batch dims may broadcast.
function matmul(group: string, label: string, m: number, k: number, n: number,
                o: {batchA?: number[]; batchB?: number[]; tA?: boolean; tB?: boolean; fused?: boolean} = {}): CaseSpec {
  const tA = o.tA ?? false, tB = o.tB ?? false, batchA = o.batchA ?? [], batchB = o.batchB ?? [];
  const a = [...batchA, ...(tA ? [k, m] : [m, k])], b = [...batchB, ...(tB ? [n, k] : [k, n])];
  const batch = batchA.length || batchB.length ? [Math.max(batchA[0] ?? 1, batchB[0] ?? 1)] : [];
  const y = [...batch, m, n];
  const t = `${tA ? 'ᵀ' : ''}`, u = `${tB ? 'ᵀ' : ''}`;
  const shape = `${fmt(a)}${t} · ${fmt(b)}${u}`;
  const flops = 2 * size(batch) * m * n * k;
  const mm = {a, b, transposeA: tA, transposeB: tB};
  if (o.fused) {
    return {name: `fusedMatMul+bias+relu ${label}`, group, kernel: '_FusedMatMul', shape, inputs: {a, b, bias: [n]},
      attrs: {transposeA: tA, transposeB: tB, activation: 'relu'}, outputs: [y], flops, matmul: {...mm, bias: [n], activation: 'relu'}};
  }
  return {name: `matMul ${label}`, group, kernel: 'BatchMatMul', shape, inputs: {a, b}, attrs: {transposeA: tA, transposeB: tB},
    outputs: [y], flops, matmul: mm};
}

function misc(group: string, label: string, x: Shape): CaseSpec[] {
  const c = x[x.length - 1], ch: Shape = [c];
  const nhw = x.slice(0, -1).map((_, i) => i);
  return [{
    name: `batchNorm ${label}`, group, kernel: 'FusedBatchNorm', shape: `${fmt(x)}, per-channel`,
    inputs: {x, mean: ch, variance: ch, offset: ch, scale: ch}, attrs: {varianceEpsilon: 1e-3}, outputs: [x],
    positive: ['variance'], bytes: bytesOf(x, x, ch, ch, ch, ch),
  }, {
    name: `sum over N·H·W ${label}`, group, kernel: 'Sum', shape: `${fmt(x)} → ${c}`, inputs: {x}, attrs: {axis: nhw, keepDims: false},
    outputs: [ch], bytes: bytesOf(x, ch), reduce: {axes: nhw},
  }, {
    name: `moments over N·H·W ${label}`, group, kernel: 'Moments', shape: `${fmt(x)} → 2×${c}`, inputs: {x}, attrs: {axis: nhw},
    outputs: [ch, ch], bytes: bytesOf(x, ch, ch), reduce: {axes: nhw},
  }, {
    name: `add (broadcast) ${label}`, group, kernel: 'Add', shape: `${fmt(x)} + ${c}`, inputs: {a: x, b: ch}, attrs: {},
    outputs: [x], bytes: bytesOf(x, ch, x),
  }];
}

function reduceCase(group: string, label: string, kernel: 'Sum' | 'Mean', x: Shape, axes: number[]): CaseSpec {
  const y = x.filter((_, i) => !axes.includes(i));
  return {name: `${kernel.toLowerCase()} ${label}`, group, kernel, shape: `${fmt(x)} → ${fmt(y)}`, inputs: {x},
    attrs: {axis: axes, keepDims: false}, outputs: [y], bytes: bytesOf(x, y), reduce: {axes}};
}

function softmax(group: string, label: string, x: Shape): CaseSpec {
  // tf.softmax resolves dim -1 before runKernel; tfjs-backend-webgpu's kernel needs it resolved.
  return {name: `softmax ${label}`, group, kernel: 'Softmax', shape: fmt(x), inputs: {logits: x}, attrs: {dim: x.length - 1},
    outputs: [x], bytes: bytesOf(x, x)};
}

function buildCases(quick: boolean): CaseSpec[] {
  const q = <T>(full: T, small: T) => quick ? small : full;
  const all: ConvOp[] = ['fwd', 'bpi', 'bpf'];
  // Reference activation: 32×56×56×64 (DESIGN.md); quick: 2×28×28×64.
  const ref: Shape = q([32, 56, 56, 64], [2, 28, 28, 64]);
  const list: CaseSpec[] = [
    ...conv('ref', 'ref 3×3', ref, [3, 3], 64, {ops: ['fwd', 'bpi', 'bpf', 'fused']}),
    ...pool('ref', 'ref 3×3/2', ref, 3, 2, 'same', ['max', 'avg', 'maxGrad', 'avgGrad', 'argmax']),
    matmul('ref', 'ref 2048²', ...q<[number, number, number]>([2048, 2048, 2048], [256, 256, 256])),
    matmul('ref', 'ref 2048²', ...q<[number, number, number]>([2048, 2048, 2048], [256, 256, 256]), {fused: true}),

    // demos/mnist/train.ts: conv(8, 5×5, valid) → maxPool 2 → conv(16, 5×5) → maxPool 2 → dense 256→128 → 10; batch 16.
    ...conv('mnist', 'mnist conv1 5×5', [16, 28, 28, 1], [5, 5], 8, {pad: 'valid', ops: ['fwd', 'bpf']}),
    ...pool('mnist', 'mnist 2×2/2', [16, 24, 24, 8], 2, 2, 'valid', ['max', 'maxGrad']),
    ...conv('mnist', 'mnist conv2 5×5', [16, 12, 12, 8], [5, 5], 16, {pad: 'valid'}),
    // dense 256→128 forward, and its gradients dW = xᵀ·dy, dx = dy·Wᵀ.
    matmul('mnist', 'mnist dense', 16, 256, 128),
    matmul('mnist', 'mnist dense dW', 256, 16, 128, {tA: true}),
    matmul('mnist', 'mnist dense dx', 16, 128, 256, {tB: true}),
    // bench/fit.ts's MNIST-style CNN: conv(32, 3×3, valid) → maxPool 2 → conv(64, 3×3); batch 256.
    ...conv('fitnet', 'fitnet conv1 3×3', q([256, 28, 28, 1], [16, 28, 28, 1]), [3, 3], 32, {pad: 'valid', ops: ['fwd', 'bpf']}),
    ...conv('fitnet', 'fitnet conv2 3×3', q([256, 13, 13, 32], [16, 13, 13, 32]), [3, 3], 64, {pad: 'valid'}),

    // InceptionV3 at batch 64, 299² (quick: batch 1–2, spatial sizes about ÷4, same channels).
    ...conv('inception', 'inc stem 3×3/2 3→32', q([64, 299, 299, 3], [1, 75, 75, 3]), [3, 3], 32, {stride: 2, pad: 'valid', ops: ['fwd', 'bpf']}),
    ...conv('inception', 'inc 3×3 32→32 149²', q([64, 149, 149, 32], [1, 37, 37, 32]), [3, 3], 32, {pad: 'valid'}),
    ...conv('inception', 'inc 3×3 32→64 147²', q([64, 147, 147, 32], [1, 37, 37, 32]), [3, 3], 64),
    ...pool('inception', 'inc 3×3/2 147²', q([64, 147, 147, 64], [1, 37, 37, 64]), 3, 2, 'valid', ['max', 'maxGrad']),
    ...conv('inception', 'inc 1×1 64→80 73²', q([64, 73, 73, 64], [1, 18, 18, 64]), [1, 1], 80),
    ...conv('inception', 'inc 3×3 80→192 73²', q([64, 73, 73, 80], [1, 18, 18, 80]), [3, 3], 192, {pad: 'valid'}),
    ...conv('inception', 'inc 1×1 192→64 35²', q([64, 35, 35, 192], [2, 17, 17, 192]), [1, 1], 64),
    ...conv('inception', 'inc 5×5 48→64 35²', q([64, 35, 35, 48], [1, 17, 17, 48]), [5, 5], 64),
    ...conv('inception', 'inc 3×3 96→96 35²', q([64, 35, 35, 96], [1, 17, 17, 96]), [3, 3], 96),
    ...pool('inception', 'inc 3×3/1 35²', q([64, 35, 35, 192], [1, 17, 17, 192]), 3, 1, 'same', ['avg', 'avgGrad']),
    ...conv('inception', 'inc 3×3/2 288→384 35²', q([64, 35, 35, 288], [1, 17, 17, 288]), [3, 3], 384, {stride: 2, pad: 'valid'}),
    ...conv('inception', 'inc 1×7 128→128 17²', q([64, 17, 17, 128], [1, 8, 8, 128]), [1, 7], 128),
    ...conv('inception', 'inc 7×1 128→128 17²', q([64, 17, 17, 128], [1, 8, 8, 128]), [7, 1], 128),
    ...conv('inception', 'inc 1×1 2048→320 8²', q([64, 8, 8, 2048], [1, 8, 8, 2048]), [1, 1], 320),
    reduceCase('inception', 'global avg pool 8²', 'Mean', q([64, 8, 8, 2048], [2, 8, 8, 2048]), [1, 2]),
    ...misc('inception', 'inc 35²×288', q([64, 35, 35, 288], [1, 17, 17, 288])),
    // Logits 2048 → 1000 and its gradients.
    matmul('inception', 'inc logits', q(64, 8), 2048, 1000),
    matmul('inception', 'inc logits dW', 2048, q(64, 8), 1000, {tA: true}),
    matmul('inception', 'inc logits dx', q(64, 8), 1000, 2048, {tB: true}),
    softmax('inception', 'inc logits', [q(64, 8), 1000]),

    // Odd sizes (the same at full size and --quick: they are small).
    ...conv('odd', 'odd 7×13×5 3×3', [3, 7, 13, 5], [3, 3], 3),
    ...conv('odd', 'odd 5×5/2', [3, 31, 33, 7], [5, 5], 13, {stride: 2}),
    ...conv('odd', 'odd explicit pads', [2, 15, 17, 3], [3, 3], 5, {pad: [[0, 0], [1, 2], [0, 1], [0, 0]]}),
    ...depthwise('odd', 'odd 5×5/2 ×2', [3, 31, 33, 7], 5, 2, {stride: 2}),
    ...pool('odd', 'odd 3×3/2', [3, 7, 13, 5], 3, 2, 'same', ['max', 'avg', 'maxGrad', 'avgGrad']),
    matmul('odd', 'odd 1000×520×333', ...q<[number, number, number]>([1000, 520, 333], [250, 130, 83])),

    // Stride 2 and dilation 2 on the reference activation (tfjs's Conv2D gradient rejects dilation > 1).
    ...conv('stride', 'stride 2 3×3', ref, [3, 3], q(128, 64), {stride: 2}),
    ...conv('dilation', 'dilation 2 3×3', ref, [3, 3], 64, {dil: 2, ops: ['fwd']}),
    ...depthwise('dilation', 'dilation 2 3×3', ref, 3, 1, {dil: 2, ops: ['fwd']}),

    // Batch 1.
    ...conv('batch1', 'batch 1 3×3', q([1, 56, 56, 64], [1, 28, 28, 32]), [3, 3], q(64, 32)),
    ...conv('batch1', 'batch 1 inc 3×3 96→96', q([1, 35, 35, 96], [1, 17, 17, 96]), [3, 3], 96, {ops: ['fwd']}),
    ...conv('batch1', 'batch 1 inc 1×1 768→192', q([1, 17, 17, 768], [1, 8, 8, 768]), [1, 1], 192, {ops: ['fwd']}),

    // Depthwise on the reference activation, forward and both backprops.
    ...depthwise('depthwise', 'ref 3×3', ref, 3, 1),

    // Matmuls: transposes, broadcast batch, small M (matrix × vector), long K (split-K candidates).
    // quick: batch 4, 128×256×192.
    ...((b: number, m: number, k: number, n: number) => [
      matmul('matmul', `batch ${b} Aᵀ`, m, k, n, {batchA: [b], batchB: [b], tA: true}),
      matmul('matmul', `batch ${b} Bᵀ`, m, k, n, {batchA: [b], batchB: [b], tB: true}),
      matmul('matmul', `batch ${b} AᵀBᵀ`, m, k, n, {batchA: [b], batchB: [b], tA: true, tB: true}),
      matmul('matmul', `broadcast A 1→${b}`, m, k, n, {batchA: [1], batchB: [b]}),
      matmul('matmul', `broadcast B 1→${b} Bᵀ`, m, k, n, {batchA: [b], batchB: [1], tB: true}),
    ])(...q<[number, number, number, number]>([32, 256, 512, 384], [4, 128, 256, 192])),
    ...[1, 2, 4, 8].map(m => matmul('matmul', `small M=${m}`, m, q(4096, 1024), q(4096, 1024))),
    matmul('matmul', 'small M=1 Bᵀ', 1, q(4096, 1024), q(4096, 1024), {tB: true}),
    matmul('matmul', 'long K 64×65536×64', 64, q(65536, 8192), 64),
    matmul('matmul', 'long K 128×32768×128', 128, q(32768, 4096), 128),
    matmul('matmul', 'long K 256×65536×256 Aᵀ', 256, q(65536, 4096), 256, {tA: true}),

    // Memory-bound kernels on the reference activation.
    ...misc('misc', 'ref', ref),
    reduceCase('misc', 'last axis', 'Sum', q([1024, 4096], [256, 1024]), [1]),
    softmax('misc', '1024×1000', q([1024, 1000], [256, 1000])),
  ];
  const seen = new Set<string>();
  for (const c of list) {
    if (seen.has(c.name)) throw new Error(`duplicate case name ${c.name}`);
    seen.add(c.name);
  }
  return list;
}

// ---------------------------------------------------------------------------------------------
// Running a case on the current backend.

let seed = 1;
function setup(c: CaseSpec): tf.Tensor[] {
  const tensors = Object.entries(c.inputs).map(([name, shape]) => c.positive?.includes(name)
    ? tf.randomUniform(shape, 0.5, 1.5, 'float32', seed++)
    : tf.randomUniform(shape, -1, 1, 'float32', seed++));
  if (c.kernel === 'MaxPoolGrad') {
    // `output` must be the max pool of `input`.
    const names = Object.keys(c.inputs);
    const input = tensors[names.indexOf('input')];
    const {filterSize, strides, pad} = c.attrs;
    tensors[names.indexOf('output')] = tf.engine().runKernel('MaxPool', {x: input}, {filterSize, strides, pad, dimRoundingMode: undefined} as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return tensors;
}

function run(c: CaseSpec, inputs: tf.Tensor[]): tf.Tensor | tf.Tensor[] {
  if (c.kernel === 'Moments') {
    const {mean, variance} = tf.moments(inputs[0], c.attrs.axis as number[]);
    return [mean, variance];
  }
  const named: Record<string, tf.Tensor> = {};
  Object.keys(c.inputs).forEach((name, i) => named[name] = inputs[i]);
  return tf.engine().runKernel(c.kernel, named, c.attrs as unknown as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
}

function hasKernel(c: CaseSpec, backend: string): boolean {
  if (c.kernel === 'Moments') return true;  // a composite of Mean, Sub, Square, …
  return tf.getKernel(c.kernel, backend) !== undefined;
}

// Hand everything recorded to the queue without waiting (the first half of sync).
function submit(name: string): void {
  if (name === 'mpsgpu') {
    mpsgpu.flush();
  } else if (name === 'webgpu') {
    // As the backend's own read() does: close the open compute pass, submit the encoder.
    const b = tf.backend() as unknown as {ensureCommandEncoderReady(): void; endComputePassEncoder(): void; submitQueue(): void};
    b.ensureCommandEncoderReady();
    b.endComputePassEncoder();
    b.submitQueue();
  }
}

// Submit everything recorded and wait until the GPU has finished it (see the header).
async function sync(name: string): Promise<void> {
  if (name === 'mpsgpu') {
    await mpsgpu.sync();
  } else if (name === 'webgpu') {
    submit(name);
    await (tf.backend() as unknown as {queue: GPUQueue}).queue.onSubmittedWorkDone();
  } else {
    await tf.backend().read(tf.scalar(0).dataId);  // cpu, wasm: synchronous anyway
  }
}

// Empty the current backend's pool of free buffers (after a sync: the GPU no longer uses them).
async function trimPool(name: string): Promise<void> {
  if (name === 'mpsgpu') {
    const prev = tf.env().getNumber('MPSGPU_POOL_FREE_BYTES');
    tf.env().set('MPSGPU_POOL_FREE_BYTES', 0);
    mpsgpu.flush();  // trims at the end of a flush
    tf.env().set('MPSGPU_POOL_FREE_BYTES', prev);
  } else if (name === 'webgpu') {
    // tfjs-backend-webgpu's BufferManager keeps every freed buffer, keyed by exact size, forever.
    // Keep the keys: its releaseBuffer() does nothing once the map is empty.
    const bm = (tf.backend() as unknown as {bufferManager: {freeBuffers: Map<string, GPUBuffer[]>; numFreeBuffers: number; numBytesAllocated: number}}).bufferManager;
    for (const list of bm.freeBuffers.values()) {
      for (const b of list) {
        bm.numBytesAllocated -= b.size;
        b.destroy();
      }
      list.length = 0;
    }
    bm.numFreeBuffers = 0;
  }
}

/** The p-quantile of `xs`, interpolated between neighbours (p 0.5: the median). */
function quantile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b), x = p * (s.length - 1), lo = Math.floor(x), hi = Math.ceil(x);
  return s[lo] + (s[hi] - s[lo]) * (x - lo);
}

function median(xs: number[]): number {
  return quantile(xs, 0.5);
}

/**
 * ms: median wall time per execution. recordMs / submitMs: median CPU time per execution spent
 * in the K calls (mpsgpu: recording the lazy graph; webgpu: encoding as it goes) and in handing
 * the work to the queue (mpsgpu: the flush that encodes it; webgpu: ending the pass and submitting)
 * — where a backend's small kernels are bound by JavaScript and Dawn rather than by the GPU.
 */
interface Timing {ms: number; recordMs: number; submitMs: number; reps: number; inner: number; gpu?: GpuTime; times: number[]}

/** mpsgpu's GPU time per execution from timestamp queries (MPSGPU_KERNEL_TIMING), by program. */
interface GpuTime {ms: number; programs: Record<string, number>}

// One more rep of K executions with every dispatch timed on the GPU: how much of the wall time per
// execution the GPU itself takes (the rest is CPU recording, encoding and submission gaps).
async function timeOnGpu(c: CaseSpec, inputs: tf.Tensor[], inner: number): Promise<GpuTime|undefined> {
  if (!mpsgpu.device().features.has('timestamp-query')) return undefined;
  tf.env().set('MPSGPU_KERNEL_TIMING', true);
  try {
    mpsgpu.resetStats();
    const results: tf.TensorContainer[] = [];
    for (let k = 0; k < inner; k++) results.push(tf.tidy(() => run(c, inputs)));
    await mpsgpu.sync();
    tf.dispose(results);
    const dispatches = mpsgpu.stats().dispatches;
    const calls = () => [...mpsgpu.kernelTimes().values()].reduce((n, v) => n + v.calls, 0);
    for (let i = 0; i < 400 && calls() < dispatches; ++i) await new Promise(r => setTimeout(r, 5));
    const programs: Record<string, number> = {};
    let ms = 0;
    for (const [name, v] of mpsgpu.kernelTimes()) {
      programs[name] = v.ms / inner;
      ms += v.ms / inner;
    }
    return {ms, programs};
  } finally {
    tf.env().set('MPSGPU_KERNEL_TIMING', false);
  }
}

// One backend's state while a case runs: its own inputs (a tensor lives on the backend that made
// it; running on another would copy it over), K, and the times of its reps so far.
interface Runner {
  name: string;
  inputs: tf.Tensor[];
  /** The fastest of two timed single executions (ms): sizes K and the reps. */
  once: number;
  inner: number;
  /** Reps the budget allows this backend (before the backends agree on one count). */
  reps: number;
  times: number[];
  recordTimes: number[];
  submitTimes: number[];
}

// Makes `name` the active backend (cheap once initialized: tfjs-core only swaps the instance).
async function activate(name: string): Promise<void> {
  if (tf.getBackend() !== name && !(await tf.setBackend(name))) throw new Error(`backend ${name} did not initialize`);
}

// Inputs, warm-up (compiles), ~100 ms ramp, and K and the reps sized for this backend.
async function prepare(c: CaseSpec, name: string, opts: Options): Promise<Runner> {
  await activate(name);
  const inputs = tf.tidy(() => setup(c));
  const r: Runner = {name, inputs, once: Infinity, inner: opts.inner, reps: opts.reps, times: [], recordTimes: [], submitTimes: []};
  try {
    // Warm-up: compile. The result stays alive until after the sync: mpsgpu skips work whose
    // results die unread, so a disposed warm-up result would compile nothing.
    const cold = tf.tidy(() => run(c, inputs));
    await sync(name);
    tf.dispose(cold);
    // Keep the GPU busy ~100 ms first so its clocks are up (the first config after an idle gap
    // measured up to 1.5× slower on the H200), bounded by a tenth of the budget.
    // Each of its executions is timed too: the fastest sizes the run with the two below (a single
    // slow one, from a burst of load on the machine, would otherwise leave K at 1).
    const rampStart = performance.now();
    while (performance.now() - rampStart < Math.min(100, opts.budget * 100)) {
      const t0 = performance.now();
      const ramp = tf.tidy(() => run(c, inputs));
      await sync(name);
      r.once = Math.min(r.once, performance.now() - t0);
      tf.dispose(ramp);
    }
    // One timed execution sizes the run: K grows until a rep lasts ~50 ms (--quick: 25; at most 100), so the
    // sync's own latency (event polling in Node) is amortized; then the budget trims K and reps.
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      const warm = tf.tidy(() => run(c, inputs));
      await sync(name);
      r.once = Math.min(r.once, performance.now() - t0);
      tf.dispose(warm);
    }
  } catch (e) {
    tf.dispose(inputs);
    throw e;
  }
  // Results of a rep stay alive until its sync: at most ~4 GB of them.
  const outBytes = 4 * c.outputs.reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);
  const maxByMemory = Math.max(1, Math.floor(4e9 / Math.max(outBytes, 1)));
  if (!opts.innerFixed) r.inner = Math.max(r.inner, Math.min(100, maxByMemory, Math.ceil(opts.repMs / Math.max(r.once, 1e-3))));
  const budgetMs = opts.budget * 1000;
  while (r.inner > 1 && r.reps * r.inner * r.once > budgetMs) r.inner--;
  while (r.reps > opts.minReps && r.reps * r.inner * r.once > budgetMs) r.reps--;
  return r;
}

// One rep on `r`'s backend: sync; t0; K back-to-back executions; submit; sync; t1.
async function timeRep(c: CaseSpec, r: Runner): Promise<void> {
  await activate(r.name);
  const start = performance.now();
  const results: tf.TensorContainer[] = [];
  for (let k = 0; k < r.inner; k++) results.push(tf.tidy(() => run(c, r.inputs)));
  const recorded = performance.now();
  submit(r.name);
  const submitted = performance.now();
  await sync(r.name);
  r.times.push((performance.now() - start) / r.inner);
  r.recordTimes.push((recorded - start) / r.inner);
  r.submitTimes.push((submitted - recorded) / r.inner);
  tf.dispose(results);
}

// Inputs disposed, queue drained, pool emptied (so that the full-size run does not pile up every
// buffer size it met).
async function release(r: Runner): Promise<void> {
  await activate(r.name);
  tf.dispose(r.inputs);
  await sync(r.name);
  await trimPool(r.name);
}

/**
 * Times case `c` on every backend in `names` (each has the kernel), rep by rep in turn (see the
 * header): the order within a round alternates, so neither backend always runs right after the
 * other. A backend that throws is reported as failed and the others go on.
 */
async function timeCase(c: CaseSpec, names: string[], opts: Options, interleaved: boolean): Promise<Record<string, Timing | Error>> {
  const out: Record<string, Timing | Error> = {};
  const runners: Runner[] = [];
  const before = tf.memory().numTensors;
  try {
    for (const name of names) {
      try {
        runners.push(await prepare(c, name, opts));
      } catch (e) {
        out[name] = e as Error;
      }
    }
    // One K and one rep count for all, so that every backend's reps span the same stretch of the
    // machine's load and amortize the sync alike: the largest K any backend asked for (each sized
    // its own to ~repMs), trimmed, then the reps, until the slowest backend fits the budget.
    let reps = Math.min(...runners.map(r => r.reps));
    if (!interleaved) {
      // Blocks: each backend all its reps in turn, with its own K and rep count.
      for (const r of runners) {
        for (let i = 0; i < r.reps && !(out[r.name] instanceof Error); i++) {
          try {
            await timeRep(c, r);
          } catch (e) {
            out[r.name] = e as Error;
          }
        }
      }
      reps = 0;
    } else if (runners.length > 1 && !opts.innerFixed) {
      const slowest = Math.max(...runners.map(r => r.once)), budgetMs = opts.budget * 1000;
      let inner = Math.max(...runners.map(r => r.inner));
      reps = opts.reps;
      while (inner > 1 && reps * inner * slowest > budgetMs) inner--;
      while (reps > opts.minReps && reps * inner * slowest > budgetMs) reps--;
      for (const r of runners) r.inner = inner;
    }
    let live = runners;
    for (let i = 0; i < reps && live.length; i++) {
      const order = i % 2 ? [...live].reverse() : live;
      for (const r of order) {
        try {
          await timeRep(c, r);
        } catch (e) {
          out[r.name] = e as Error;
        }
      }
      live = live.filter(r => !(out[r.name] instanceof Error));
    }
    live = live.filter(r => !(out[r.name] instanceof Error));
    for (const r of live) {
      let gpu: GpuTime | undefined;
      if (r.name === 'mpsgpu') {
        await activate(r.name);
        gpu = await timeOnGpu(c, r.inputs, r.inner);
      }
      out[r.name] = {ms: median(r.times), recordMs: median(r.recordTimes), submitMs: median(r.submitTimes), reps: r.times.length,
        inner: r.inner, gpu, times: r.times};
    }
  } finally {
    for (const r of runners) await release(r);
  }
  const after = tf.memory().numTensors;
  if (after !== before) {
    for (const name of names) if (!(out[name] instanceof Error)) out[name] = new Error(`numTensors grew from ${before} to ${after}`);
  }
  return out;
}

/** Blocks: the ratio of the medians, and of the quartiles (webgpu's q1 ÷ mpsgpu's q3, and q3 ÷ q1). */
function blockRatio(webgpu: number[], mps: number[]): {ratio: number; q1: number; q3: number} | undefined {
  if (!webgpu.length || !mps.length) return undefined;
  return {ratio: median(webgpu) / median(mps), q1: quantile(webgpu, 0.25) / quantile(mps, 0.75), q3: quantile(webgpu, 0.75) / quantile(mps, 0.25)};
}

/** Median and quartiles of the per-rep ratios webgpu ÷ mpsgpu (rep i of each: the same round). */
function pairedRatio(webgpu: number[], mps: number[]): {ratio: number; q1: number; q3: number} | undefined {
  const n = Math.min(webgpu.length, mps.length);
  if (!n) return undefined;
  const rs = Array.from({length: n}, (_, i) => webgpu[i] / mps[i]);
  return {ratio: median(rs), q1: quantile(rs, 0.25), q3: quantile(rs, 0.75)};
}

// TFLOP/s, or GB/s for memory-bound kernels (SI prefixes below those, 3 significant digits).
function rate(c: {flops?: number; bytes?: number}, ms: number): string {
  const per = c.flops ?? c.bytes;
  if (!per) return '';
  let v = per / (ms / 1e3);
  const units = c.flops ? ['FLOP/s', 'kFLOP/s', 'MFLOP/s', 'GFLOP/s', 'TFLOP/s'] : ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s'];
  // TFLOP/s and GB/s are the units the acceptance figures use; smaller values step down.
  let u = c.flops ? 4 : 3;
  v /= 1000 ** u;
  while (u > 0 && v < 1) { v *= 1000; u--; }
  return `${v.toPrecision(3)} ${units[u]}`;
}

type Result = number | 'missing' | `failed: ${string}`;
interface CaseResult extends CaseSpec {
  /** Median time per execution (ms) over the reps, per backend. */
  results: Record<string, Result>;
  /** Per backend: reps, K, CPU medians, GPU time, and every rep's time per execution (ms). */
  runs: Record<string, {reps: number; inner: number; recordMs: number; submitMs: number; gpu?: GpuTime; times: number[]}>;
  /** The median over rounds of webgpu's rep ÷ mpsgpu's rep in the same round (> 1: mpsgpu faster). */
  ratio?: number;
  /** That ratio's first and third quartiles over the rounds: its spread under the machine's load. */
  ratioQuartiles?: [number, number];
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const re = new RegExp(opts.filter, 'i');
  const list = buildCases(opts.quick).filter(c => re.test(`${c.group} ${c.kernel} ${c.name}`));
  if (opts.list) {
    fs.writeFileSync(opts.list, JSON.stringify({
      quick: opts.quick, filter: opts.filter, reps: opts.reps, inner: opts.inner, budget: opts.budget,
      layout: 'NHWC activations; conv filters HWIO ([kh, kw, cin, cout]), depthwise [kh, kw, C, mult]; pads are the explicit pads tfjs computes',
      cases: list,
    }, null, 1));
    console.log(`${list.length} cases written to ${opts.list}`);
    process.exit(0);
  }
  for (const [k, v] of Object.entries(opts.flags)) tf.env().set(k, v);
  await tf.setBackend('mpsgpu');
  const info = mpsgpu.device().adapterInfo;
  const adapter = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.trim();
  // Interleaved on CPU adapters (the load of other processes is what moves their times); on a GPU
  // each backend in its own block: interleaved on the H200, mpsgpu's conv2dBackpropFilter reps ran
  // 1.3-15x longer after webgpu's (its 0.5-s reps leave the GPU busy with their buffers' release),
  // and the slow backend's budget cut mpsgpu's K to 1, timing the sync (0.30 -> 0.65 ms).
  const interleaved = opts.interleave === 'on' || (opts.interleave === 'auto' && isCpuAdapter(mpsgpu.device()));
  const method = interleaved ? 'interleaved reps; ratio = median of per-round ratios' : 'each backend in its own block; ratio = ratio of medians';
  console.log(`adapter: ${adapter}; ${opts.quick ? 'quick shapes; ' : ''}≤ ${opts.reps} (≥ ${opts.minReps}) reps × ≤ ${opts.inner} executions, ≤ ${opts.budget} s per kernel and backend; ${method}; ${list.length} kernels`);
  const results: CaseResult[] = [];
  const started = new Date().toISOString();
  const writeJson = () => {
    if (!opts.json) return;
    fs.writeFileSync(opts.json, JSON.stringify({
      adapter, date: started, ...opts,
      method: interleaved
        ? 'results: median over reps of (K back-to-back executions + sync) / K, ms; the backends\' reps alternate within each case (interleaved rounds, order alternating); ratio: median over rounds of webgpu rep ÷ mpsgpu rep; one K and rep count for all backends, shrunk to fit the budget (see runs)'
        : 'results: median over reps of (K back-to-back executions + sync) / K, ms; each backend timed in its own block with its own K and reps, shrunk to fit the budget (see runs); ratio: webgpu median ÷ mpsgpu median',
      cases: results,
    }, null, 1));
  };
  // Kernel by kernel; within a kernel the backends' reps alternate (timeCase), so that a change in
  // the machine's load affects the backends alike.
  for (const c of list) {
    const r: CaseResult = {...c, results: {}, runs: {}};
    results.push(r);
    const have: string[] = [];
    for (const name of opts.backends) {
      await activate(name);
      if (hasKernel(c, name)) have.push(name);
      else r.results[name] = 'missing';
    }
    const timings = have.length ? await timeCase(c, have, opts, interleaved) : {};
    for (const [name, t] of Object.entries(timings)) {
      if (t instanceof Error) {
        r.results[name] = `failed: ${t.message.split('\n')[0]}`;
      } else {
        r.results[name] = t.ms;
        r.runs[name] = {reps: t.reps, inner: t.inner, recordMs: t.recordMs, submitMs: t.submitMs, gpu: t.gpu, times: t.times};
      }
    }
    const m = r.runs.mpsgpu, w = r.runs.webgpu;
    const paired = m && w ? (interleaved ? pairedRatio(w.times, m.times) : blockRatio(w.times, m.times)) : undefined;
    if (paired) {
      r.ratio = paired.ratio;
      r.ratioQuartiles = [paired.q1, paired.q3];
    }
    for (const name of opts.backends) {
      const v = r.results[name], run = r.runs[name];
      const gpu = run?.gpu ? `; GPU ${(run.gpu.ms * 1e3).toFixed(1)} µs: ${Object.entries(run.gpu.programs).map(([p, ms]) => `${p} ${(ms * 1e3).toFixed(1)}`).join(', ')}` : '';
      const cpu = run ? ` (${run.reps}×${run.inner}; CPU: record ${(run.recordMs * 1e3).toFixed(1)} µs + submit ${(run.submitMs * 1e3).toFixed(1)} µs${gpu})` : '';
      console.error(`  ${name} ${c.name} | ${c.shape}: ${typeof v === 'number' ? v.toFixed(3) + ' ms' : v}${cpu}`);
    }
    if (paired) console.error(`  webgpu ÷ mpsgpu ${c.name}: ${paired.ratio.toFixed(2)} (quartiles ${paired.q1.toFixed(2)}–${paired.q3.toFixed(2)})`);
    writeJson();
  }
  const cell = (v: Result | undefined) => typeof v === 'number' ? v.toFixed(3) : v === 'missing' ? '—' : v === undefined ? '' : 'failed';
  const header = ['kernel', 'shape', ...opts.backends.map(b => `${b} ms`)];
  const ratioCol = opts.backends.includes('mpsgpu') && opts.backends.includes('webgpu');
  if (ratioCol) header.push('webgpu ÷ mpsgpu');
  header.push(`${opts.backends[0]} rate`);
  console.log(`\n| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
  for (const r of results) {
    const row = [r.name, r.shape, ...opts.backends.map(b => cell(r.results[b]))];
    const m = r.results.mpsgpu, w = r.results.webgpu, first = r.results[opts.backends[0]];
    if (ratioCol) row.push(r.ratio !== undefined ? r.ratio.toFixed(2) : typeof m === 'number' && typeof w === 'number' ? (w / m).toFixed(2) : '');
    row.push(typeof first === 'number' ? rate(r, first) : '');
    console.log(`| ${row.join(' | ')} |`);
  }
  for (const r of results) {
    for (const [b, v] of Object.entries(r.results)) if (typeof v === 'string' && v !== 'missing') console.log(`${b} ${r.name}: ${v}`);
  }
  writeJson();
  process.exit(0);
}

await main();
