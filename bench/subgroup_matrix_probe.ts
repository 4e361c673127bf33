// Tensor cores through WebGPU subgroup matrices: what the adapter offers, and the subgroup-matrix
// matmul of src/codegen/subgroup_matrix.ts checked against a float64 CPU reference and timed, for
// every usable config × tiling × size, in one run. Standalone (no tfjs).
//
//   node scripts/bundle.mjs bench/subgroup_matrix_probe.ts .build/sgm.mjs && node .build/sgm.mjs
//     [--sizes 2048x2048x2048,1000x520x333] [--reps 20] [--configs all|first] [--json out.json]
//     [--toggles allow_unsafe_apis,vulkan_enable_f16_on_nvidia] [--majorness template|argument]
//     [--tilings 0,2 (indices into SGM_TILINGS)] [--emulate [--emulate-sg 32]]
//
// Without the feature or usable configs (lavapipe, most browsers) it says so and exits 0.
// --emulate runs the same kernels with the subgroup-matrix builtins replaced by plain WGSL
// (any adapter): checks tiling, staging and edge handling where there are no tensor cores, and
// shows what the adapter's compiler says about the real (non-emulated) WGSL.
//
// Correctness: C is filled with NaN first (an element left unwritten fails), then compared with
// a float64 reference on all rows (small problems) or on 20 rows including the first, last and
// tile-boundary rows (large ones), all columns. Error measure: |C − C_exact| / Σ_k|a_ik·b_kj|,
// against the bound sgmErrorBound(K) (f16 or tf32 inputs, f32 accumulation).
// Timing: after a warm-up, trials of `reps` dispatches in one compute pass, each trial one
// submit + onSubmittedWorkDone; the best trial's time per dispatch, and 2·M·N·K / time.
import {create, globals} from 'webgpu';
import {writeFileSync} from 'fs';
import {Program} from '../src/codegen/program.js';
import {buildShader} from '../src/codegen/shader.js';
import {
  configName, SGM_TILINGS, sgmErrorBound, sgmLayout, sgmMatmulProgram, SgmMatmulOptions, SUBGROUP_MATRIX_DAWN_TOGGLES,
  SUBGROUP_MATRIX_FEATURE, SubgroupMatrixConfig, subgroupMatrixSupport, tilingName,
} from '../src/codegen/subgroup_matrix.js';

Object.assign(globalThis, globals);

function arg(name: string): string|undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  return v === undefined || v.startsWith('--') ? '' : v;
}

const emulate = arg('emulate') !== undefined;
const toggles = arg('toggles')?.split(',') ?? SUBGROUP_MATRIX_DAWN_TOGGLES;
const reps = Number(arg('reps') ?? 20);
let majorness = (arg('majorness') ?? 'template') as 'template'|'argument';
const jsonPath = arg('json');
/** Indices into SGM_TILINGS (default: all). */
const tilings = arg('tilings') ? arg('tilings')!.split(',').map(i => SGM_TILINGS[Number(i)]) : SGM_TILINGS;
const defaultSizes = emulate ? '64x64x64,70x90x45,130x132x48' : '64x64x64,1000x520x333,2048x2048x2048,4096x4096x4096';
const sizes = (arg('sizes') || defaultSizes).split(',').map(s => s.split('x').map(Number) as [number, number, number]);

interface Row {
  config: string;
  tiling: string;
  size: string;
  ok: boolean;
  /** Not run (does not fit this device): not a failure. */
  skipped?: boolean;
  error?: string;
  checkedRows?: number;
  maxErrOverAbsSum?: number;
  bound?: number;
  maxErrOverMaxC?: number;
  ms?: number;
  tflops?: number;
}
const rows: Row[] = [];

function fmt(x: number|undefined, digits = 3): string {
  if (x === undefined || Number.isNaN(x)) return '—';
  return Math.abs(x) !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5) ? x.toExponential(2) : x.toFixed(digits);
}

function printRow(r: Row): void {
  console.log([r.config.padEnd(22), r.tiling.padEnd(32), r.size.padEnd(15), (r.ok ? 'ok' : r.skipped ? 'skip' : 'FAIL').padEnd(5),
    fmt(r.maxErrOverAbsSum).padEnd(9), fmt(r.bound).padEnd(9), fmt(r.maxErrOverMaxC).padEnd(9),
    fmt(r.ms).padEnd(9), fmt(r.tflops, 2).padEnd(7), r.error ?? ''].join(' '));
}

function saveJson(extra: Record<string, unknown>): void {
  if (jsonPath) writeFileSync(jsonPath, JSON.stringify({...extra, rows}, null, 1));
}

/** Deterministic uniform values in [-1, 1) avoiding zero (xorshift). */
function randomMatrix(n: number, seed: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; ++i) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    const v = s / 2 ** 31 - 1;
    out[i] = v === 0 ? 0.5 : v;
  }
  return out;
}

/** Rows to check: all of a small problem; else first/last, around 64/128 tile edges, random. */
function rowsToCheck(m: number, n: number, k: number): number[] {
  if (m * n * k <= 4e8) return Array.from({length: m}, (_, i) => i);
  const set = new Set<number>([0, 1, m - 1, m - 2, 63, 64, 127, 128, 129, Math.floor(m / 2)]);
  let s = 12345;
  while (set.size < 20) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    set.add(s % m);
  }
  return [...set].filter(r => r >= 0 && r < m).sort((a, b) => a - b);
}

interface Reference {
  rows: number[];
  /** Exact (float64) values and Σ|a·b| of the checked rows, row after row. */
  value: Float64Array;
  absSum: Float64Array;
}

function reference(a: Float32Array, b: Float32Array, m: number, n: number, k: number): Reference {
  const checked = rowsToCheck(m, n, k);
  const value = new Float64Array(checked.length * n);
  const absSum = new Float64Array(checked.length * n);
  checked.forEach((r, ri) => {
    const o = ri * n;
    for (let p = 0; p < k; ++p) {
      const av = a[r * k + p];
      const bo = p * n;
      for (let j = 0; j < n; ++j) {
        const prod = av * b[bo + j];
        value[o + j] += prod;
        absSum[o + j] += Math.abs(prod);
      }
    }
  });
  return {rows: checked, value, absSum};
}

async function main(): Promise<void> {
  const gpu = create([`enable-dawn-features=${toggles.join(',')}`]) as unknown as GPU;
  const adapter = await gpu.requestAdapter({powerPreference: 'high-performance'});
  if (!adapter) {
    console.log('no WebGPU adapter; nothing to probe');
    return;
  }
  const info = adapter.info as unknown as Record<string, unknown>;
  console.log(`adapter: ${info.vendor} | ${info.architecture} | ${info.device} | ${info.description}`);
  console.log(`subgroup sizes: ${info.subgroupMinSize}..${info.subgroupMaxSize}; Dawn toggles: ${toggles.join(',')}`);
  console.log(`features: ${[...adapter.features].sort().join(' ')}`);
  const support = subgroupMatrixSupport(adapter);
  console.log(`subgroupMatrixConfigs (${support.configs.length}): ${support.configs.map(configName).join('; ') || '[]'}`);
  console.log(`usable (f16/f32 in, f32 out): ${support.usable.map(configName).join('; ') || 'none'}`);
  const limits = adapter.limits as unknown as Record<string, number>;
  console.log(`maxComputeWorkgroupStorageSize ${limits.maxComputeWorkgroupStorageSize}, ` +
      `maxComputeInvocationsPerWorkgroup ${limits.maxComputeInvocationsPerWorkgroup}`);

  if (!emulate && support.usable.length === 0) {
    console.log(support.configs.length === 0 ? `no subgroup matrix configs: ${support.reason}` :
        `no usable subgroup matrix configs: ${support.reason}`);
    console.log('nothing to run (pass --emulate to check the kernels with the builtins emulated)');
    saveJson({adapter: info, features: [...adapter.features], configs: support.configs, skipped: support.reason});
    return;
  }

  const wanted = ['shader-f16', 'subgroups', SUBGROUP_MATRIX_FEATURE].filter(f => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of ['maxComputeWorkgroupStorageSize', 'maxStorageBufferBindingSize', 'maxBufferSize',
    'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX']) requiredLimits[name] = limits[name];
  const device = await adapter.requestDevice({requiredFeatures: wanted as GPUFeatureName[], requiredLimits});
  let lost = false;
  device.lost.then(l => {
    lost = true;
    if (l.reason !== 'destroyed') console.log(`DEVICE LOST: ${l.reason} ${l.message}`);
  });
  device.onuncapturederror = e => console.log(`uncaptured WebGPU error: ${e.error.message}`);
  const storageLimit = device.limits.maxComputeWorkgroupStorageSize;

  let configs: SubgroupMatrixConfig[] = support.usable;
  let subgroupSize = support.subgroupMaxSize;
  if (emulate) {
    subgroupSize = Number(arg('emulate-sg') ?? 32);
    configs = [{componentType: 'f32', resultComponentType: 'f32', M: 8, N: 8, K: 8}];
    if (device.features.has('shader-f16')) configs.unshift({componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16});
  }
  if (arg('configs') === 'first') configs = configs.slice(0, 1);

  // What the compiler says about the real shader (on an adapter without the feature: an error
  // about the extension, after the parse — so a syntax error would show here too).
  if (emulate) {
    const realOpts: SgmMatmulOptions = {config: configs[0], tiling: SGM_TILINGS[0], subgroupSize, majorness};
    const real = sgmMatmulProgram(realOpts, 64, 64, 64);
    device.pushErrorScope('validation');
    const module = device.createShaderModule({code: buildShader(real.shader(), real.uniforms)});
    const messages = (await module.getCompilationInfo()).messages;
    await device.popErrorScope();
    console.log(`real (tensor-core) WGSL on this adapter: ${messages.length === 0 ? 'compiles' :
      messages.map(m => `${m.type} ${m.lineNum}:${m.linePos} ${m.message.split('\n')[0]}`).join(' | ')}`);
  }

  console.log(`\n${emulate ? 'EMULATED builtins (not tensor cores): ' : ''}subgroup size ${subgroupSize}, ` +
      `${reps} dispatches per timed trial; err = max |C-exact|/sum|a*b| (must be <= bound), ` +
      `err/maxC = max |C-exact| / max |exact|`);
  console.log(['config'.padEnd(22), 'tiling (BMxBNxBK ...)'.padEnd(32), 'MxNxK'.padEnd(15), 'ok'.padEnd(5),
    'err'.padEnd(9), 'bound'.padEnd(9), 'err/maxC'.padEnd(9), 'ms'.padEnd(9), 'TFLOP/s'.padEnd(7)].join(' '));

  const layoutEntries: GPUBindGroupLayoutEntry[] = [
    {binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: {type: 'storage'}},
    {binding: 1, visibility: GPUShaderStage.COMPUTE, buffer: {type: 'read-only-storage'}},
    {binding: 2, visibility: GPUShaderStage.COMPUTE, buffer: {type: 'read-only-storage'}},
    {binding: 3, visibility: GPUShaderStage.COMPUTE, buffer: {type: 'uniform'}},
  ];
  const bindLayout = device.createBindGroupLayout({entries: layoutEntries});
  const pipelineLayout = device.createPipelineLayout({bindGroupLayouts: [bindLayout]});

  /** Shader module and pipeline of one variant; throws with the compiler's first error. */
  async function compile(opts: SgmMatmulOptions, m: number, n: number, k: number) {
    const program = sgmMatmulProgram(opts, m, n, k);
    const code = buildShader(program.shader(), program.uniforms);
    device.pushErrorScope('validation');
    device.pushErrorScope('internal');
    const module = device.createShaderModule({code});
    const errors = (await module.getCompilationInfo()).messages.filter(msg => msg.type === 'error');
    if (errors.length > 0) {
      await device.popErrorScope();
      await device.popErrorScope();
      const first = errors[0];
      const line = code.split('\n')[first.lineNum - 1]?.trim() ?? '';
      throw new Error(`WGSL ${first.lineNum}:${first.linePos} ${first.message.split('\n')[0]} [${line}]`);
    }
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await device.createComputePipelineAsync({layout: pipelineLayout, compute: {module, entryPoint: 'main'}});
    } finally {
      const internal = await device.popErrorScope();
      const validation = await device.popErrorScope();
      const e = internal ?? validation;
      if (e) throw new Error(`pipeline: ${e.message.split('\n')[0]}`);
    }
    return {program, pipeline};
  }

  for (const [m, n, k] of sizes) {
    if (lost) break;
    const sizeName = `${m}x${n}x${k}`;
    const a = randomMatrix(m * k, 1 + m + k);
    const b = randomMatrix(k * n, 7 + n + k);
    const t0 = performance.now();
    const ref = reference(a, b, m, n, k);
    const refMs = performance.now() - t0;
    let maxRef = 0;
    for (const v of ref.value) maxRef = Math.max(maxRef, Math.abs(v));
    const bound = sgmErrorBound(k);
    const pad16 = (bytes: number) => Math.ceil(bytes / 16) * 16;
    const bufA = device.createBuffer({size: pad16(a.byteLength), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST});
    const bufB = device.createBuffer({size: pad16(b.byteLength), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST});
    const cBytes = pad16(m * n * 4);
    const bufC = device.createBuffer({size: cBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST});
    const readback = device.createBuffer({size: cBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST});
    const uniformBuf = device.createBuffer({size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST});
    device.queue.writeBuffer(bufA, 0, a);
    device.queue.writeBuffer(bufB, 0, b);
    device.queue.writeBuffer(uniformBuf, 0, new Uint32Array([m, n, k, 0]));
    const nanFill = new Float32Array(cBytes / 4).fill(NaN);
    const bindGroup = device.createBindGroup({layout: bindLayout, entries: [
      {binding: 0, resource: {buffer: bufC}}, {binding: 1, resource: {buffer: bufA}},
      {binding: 2, resource: {buffer: bufB}}, {binding: 3, resource: {buffer: uniformBuf}},
    ]});

    for (const config of configs) {
      for (const tiling of tilings) {
        if (lost) break;
        const opts: SgmMatmulOptions = {config, tiling, subgroupSize, emulate, majorness};
        const row: Row = {config: configName(config), tiling: '?', size: sizeName, ok: false, bound};
        try {
          row.tiling = tilingName(opts);
          const layout = sgmLayout({...opts, vec4A: k % 4 === 0, vec4B: n % 4 === 0});
          if (layout.workgroupStorageBytes > storageLimit) {
            row.skipped = true;
            throw new Error(`skipped: needs ${layout.workgroupStorageBytes} B of workgroup storage > ${storageLimit}`);
          }
          let compiled: {program: Program; pipeline: GPUComputePipeline};
          try {
            compiled = await compile(opts, m, n, k);
          } catch (e) {
            // Dawn builds that predate subgroupMatrixLoad<T, row_major> take the col_major bool.
            if (emulate || majorness !== 'template') throw e;
            try {
              compiled = await compile({...opts, majorness: 'argument'}, m, n, k);
            } catch (e2) {
              throw new Error(`${e instanceof Error ? e.message : e} (col_major argument form too: ${e2 instanceof Error ? e2.message : e2})`);
            }
            majorness = 'argument';
            console.log(`  (template majorness rejected: ${e instanceof Error ? e.message : e}; using the col_major argument from now on)`);
          }
          const {program, pipeline} = compiled;
          const [gx, gy, gz] = program.dispatch;
          const run = (count: number) => {
            const encoder = device.createCommandEncoder();
            const pass = encoder.beginComputePass();
            pass.setPipeline(pipeline);
            pass.setBindGroup(0, bindGroup);
            for (let i = 0; i < count; ++i) pass.dispatchWorkgroups(gx, gy, gz);
            pass.end();
            device.queue.submit([encoder.finish()]);
            return device.queue.onSubmittedWorkDone();
          };

          // Correctness: one dispatch over a NaN-filled C.
          device.queue.writeBuffer(bufC, 0, nanFill);
          await run(1);
          const copy = device.createCommandEncoder();
          copy.copyBufferToBuffer(bufC, 0, readback, 0, cBytes);
          device.queue.submit([copy.finish()]);
          await readback.mapAsync(GPUMapMode.READ);
          const c = new Float32Array(readback.getMappedRange().slice(0));
          readback.unmap();
          let worst = 0;
          let worstAbs = 0;
          let bad = '';
          ref.rows.forEach((r, ri) => {
            for (let j = 0; j < n; ++j) {
              const got = c[r * n + j];
              const want = ref.value[ri * n + j];
              const err = Math.abs(got - want);
              if (!Number.isFinite(got)) {
                if (!bad) bad = `C[${r},${j}] = ${got}`;
                worst = Infinity;
                continue;
              }
              const s = ref.absSum[ri * n + j];
              worst = Math.max(worst, s > 0 ? err / s : err);
              worstAbs = Math.max(worstAbs, err);
            }
          });
          row.checkedRows = ref.rows.length;
          row.maxErrOverAbsSum = worst;
          row.maxErrOverMaxC = maxRef > 0 ? worstAbs / maxRef : worstAbs;
          row.ok = worst <= bound;
          if (bad) row.error = `non-finite ${bad}`;

          // Timing: size the trials from one timed warm-up dispatch (about 0.5 s a trial at most).
          const w0 = performance.now();
          await run(2);
          const once = (performance.now() - w0) / 2;
          const count = Math.max(3, Math.min(reps, Math.floor(500 / Math.max(once, 1e-3))));
          let best = Infinity;
          for (let trial = 0; trial < 3; ++trial) {
            const s0 = performance.now();
            await run(count);
            best = Math.min(best, (performance.now() - s0) / count);
          }
          row.ms = best;
          row.tflops = 2 * m * n * k / (best * 1e-3) / 1e12;
        } catch (e) {
          row.ok = false;
          row.error = e instanceof Error ? e.message : String(e);
        }
        rows.push(row);
        printRow(row);
        saveJson({adapter: info, features: [...adapter.features], configs: support.configs, emulate, subgroupSize});
      }
    }
    console.log(`  (${sizeName}: reference of ${ref.rows.length} rows in ${refMs.toFixed(0)} ms)`);
    for (const buf of [bufA, bufB, bufC, readback, uniformBuf]) buf.destroy();
  }

  const failed = rows.filter(r => !r.ok && !r.skipped).length;
  const best = new Map<string, Row>();
  for (const r of rows) {
    if (!r.ok || r.tflops === undefined) continue;
    const key = `${r.config} ${r.size}`;
    if (!best.has(key) || best.get(key)!.tflops! < r.tflops) best.set(key, r);
  }
  console.log(`\n${rows.length} cases, ${failed} failed. Best tiling per config and size:`);
  for (const [key, r] of best) console.log(`  ${key.padEnd(40)} ${r.tiling.padEnd(32)} ${fmt(r.ms)} ms  ${fmt(r.tflops, 2)} TFLOP/s`);
  device.destroy();
  if (failed > 0) process.exitCode = 1;
}

main().then(() => process.exit(process.exitCode ?? 0), e => {
  console.error(e);
  process.exit(1);
});
