// Joins bench/kernels.ts's JSON (mpsgpu and tfjs-backend-webgpu) with bench/torch_kernels.py's
// (PyTorch/cuDNN) case by case into one markdown table, for the terminal and for BENCHMARKS.md:
//   case | shape | mpsgpu ms | webgpu ms | torch ms | webgpu ÷ mpsgpu | mpsgpu ÷ torch | mpsgpu rate | torch layout
// then the issue-4 acceptance checks that the run covers (reference shapes against cuDNN, matmul
// 2048² TFLOP/s, mpsgpu at least as fast as webgpu). Plain node, no packages.
//
//   node bench/merge_kernels.mjs --tfjs kernels_tfjs.json [--torch kernels_torch.json] [--md out.md]
//
// Either input may be missing or cut short (a timed-out run): the table shows what there is.
import fs from 'fs';

function parseArgs(argv) {
  const opts = {tfjs: '', torch: '', md: ''};
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in opts) || argv[i + 1] === undefined) throw new Error(`usage: merge_kernels.mjs --tfjs FILE [--torch FILE] [--md FILE] (bad: ${argv[i]})`);
    opts[key] = argv[++i];
  }
  return opts;
}

function load(file) {
  if (!file) return null;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    console.error(`merge_kernels: cannot read ${file}: ${e.message.split('\n')[0]}`);
    return null;
  }
}

// As bench/kernels.ts: TFLOP/s or GB/s, smaller SI units below 1, 3 significant digits.
function rate(c, ms) {
  const per = c.flops || c.bytes;
  if (!per || !(ms > 0)) return '';
  const units = c.flops ? ['FLOP/s', 'kFLOP/s', 'MFLOP/s', 'GFLOP/s', 'TFLOP/s'] : ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s'];
  let u = c.flops ? 4 : 3;
  let v = per / (ms / 1e3) / 1000 ** u;
  while (u > 0 && v < 1) { v *= 1000; u--; }
  return `${v.toPrecision(3)} ${units[u]}`;
}

const ms = v => typeof v === 'number' ? (v >= 100 ? v.toFixed(1) : v >= 1 ? v.toFixed(3) : v.toPrecision(3)) : v === 'missing' ? '—' : v ? 'failed' : '';
// webgpu ÷ mpsgpu: the median of the interleaved rounds' ratios where bench/kernels.ts gives it.
const roundsRatio = c => (typeof c.ratio === 'number' ? c.ratio : c.results.webgpu / c.results.mpsgpu);
const speedup = c => (typeof c.results?.mpsgpu === 'number' && typeof c.results?.webgpu === 'number' ? roundsRatio(c).toFixed(2) : '');
const ratio = (a, b) => typeof a === 'number' && typeof b === 'number' && b > 0 ? (a / b).toFixed(2) : '';

const opts = parseArgs(process.argv.slice(2));
const tfjs = load(opts.tfjs);
const torch = load(opts.torch);
if (!tfjs && !torch) {
  console.error('merge_kernels: nothing to merge');
  process.exit(1);
}
const torchByName = new Map((torch?.cases ?? []).map(c => [c.name, c]));
// The tfjs case order; torch-only cases (a tfjs run cut short) after it.
const cases = (tfjs?.cases ?? []).map(c => ({...c, torch: torchByName.get(c.name)}));
const seen = new Set(cases.map(c => c.name));
for (const t of torch?.cases ?? []) if (!seen.has(t.name)) cases.push({name: t.name, shape: t.shape, kernel: t.kernel, results: {}, torch: t});
// Rates need the FLOP/byte counts, which only the tfjs JSON carries.

const lines = [];
if (tfjs) lines.push(`tfjs: ${tfjs.adapter}; ${tfjs.date}; ${tfjs.quick ? '--quick shapes; ' : ''}median of ≤ ${tfjs.reps} reps × ≤ ${tfjs.inner} executions (≤ ${tfjs.budget} s per kernel and backend)`);
if (torch) lines.push(`torch: ${torch.device}; PyTorch ${torch.torch}, CUDA ${torch.cuda}, cuDNN ${torch.cudnn}; ${torch.date}; fp32, TF32 off, cudnn.benchmark; layout ${torch.layout} (NCHW or channels_last, whichever is faster per case)`);
lines.push('');
const header = ['case', 'shape', 'mpsgpu ms', 'webgpu ms', 'torch ms', 'webgpu ÷ mpsgpu', 'mpsgpu ÷ torch', 'mpsgpu rate', 'torch layout'];
lines.push(`| ${header.join(' | ')} |`, `|${header.map((_, i) => i < 2 ? '---' : '--:').join('|')}|`);
for (const c of cases) {
  const m = c.results?.mpsgpu, w = c.results?.webgpu, t = c.torch?.ms ?? (c.torch?.error ? 'failed' : undefined);
  const layout = c.torch?.layout ? c.torch.layout + (c.torch.pad_mode && c.torch.pad_mode !== 'symmetric' ? `, ${c.torch.pad_mode}` : '') : '';
  lines.push(`| ${[c.name, c.shape, ms(m), ms(w), ms(t), speedup(c), ratio(m, t), typeof m === 'number' ? rate(c, m) : '', layout].join(' | ')} |`);
}

// Failures, in full (the table says only 'failed').
const failures = [];
for (const c of cases) {
  for (const [b, v] of Object.entries(c.results ?? {})) if (typeof v === 'string' && v !== 'missing') failures.push(`${b} ${c.name}: ${v}`);
  if (c.torch?.error) failures.push(`torch ${c.name}: ${c.torch.error}`);
}
if (failures.length) lines.push('', 'Failures:', ...failures.map(f => `- ${f}`));

// Issue 4's acceptance figures that this run covers.
const checks = [];
const byName = new Map(cases.map(c => [c.name, c]));
const limits = [
  ['conv2d ref 3×3', 2], ['conv2dBackpropInput ref 3×3', 2], ['conv2dBackpropFilter ref 3×3', 3], ['maxPool ref 3×3/2', 2],
];
if (!tfjs?.quick) {
  for (const [name, limit] of limits) {
    const c = byName.get(name);
    const m = c?.results?.mpsgpu, t = c?.torch?.ms;
    if (typeof m === 'number' && typeof t === 'number') {
      checks.push(`${m / t <= limit ? 'PASS' : 'FAIL'} ${name}: mpsgpu ${(m / t).toFixed(2)}× cuDNN fp32 (limit ${limit}×)`);
    }
  }
  const mm = byName.get('matMul ref 2048²');
  if (typeof mm?.results?.mpsgpu === 'number' && mm.flops) {
    const tf = mm.flops / (mm.results.mpsgpu / 1e3) / 1e12;
    checks.push(`${tf >= 25 ? 'PASS' : 'FAIL'} matMul ref 2048²: mpsgpu ${tf.toFixed(1)} TFLOP/s (target ≥ 25)`);
  }
}
const both = cases.filter(c => typeof c.results?.mpsgpu === 'number' && typeof c.results?.webgpu === 'number');
if (both.length) {
  const slower = both.filter(c => roundsRatio(c) < 1);
  checks.push(`${slower.length ? 'FAIL' : 'PASS'} mpsgpu at least as fast as webgpu: ${both.length - slower.length} of ${both.length} cases` +
    (slower.length ? `; slower: ${slower.map(c => `${c.name} (${roundsRatio(c).toFixed(2)})`).join(', ')}` : ''));
}
if (checks.length) lines.push('', 'Acceptance (issue 4):', ...checks.map(c => `- ${c}`));

const text = lines.join('\n');
if (opts.md) fs.writeFileSync(opts.md, text + '\n');
console.log(text);
