// Concatenation along the last axis of 2-D views: out [outer, total], branch b filling columns
// [start_b, start_b + inner_b). A branch's values are an expression over its own inputs, read at
// the branch-local flat index row·inner_b + (column − start_b): a plain copy of the input
// (kernels/Concat.ts), or the elementwise producer's own computation (src/fusion/concat_producers.ts),
// so that a branch's tensor is written straight into its columns and never stored by itself.
import {prologueInline, ReadPrologue} from './elementwise.js';
import {Program, ProgramPart} from './program.js';
import {dispatch1D, ShaderSpec, Uniform, WgslScalar} from './shader.js';

const WORKGROUP = 64;

export interface ConcatBranch {
  /** The first output column it fills. */
  start: number;
  /** Its columns. */
  inner: number;
  /** Its values, over its own inputs; `values.shape` has outer·inner elements. */
  values: ReadPrologue;
}

/** A branch that copies its input of `shape` (stored as `type`). */
export function copyBranch(start: number, inner: number, shape: number[], type: WgslScalar): ConcatBranch {
  return {start, inner, values: {expr: {kind: 'input', index: 0, type}, inputs: [{shape, type}], shape, uniforms: []}};
}

/** Whether `b` copies its one input: its values are that input read position for position. */
export function isCopy(b: ConcatBranch): boolean {
  const v = b.values;
  if (v.expr.kind !== 'input' || v.inputs.length !== 1 || v.uniforms.length !== 0 || v.inputs[0].view) return false;
  // A broadcast (Tile over unit axes records a bare input of fewer elements) is no copy.
  const s = v.inputs[0].shape;
  return s.length === v.shape.length && s.every((n, d) => n === v.shape[d]);
}

/** Whether every branch can be computed four columns at a time (vec4 loads and stores). */
export function concatVec4Able(outer: number, total: number, inners: number[]): boolean {
  return total % 4 === 0 && inners.every(n => n % 4 === 0) && outer * total >= 16;
}

/**
 * One dispatch filling the columns of `branches` (in column order) of out [outer, total], as
 * `outType`; the other columns are left as they are. vec 4: every start, inner and total is a
 * multiple of 4, and every branch's values are readable four at a time.
 */
export function concatBranchesProgram(name: string, outer: number, total: number, branches: ConcatBranch[],
                                      outType: WgslScalar, vec: 1|4): Program {
  const cols = branches.reduce((a, b) => a + b.inner, 0);
  const lanes = outer * cols / vec;
  const uniforms: Uniform[] = [
    {name: 'size', type: 'u32', value: lanes},
    {name: 'cols', type: 'u32', value: cols / vec},
    {name: 'total', type: 'u32', value: total / vec},
  ];
  const helpers = new Map<string, string>();
  let end = 0;
  const inlines = branches.map((b, k) => {
    // This dispatch's columns [end - inner, end) are the output's [start, start + inner).
    end += b.inner;
    uniforms.push({name: `end${k}`, type: 'u32', value: end / vec}, {name: `inner${k}`, type: 'u32', value: b.inner / vec},
                  {name: `shift${k}`, type: 'u32', value: (b.start - (end - b.inner)) / vec});
    const inline = prologueInline({exprs: [b.values.expr], inputs: b.values.inputs, shape: b.values.shape, uniforms: b.values.uniforms},
                                  vec, `b${k}`, helpers);
    uniforms.push(...inline.uniforms);
    return inline;
  });
  const n = branches.length;
  const shader = (): ShaderSpec => {
    const blocks = inlines.map((inline, k) => {
      const first = k === 0 ? '0u' : `u.end${k - 1}`;
      const {stmts, values} = inline.code('j');
      const block = `
    let j = row * u.inner${k} + col - ${first};
    ${stmts}
    out[row * u.total + col + u.shift${k}] = ${values[0]};
    return;`;
      return k === n - 1 ? `{${block}\n  }` : `if (col < u.end${k}) {${block}\n  }`;
    });
    return {
      inputs: inlines.flatMap(inline => inline.inputs),
      outputs: [{name: 'out', type: outType, vec4: vec === 4}],
      workgroupSize: [WORKGROUP, 1, 1],
      declarations: [...helpers.values()].join('\n'),
      body: `
  let i = flatId;
  if (i >= u.size) { return; }
  let row = i / u.cols;
  let col = i - row * u.cols;
  ${blocks.join('\n  ')}`,
    };
  };
  const key = `concat|${outType}|${vec}|${inlines.map(inline => inline.key).join('|')}`;
  return {name, key, shader, uniforms, dispatch: dispatch1D(lanes, WORKGROUP)};
}

/**
 * The program filling out [outer, total] from `branches` (all its columns, in order): one dispatch
 * while their inputs fit `maxInputs` bindings, else parts of consecutive branches, each within it.
 * The node's inputs are the branches' inputs in order.
 */
export function concatProgram(name: string, outer: number, total: number, branches: ConcatBranch[], outType: WgslScalar,
                              vec: 1|4, maxInputs: number): Program {
  const groups: ConcatBranch[][] = [];
  let count = Infinity;
  for (const b of branches) {
    const k = b.values.inputs.length;
    if (count + k > maxInputs) {
      groups.push([]);
      count = 0;
    }
    groups[groups.length - 1].push(b);
    count += k;
  }
  const hook = {outer, branches};
  if (groups.length === 1) return {...concatBranchesProgram(name, outer, total, branches, outType, vec), concat: hook};
  let next = 0;
  const parts: ProgramPart[] = groups.map(group => {
    const inputs: number[] = [];
    for (const b of group) for (let k = 0; k < b.values.inputs.length; ++k) inputs.push(next++);
    return {program: concatBranchesProgram(name, outer, total, group, outType, vec), inputs};
  });
  return {
    name,
    key: `parts|${parts.map(p => p.program.key).join('||')}`,
    shader: () => { throw new Error('mpsgpu internal error: a program of parts has no shader of its own'); },
    uniforms: [],
    dispatch: [0, 0, 0],
    parts,
    concat: hook,
  };
}
