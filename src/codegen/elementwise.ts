// Elementwise expressions: a small typed tree over input tensors, turned into one WGSL kernel with
// broadcasting. Kernels build trees; fusion (a later pass) substitutes trees into each other, which
// is why an op is a template over its argument expressions and not a finished shader.
import {Program} from './program.js';
import {arrayUniforms, dispatch1D, ShaderSpec, sizeOf, stridesOf, Uniform, unflatten, uniformDecls, WgslScalar} from './shader.js';

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

/** Structural key of a tree (constants included: they are baked into the shader). */
export function exprKey(e: Expr): string {
  switch (e.kind) {
    case 'input': return `i${e.index}:${e.type}`;
    case 'const': return `c${e.value}:${e.type}`;
    case 'uniform': return `u${e.name}:${e.type}`;
    case 'op': return `(${e.template}|${e.type}|${e.args.map(exprKey).join(',')})`;
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

/** How an input is read at an output position. */
type Access = 'same'|'scalar'|'broadcast'|'strided';

function accessOf(input: ElementwiseInput, outShape: number[]): Access {
  if (input.view) return 'strided';
  const inShape = input.shape;
  if (sizeOf(inShape) === 1) return 'scalar';
  if (inShape.length === outShape.length && inShape.every((d, i) => d === outShape[i])) return 'same';
  return 'broadcast';
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
 * One dispatch computing `expr` at every position of `outShape`; input i is broadcast against
 * `outShape` numpy-style. Extra uniforms (for 'uniform' leaves) are passed in `uniforms`.
 */
export function elementwiseProgram(name: string, expr: Expr, inputs: ElementwiseInput[],
                                   outShape: number[], outType: WgslScalar,
                                   uniforms: Uniform[] = []): Program {
  const rank = outShape.length;
  const size = sizeOf(outShape);
  const access = inputs.map(i => accessOf(i, outShape));
  const needCoords = access.includes('broadcast') || access.includes('strided');
  const allUniforms: Uniform[] = [{name: 'size', type: 'u32', value: size}, ...uniforms];
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
  const key = `ew|${exprKey(expr)}|${outType}|${rank}|${access.join(',')}|${inputs.map(i => i.type).join(',')}|${uniforms.map(x => x.name + x.type).join(',')}`;
  const shader = (): ShaderSpec => {
    const helpers = new Map<string, string>();
    const stmts: string[] = [];
    const load = (k: number) => {
      switch (access[k]) {
        case 'same': return `in${k}[i]`;
        case 'scalar': return `in${k}[0]`;
        case 'broadcast':
        case 'strided': {
          const terms = Array.from({length: rank}, (_, d) => `c${d} * u.in${k}Stride${d}`);
          if (access[k] === 'strided') terms.push(`u.in${k}Offset`);
          return `in${k}[${terms.length > 0 ? terms.join(' + ') : '0u'}]`;
        }
      }
    };
    const result = emitExpr(expr, load, helpers, stmts);
    return {
      inputs: inputs.map((inp, k) => ({name: `in${k}`, type: inp.type})),
      outputs: [{name: 'out', type: outType}],
      workgroupSize: [workgroup, 1, 1],
      declarations: [...helpers.values()].join('\n'),
      body: `
  let i = flatId;
  if (i >= u.size) { return; }
  ${needCoords ? unflatten('i', 'outStride', rank, 'c') : ''}
  ${stmts.join('\n  ')}
  out[i] = ${result};`,
    };
  };
  return {name, key, shader, uniforms: allUniforms, dispatch: dispatch1D(size, workgroup)};
}

export {uniformDecls};
