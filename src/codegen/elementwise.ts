// Elementwise expressions: a small typed tree over input tensors, turned into one WGSL kernel with
// broadcasting. Kernels build trees; fusion (a later pass) substitutes trees into each other, which
// is why an op is a template over its argument expressions and not a finished shader.
import {Program} from './program.js';
import {arrayUniforms, BufferDecl, dispatch1D, numberKey, ShaderSpec, sizeOf, stridesOf, Uniform, unflatten, uniformDecls, WgslScalar} from './shader.js';

export type Expr =
  | {kind: 'input'; index: number; type: WgslScalar}
  | {kind: 'const'; value: number; type: WgslScalar}
  | {kind: 'uniform'; name: string; type: WgslScalar}
  | {kind: 'op'; template: string; args: Expr[]; type: WgslScalar; helper?: Helper};

/** A module-scope function an op template calls; deduplicated by name. */
export interface Helper {
  name: string;
  code: string;
}

export function input(index: number, type: WgslScalar): Expr {
  return {kind: 'input', index, type};
}

export function constant(value: number, type: WgslScalar): Expr {
  return {kind: 'const', value, type};
}

/** An op: `template` is WGSL with `$0`, `$1`, … standing for the argument expressions. */
export function op(template: string, type: WgslScalar, args: Expr[], helper?: Helper): Expr {
  return {kind: 'op', template, args, type, helper};
}

function literal(value: number, type: WgslScalar): string {
  if (type === 'f32') {
    if (Number.isNaN(value)) return 'nanF32()';
    if (value === Infinity) return 'infF32()';
    if (value === -Infinity) return '(-infF32())';
    // Exact bits: a decimal literal could round differently than the float32 tfjs computed.
    const bits = new Uint32Array(new Float32Array([value]).buffer)[0];
    return `bitcast<f32>(${bits}u)`;
  }
  if (type === 'u32') return `${value >>> 0}u`;
  return `i32(${value | 0})`;
}

/**
 * exprKey of trees seen before. Trees are never modified once built (kernels reuse theirs across
 * calls; fusion builds new ones), so a tree's key is computed once.
 */
const exprKeys = new WeakMap<Expr, string>();

/** Structural key of a tree (constants included: they are baked into the shader). */
export function exprKey(e: Expr): string {
  if (e.kind !== 'op') return treeKey(e);
  let key = exprKeys.get(e);
  if (key === undefined) {
    key = treeKey(e);
    exprKeys.set(e, key);
  }
  return key;
}

function treeKey(e: Expr): string {
  switch (e.kind) {
    case 'input': return `i${e.index}:${e.type}`;
    // -0 apart from 0: their literals differ.
    case 'const': return `c${numberKey(e.value)}:${e.type}`;
    case 'uniform': return `u${e.name}:${e.type}`;
    case 'op': {
      let key = `(${e.template}|${e.type}|`;
      for (let i = 0; i < e.args.length; ++i) key += i === 0 ? treeKey(e.args[i]) : `,${treeKey(e.args[i])}`;
      return `${key})`;
    }
  }
}

/** WGSL statements computing `e`; returns the name of the variable holding the value. */
export function emitExpr(e: Expr, loadInput: (index: number) => string, helpers: Map<string, string>,
                         stmts: string[], memo = new Map<Expr, string>()): string {
  const done = memo.get(e);
  if (done) return done;
  let text: string;
  switch (e.kind) {
    case 'input': text = loadInput(e.index); break;
    case 'const': text = literal(e.value, e.type); break;
    case 'uniform': text = `u.${e.name}`; break;
    case 'op': {
      if (e.helper) helpers.set(e.helper.name, e.helper.code);
      const args = e.args.map(a => emitExpr(a, loadInput, helpers, stmts, memo));
      text = e.template.replace(/\$(\d+)/g, (_, i) => args[Number(i)]);
      break;
    }
  }
  const name = `v${stmts.length}`;
  stmts.push(`let ${name}: ${e.type} = ${text};`);
  memo.set(e, name);
  return name;
}

export interface ElementwiseInput {
  shape: number[];
  type: WgslScalar;
  /**
   * A strided view of the buffer: element strides per output dimension (0 broadcasts) and a start
   * offset. Absent: the input is dense and broadcast numpy-style against the output.
   */
  view?: {strides: number[]; offset: number};
}

/**
 * How an input is read at output position i:
 * - 'same': in[i]; 'scalar': in[0];
 * - 'tail': in[i % mod] — the input is a trailing block of the output ([C] or [1,1,1,C] against
 *   [N,H,W,C]: a bias, a batch-norm parameter);
 * - 'block': in[(i / div) % mod] — the input's non-broadcast dimensions are one contiguous run of
 *   the output's ([N,1] against [N,C]: a row statistic kept with keepDims);
 * - 'broadcast': any other numpy broadcast, through coordinates (a division per dimension);
 * - 'strided': a strided view (coordinates, strides, offset).
 */
type Access = 'same'|'scalar'|'tail'|'block'|'broadcast'|'strided';

interface AccessPlan {
  access: Access;
  /** For 'tail' and 'block': the divisor and the modulus of the flat output index. */
  div: number;
  mod: number;
}

function plan(access: Access, div = 1, mod = 1): AccessPlan {
  return {access, div, mod};
}

function accessOf(input: ElementwiseInput, outShape: number[]): AccessPlan {
  if (input.view) return plan('strided');
  const inShape = input.shape;
  if (sizeOf(inShape) === 1) return plan('scalar');
  if (inShape.length === outShape.length && inShape.every((d, i) => d === outShape[i])) return plan('same');
  // The output dimensions (size > 1) the input spans: one contiguous run of them means flat index
  // arithmetic instead of coordinates.
  const offset = outShape.length - inShape.length;
  let first = -1, last = -1, contiguous = true;
  for (let d = 0; d < outShape.length; ++d) {
    if (outShape[d] === 1) continue;
    const id = d - offset;
    const spans = id >= 0 && inShape[id] !== 1;
    if (!spans) continue;
    if (last >= 0) {
      // A broadcast dimension (size > 1 in the output) between two spanned ones breaks the run.
      for (let k = last + 1; k < d; ++k) if (outShape[k] !== 1) contiguous = false;
    }
    if (first < 0) first = d;
    last = d;
  }
  if (first < 0 || !contiguous) return plan('broadcast');
  const div = sizeOf(outShape.slice(last + 1));
  const mod = sizeOf(outShape.slice(first, last + 1));
  return div === 1 ? plan('tail', 1, mod) : plan('block', div, mod);
}

/** Strides of `inShape` (numpy-broadcast against `outShape`) per output dimension; 0 where broadcast. */
export function broadcastStrides(inShape: number[], outShape: number[]): number[] {
  const strides = stridesOf(inShape);
  const offset = outShape.length - inShape.length;
  return outShape.map((_, d) => {
    const id = d - offset;
    return id < 0 || inShape[id] === 1 ? 0 : strides[id];
  });
}

/**
 * Whether four neighbouring outputs (4k … 4k+3) can be computed together from vec4 loads: every
 * input is the same shape, a scalar, a trailing block of a multiple of 4 elements (its four values
 * are neighbours too) or a block whose divisor is a multiple of 4 (one value for all four).
 */
function vec4Able(plans: AccessPlan[], size: number): boolean {
  if (size % 4 !== 0 || size < 16) return false;
  return plans.every(p => p.access === 'same' || p.access === 'scalar' ||
                          (p.access === 'tail' && p.mod % 4 === 0) || (p.access === 'block' && p.div % 4 === 0));
}

/** The components of a vec4, in order. */
export const LANES = ['x', 'y', 'z', 'w'];

/**
 * One dispatch computing `expr` at every position of `outShape`; input i is broadcast against
 * `outShape` numpy-style. Extra uniforms (for 'uniform' leaves) are passed in `uniforms`.
 *
 * Memory-bound work, so the index arithmetic matters: same-shape, scalar and trailing-block or
 * contiguous-run broadcasts index with at most one division and one modulo; where all inputs allow
 * it, each invocation computes four neighbouring outputs from vec4 loads and one vec4 store.
 */
export function elementwiseProgram(name: string, expr: Expr, inputs: ElementwiseInput[],
                                   outShape: number[], outType: WgslScalar,
                                   uniforms: Uniform[] = [], extraOutputs: ExtraOutput[] = []): Program {
  const rank = outShape.length;
  const size = sizeOf(outShape);
  const plans = inputs.map(i => accessOf(i, outShape));
  const access = plans.map(p => p.access);
  const vec4 = vec4Able(plans, size);
  const needCoords = access.includes('broadcast') || access.includes('strided');
  const lanes = vec4 ? size / 4 : size;
  const allUniforms: Uniform[] = [{name: 'size', type: 'u32', value: lanes}, ...uniforms];
  plans.forEach((p, k) => {
    // In vec4 units where the load is a vec4 (tail) or the index counts vec4 outputs (block).
    if (p.access === 'tail') allUniforms.push({name: `in${k}Mod`, type: 'u32', value: vec4 ? p.mod / 4 : p.mod});
    if (p.access === 'block') {
      allUniforms.push({name: `in${k}Div`, type: 'u32', value: vec4 ? p.div / 4 : p.div}, {name: `in${k}Mod`, type: 'u32', value: p.mod});
    }
  });
  if (needCoords) {
    allUniforms.push(...arrayUniforms('outStride', stridesOf(outShape).slice(0, Math.max(rank - 1, 0))));
    inputs.forEach((inp, k) => {
      if (access[k] === 'broadcast') allUniforms.push(...arrayUniforms(`in${k}Stride`, broadcastStrides(inp.shape, outShape)));
      if (access[k] === 'strided') {
        allUniforms.push(...arrayUniforms(`in${k}Stride`, inp.view!.strides));
        allUniforms.push({name: `in${k}Offset`, type: 'u32', value: inp.view!.offset});
      }
    });
  }
  const workgroup = 64;
  const key = programKey(expr, inputs, outType, rank, access, vec4, uniforms, extraOutputs);
  // Output 0 is `expr`; outputs 1… are the extra ones (fusion: intermediates tfjs still holds).
  const outs = [{expr, type: outType}, ...extraOutputs];
  const outName = (k: number) => (k === 0 ? 'out' : `out${k}`);
  const shader = (): ShaderSpec => {
    const helpers = new Map<string, string>();
    const stmts: string[] = [];
    const index = (k: number): string => {
      switch (access[k]) {
        case 'same': return 'i';
        case 'scalar': return '0u';
        case 'tail': return `i % u.in${k}Mod`;
        case 'block': return `(i / u.in${k}Div) % u.in${k}Mod`;
        case 'broadcast':
        case 'strided': {
          const terms = Array.from({length: rank}, (_, d) => `c${d} * u.in${k}Stride${d}`);
          if (access[k] === 'strided') terms.push(`u.in${k}Offset`);
          return terms.length > 0 ? terms.join(' + ') : '0u';
        }
      }
    };
    let body: string;
    if (!vec4) {
      // One memo: subexpressions the outputs share are computed once.
      const memo = new Map<Expr, string>();
      const results = outs.map(o => emitExpr(o.expr, k => `in${k}[${index(k)}]`, helpers, stmts, memo));
      body = `
  ${needCoords ? unflatten('i', 'outStride', rank, 'c') : ''}
  ${stmts.join('\n  ')}
  ${results.map((r, k) => `${outName(k)}[i] = ${r};`).join('\n  ')}`;
    } else {
      // vec4 inputs ('same', 'tail') are loaded once; scalar ones ('scalar', 'block') serve all four.
      const loads = inputs.map((inp, k) => `let l${k} = in${k}[${index(k)}];`);
      const results = LANES.map(lane => {
        const memo = new Map<Expr, string>();
        return outs.map(o => emitExpr(o.expr, k => (access[k] === 'same' || access[k] === 'tail' ? `l${k}.${lane}` : `l${k}`), helpers, stmts, memo));
      });
      body = `
  ${loads.join('\n  ')}
  ${stmts.join('\n  ')}
  ${outs.map((o, k) => `${outName(k)}[i] = vec4<${o.type}>(${results.map(r => r[k]).join(', ')});`).join('\n  ')}`;
    }
    return {
      inputs: inputs.map((inp, k) => ({name: `in${k}`, type: inp.type, vec4: vec4 && (access[k] === 'same' || access[k] === 'tail')})),
      outputs: outs.map((o, k) => ({name: outName(k), type: o.type, vec4})),
      workgroupSize: [workgroup, 1, 1],
      declarations: [...helpers.values()].join('\n'),
      body: `
  let i = flatId;
  if (i >= u.size) { return; }${body}`,
    };
  };
  return {name, key, shader, uniforms: allUniforms, dispatch: dispatch1D(lanes, workgroup),
          elementwise: {expr, inputs, outShape, outType, uniforms, extraOutputs}};
}

const SCALAR_CODES: Record<WgslScalar, number> = {f32: 0, i32: 1, u32: 2};
const ACCESS_CODES: Record<Access, number> = {same: 0, scalar: 1, tail: 2, block: 3, broadcast: 4, strided: 5};

/**
 * Keys of programs without uniforms or extra outputs, by exprKey and then by a number encoding the
 * rest of the key exactly (keyCode). The same string comes back each time, so the maps keyed by it
 * (shaders, plan keys) find it without hashing a new string. Dropped past MAX_CACHED_KEYS exprs.
 */
const cachedKeys = new Map<string, Map<number, string>>();
const MAX_CACHED_KEYS = 4096;

/**
 * outType, vec4, rank, the number of inputs and each input's access and type, as one number
 * (mixed radix, within 2^53), or -1 where they exceed its digits.
 */
function keyCode(inputs: ElementwiseInput[], outType: WgslScalar, rank: number, access: Access[], vec4: boolean): number {
  if (rank >= 32 || inputs.length > 8) return -1;
  let code = ((SCALAR_CODES[outType] * 2 + (vec4 ? 1 : 0)) * 32 + rank) * 16 + inputs.length;
  for (let k = 0; k < inputs.length; ++k) code = code * 18 + ACCESS_CODES[access[k]] * 3 + SCALAR_CODES[inputs[k].type];
  return code;
}

/** elementwiseProgram's key: same key, same WGSL. */
function programKey(expr: Expr, inputs: ElementwiseInput[], outType: WgslScalar, rank: number, access: Access[],
                    vec4: boolean, uniforms: Uniform[], extraOutputs: ExtraOutput[]): string {
  const ek = exprKey(expr);
  const code = uniforms.length === 0 && extraOutputs.length === 0 ? keyCode(inputs, outType, rank, access, vec4) : -1;
  let byCode: Map<number, string>|undefined;
  if (code >= 0) {
    byCode = cachedKeys.get(ek);
    const cached = byCode?.get(code);
    if (cached !== undefined) return cached;
  }
  let key = `ew|${ek}|${outType}|${rank}|${access.join(',')}|${vec4 ? 'v4' : 's'}|`;
  for (let k = 0; k < inputs.length; ++k) key += k === 0 ? inputs[k].type : `,${inputs[k].type}`;
  key += '|';
  for (let k = 0; k < uniforms.length; ++k) key += k === 0 ? uniforms[k].name + uniforms[k].type : `,${uniforms[k].name}${uniforms[k].type}`;
  for (const o of extraOutputs) key += `|+${exprKey(o.expr)}:${o.type}`;
  if (code >= 0) {
    if (!byCode) {
      if (cachedKeys.size >= MAX_CACHED_KEYS) cachedKeys.clear();
      byCode = new Map();
      cachedKeys.set(ek, byCode);
    }
    byCode.set(code, key);
  }
  return key;
}

/** A further output of an elementwise program, of the same shape: `expr` stored as `type`. */
export interface ExtraOutput {
  expr: Expr;
  type: WgslScalar;
}

export {uniformDecls};

/**
 * An elementwise expression read in place of a program's input (fusion: the producer of a
 * reduction's input, computed where the reduction reads it). Its inputs are read at the same flat
 * index ('same'), at index 0 ('scalar') or at the index modulo a trailing block ('tail').
 */
export interface ReadPrologue {
  expr: Expr;
  inputs: ElementwiseInput[];
  /** The shape of the value the expression stands for (the program's input). */
  shape: number[];
  uniforms: Uniform[];
}

/** Whether `p`'s inputs can be read at flat indices in units of `vec` elements. */
export function prologueReadable(p: Pick<ReadPrologue, 'inputs'|'shape'>, vec: 1|4): boolean {
  return p.inputs.every(inp => {
    const a = accessOf(inp, p.shape);
    return a.access === 'same' || a.access === 'scalar' || (a.access === 'tail' && a.mod % vec === 0);
  });
}

/** Several expressions over one set of inputs, read at one flat index (sibling reductions' values). */
export interface ReadPrologues {
  exprs: Expr[];
  inputs: ElementwiseInput[];
  /** The shape each expression stands for. */
  shape: number[];
  uniforms: Uniform[];
}

/**
 * Inline WGSL computing each of `p.exprs` at a flat index (in `vec` units): statements, then one
 * WGSL value per expression (a vec4 of 4 neighbours where `vec` is 4). Each input is loaded once
 * and subexpressions the expressions share are computed once. Also: the bindings, the module-scope
 * helpers, the uniforms (tail moduli added) and a cache key. Bindings, moduli and loads are named
 * with `prefix` (in0…, pro0Mod… by default), so that several prologues can share one shader;
 * `helpers`, if given, collects the helpers of all of them (each defined once).
 */
export function prologueInline(p: ReadPrologues, vec: 1|4, prefix = '', helpers = new Map<string, string>()):
    {inputs: BufferDecl[]; helpers: string; uniforms: Uniform[]; key: string; code: (idx: string) => {stmts: string; values: string[]}} {
  const plans = p.inputs.map(inp => accessOf(inp, p.shape));
  const uniforms: Uniform[] = [...p.uniforms];
  plans.forEach((plan, k) => {
    if (plan.access === 'tail') uniforms.push({name: `${prefix}pro${k}Mod`, type: 'u32', value: plan.mod / vec});
  });
  const index = (k: number, idx: string) => {
    const plan = plans[k];
    if (plan.access === 'scalar') return '0u';
    if (plan.access === 'tail') return `${idx} % u.${prefix}pro${k}Mod`;
    return idx;
  };
  const wide = (k: number) => vec === 4 && plans[k].access !== 'scalar';
  const code = (idx: string) => {
    const stmts: string[] = [];
    let values: string[];
    if (vec === 1) {
      const memo = new Map<Expr, string>();
      values = p.exprs.map(e => emitExpr(e, k => `${prefix}in${k}[${index(k, idx)}]`, helpers, stmts, memo));
    } else {
      p.inputs.forEach((_, k) => stmts.push(`let ${prefix}pl${k} = ${prefix}in${k}[${index(k, idx)}];`));
      const lanes = LANES.map(lane => {
        const memo = new Map<Expr, string>();
        return p.exprs.map(e => emitExpr(e, k => (wide(k) ? `${prefix}pl${k}.${lane}` : `${prefix}pl${k}`), helpers, stmts, memo));
      });
      values = p.exprs.map((e, j) => `vec4<${e.type}>(${lanes.map(l => l[j]).join(', ')})`);
    }
    return {stmts: stmts.join('\n  '), values};
  };
  // Generating once fills `helpers`.
  code('i');
  return {
    inputs: p.inputs.map((inp, k) => ({name: `${prefix}in${k}`, type: inp.type, vec4: wide(k)})),
    helpers: [...helpers.values()].join('\n'),
    uniforms,
    code,
    key: `pro|${p.exprs.map(exprKey).join(';')}|${plans.map(x => x.access).join(',')}|${p.inputs.map(i => i.type).join(',')}|${uniforms.map(u => u.name).join(',')}`,
  };
}

/**
 * The WGSL of a prologue: bindings in0… (vec4 where read 4 at a time), a function `name(i)`
 * returning the value (a vec4 of 4 neighbours where `vec` is 4) at flat index i in `vec` units,
 * its uniforms (tail moduli added) and a cache key.
 */
export function prologueCode(p: ReadPrologue, vec: 1|4, name: string):
    {inputs: BufferDecl[]; declarations: string; uniforms: Uniform[]; key: string} {
  const inline = prologueInline({exprs: [p.expr], inputs: p.inputs, shape: p.shape, uniforms: p.uniforms}, vec);
  const {stmts, values} = inline.code('i');
  const t = p.expr.type;
  const declarations = `${inline.helpers}
fn ${name}(i: u32) -> ${vec === 4 ? `vec4<${t}>` : t} {
  ${stmts}
  return ${values[0]};
}`;
  return {inputs: inline.inputs, declarations, uniforms: inline.uniforms, key: inline.key};
}