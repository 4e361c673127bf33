// ArgMax and ArgMin over one axis, int32 indices, with tfjs-backend-cpu's semantics: ties give the
// first index; NaN never wins a comparison, so a NaN first element gives 0 and other NaNs are
// skipped. The axis is read in place through strides (no transpose), as in kernels/reduce.ts, with
// a second pass over per-chunk candidates for long rows.
import {ArgMax, ArgMin, backend_util, KernelConfig, KernelFunc, TensorInfo, util} from '@tensorflow/tfjs-core';

import {MpsgpuBackend} from '../src/backend.js';
import {Program} from '../src/codegen/program.js';
import {dispatch1D, ShaderSpec, Uniform, wgslType, WgslScalar} from '../src/codegen/shader.js';
import {fill, mpsgpuBackend} from '../src/kernel_util.js';
import {addressing, addressingDecls, chunksFor, perInvocation, ReduceGeometry, reduceGeometry, rowsGeometry, treeSteps, workgroupFor} from './reduce.js';

/** 'single': x → indices; 'partial': x → candidates per chunk (values, indices); 'merge': candidates → indices. */
type Pass = 'single'|'partial'|'merge';

function argProgram(name: string, isMax: boolean, t: WgslScalar, g: ReduceGeometry, pass: Pass, chunks: number): Program {
  const addr = addressing(g);
  const cmp = isMax ? '>' : '<';
  const worst = t === 'f32' ? (isMax ? '(-infF32())' : 'infF32()') : (isMax ? '(-2147483647 - 1)' : '2147483647');
  // The value a NaN first element stands for in a chunk's candidate: it beats everything.
  const best = t === 'f32' ? (isMax ? 'infF32()' : '(-infF32())') : '0';
  const nan = (v: string) => (t === 'f32' ? `isNan(${v})` : 'false');
  const declarations = [addressingDecls(g), `
// Whether candidate (v, i) beats (bv, bi); index -1: no candidate.
fn better(v: ${t}, i: i32, bv: ${t}, bi: i32) -> bool {
  if (i < 0) { return false; }
  if (bi < 0) { return true; }
  if (v ${cmp} bv) { return true; }
  return v == bv && i < bi;
}`];
  const uniforms: Uniform[] = [
    {name: 'outSize', type: 'u32', value: g.outSize},
    {name: 'reduceSize', type: 'u32', value: g.reduceSize},
    ...addr.uniforms,
  ];
  const inputs = pass === 'merge' ? [{name: 'xv', type: t}, {name: 'xi', type: 'i32' as const}] : [{name: 'x', type: t}];
  const outputs = pass === 'partial' ? [{name: 'outV', type: t}, {name: 'outI', type: 'i32' as const}] : [{name: 'out', type: 'i32' as const}];
  // Fold element r of the row into (bv, bi).
  const step = (r: string) => pass === 'merge'
    ? `{ let e = base + ${addr.offset(r)}; if (better(xv[e], xi[e], bv, bi)) { bv = xv[e]; bi = xi[e]; } }`
    : `{ let v = x[base + ${addr.offset(r)}]; if (!${nan('v')} && (bi < 0 || v ${cmp} bv)) { bv = v; bi = i32(${r}); } }`;
  const key = `arg${isMax ? 'max' : 'min'}|${t}|${pass}|${addr.key}`;

  if (pass === 'single' && perInvocation(g)) {
    const wg = 64;
    const shader = (): ShaderSpec => ({
      inputs, outputs, workgroupSize: [wg, 1, 1], declarations: declarations.join('\n'),
      body: `
  let row = flatId;
  if (row >= u.outSize) { return; }
  ${addr.base('row', 'base')}
  var bv: ${t} = ${worst};
  var bi = -1;
  for (var r = 0u; r < u.reduceSize; r = r + 1u) ${step('r')}
  if (${nan('x[base]')}) { bi = 0; }
  out[row] = max(bi, 0);`,
    });
    return {name, key: `${key}|1`, shader, uniforms, dispatch: dispatch1D(g.outSize, wg)};
  }

  const chunkLen = Math.ceil(g.reduceSize / chunks);
  const wg = workgroupFor(chunkLen);
  const groups = g.outSize * chunks;
  uniforms.push({name: 'chunks', type: 'u32', value: chunks}, {name: 'chunkLen', type: 'u32', value: chunkLen},
                {name: 'groups', type: 'u32', value: groups});
  declarations.push(`var<workgroup> shV: array<${t}, ${wg}>;`, `var<workgroup> shI: array<i32, ${wg}>;`);
  let store: string;
  if (pass === 'single') {
    store = `var res = max(shI[0], 0);
    if (${nan('x[base]')}) { res = 0; }
    out[row] = res;`;
  } else if (pass === 'partial') {
    store = `var v = shV[0];
    var i = shI[0];
    if (chunk == 0u && ${nan('x[base]')}) { v = ${best}; i = 0; }
    outV[group] = v;
    outI[group] = i;`;
  } else {
    store = 'out[row] = max(shI[0], 0);';
  }
  const shader = (): ShaderSpec => ({
    inputs, outputs, workgroupSize: [wg, 1, 1], declarations: declarations.join('\n'),
    body: `
  let group = wid.x + wid.y * nwg.x;
  if (group >= u.groups) { return; }
  let row = group / u.chunks;
  let chunk = group - row * u.chunks;
  ${addr.base('row', 'base')}
  let start = chunk * u.chunkLen;
  let end = min(start + u.chunkLen, u.reduceSize);
  var bv: ${t} = ${worst};
  var bi = -1;
  for (var r = start + lindex; r < end; r = r + ${wg}u) ${step('r')}
  shV[lindex] = bv;
  shI[lindex] = bi;
  workgroupBarrier();
  ${treeSteps(wg, o => `if (better(shV[${o}], shI[${o}], shV[lindex], shI[lindex])) { shV[lindex] = shV[${o}]; shI[lindex] = shI[${o}]; }`)}
  if (lindex == 0u) {
    ${store}
  }`,
  });
  return {name, key: `${key}|T${wg}`, shader, uniforms, dispatch: dispatch1D(groups, 1)};
}

/** Record ArgMax/ArgMin of `x` over `axis` (normalized). */
export function argMinMax(backend: MpsgpuBackend, x: TensorInfo, axis: number, isMax: boolean): TensorInfo {
  const name = isMax ? ArgMax : ArgMin;
  const [outShape] = backend_util.computeOutAndReduceShapes(x.shape, [axis]);
  const g = reduceGeometry(x.shape, [axis]);
  if (g.outSize === 0) return backend.makeTensorInfo(outShape, 'int32');
  if (g.reduceSize === 0) return fill(backend, outShape, 0, 'int32');
  const t = wgslType(x.dtype);
  const chunks = perInvocation(g) ? 1 : chunksFor(g.outSize, g.reduceSize);
  if (chunks === 1) return backend.runProgram(argProgram(name, isMax, t, g, 'single', 1), [x], outShape, 'int32');
  const [vals, idx] = backend.runProgramMulti(argProgram(name, isMax, t, g, 'partial', chunks), [x],
                                              [{shape: [g.outSize, chunks], dtype: x.dtype}, {shape: [g.outSize, chunks], dtype: 'int32'}]);
  const result = backend.runProgram(argProgram(name, isMax, t, rowsGeometry(g.outSize, chunks), 'merge', 1), [vals, idx], outShape, 'int32');
  backend.disposeIntermediateTensorInfo(vals);
  backend.disposeIntermediateTensorInfo(idx);
  return result;
}

function argKernel(isMax: boolean): KernelFunc {
  const name = isMax ? ArgMax : ArgMin;
  return ({inputs, backend, attrs}) => {
    const {x} = inputs as {x: TensorInfo};
    if (x.dtype === 'string' || x.dtype === 'complex64') {
      throw new Error(`${name}: mpsgpu does not take ${x.dtype} input 'x' (shape [${x.shape}])`);
    }
    const {axis} = attrs as {axis: number|number[]};
    if (x.shape.length === 0) {
      throw new Error(`${name}: input 'x' must have rank ≥ 1, got shape [] (dtype ${x.dtype})`);
    }
    // As tfjs-backend-cpu: the first of the axes given.
    const axes = util.parseAxisParam(axis, x.shape);
    return argMinMax(mpsgpuBackend(backend), x, axes[0], isMax);
  };
}

export const argMaxConfig: KernelConfig = {kernelName: ArgMax, backendName: 'mpsgpu', kernelFunc: argKernel(true)};
export const argMinConfig: KernelConfig = {kernelName: ArgMin, backendName: 'mpsgpu', kernelFunc: argKernel(false)};
