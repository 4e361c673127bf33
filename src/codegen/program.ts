// A program is one compute dispatch: its shader (built once per key), its uniforms and its grid.
import type {ConcatBranch} from './concat.js';
import type {ElementwiseInput, Expr, ExtraOutput, ReadPrologue, ReadPrologues} from './elementwise.js';
import {ShaderSpec, Uniform, WgslScalar} from './shader.js';

/** What an elementwise program computes, kept so that fusion (src/fusion) can rebuild it merged. */
export interface ElementwiseDesc {
  expr: Expr;
  inputs: ElementwiseInput[];
  outShape: number[];
  outType: WgslScalar;
  /** The uniforms `expr`'s 'uniform' leaves read (not the program's own geometry uniforms). */
  uniforms: Uniform[];
  /** Outputs 1… (fused intermediates tfjs still holds); output 0 is `expr`. */
  extraOutputs: ExtraOutput[];
}

export interface Program {
  /** The tfjs kernel (or fused group) this dispatch serves: for stats and profiles. */
  name: string;
  /** Same key ⇒ same WGSL: the shader cache's key, so shaders are built once. */
  key: string;
  shader: () => ShaderSpec;
  /** Packed in order into the dispatch's uniform block; their names and types are part of `key`. */
  uniforms: Uniform[];
  dispatch: [number, number, number];
  /** Set by elementwiseProgram: the program is this expression, which fusion may merge. */
  elementwise?: ElementwiseDesc;
  /** A reduction's pass over its input (kernels/reduce.ts): fusion may compute that input in it. */
  reduction?: ReductionHook;
  /** A reduction's pass fusion may merge with others of its layout (src/fusion/sibling_reductions.ts). */
  siblingReduction?: SiblingReductionHook;
  /** A GEMM's storing program (src/codegen/gemm.ts): fusion may apply an elementwise reader in it. */
  epilogue?: EpilogueHook;
  /**
   * Run as `count` dispatches in order, the uniform named `uniform` (u32) set to 0 … count-1, on
   * the same bindings: a sequential loop (an LSTM's time steps) as one node, each iteration reading
   * what the one before wrote in the outputs (bound read_write; WebGPU orders the dispatches).
   */
  repeat?: {count: number; uniform: string};
  /** A concatenation's columns (kernels/Concat.ts): fusion may compute its inputs in it. */
  concat?: ConcatHook;
  /** A strided copy (kernels/Slice.ts): an elementwise reader may read its source through the view. */
  stridedView?: StridedView;
  /**
   * Run as these dispatches in order instead of one of the program's own (its `shader` is then
   * never built): each binds the node's outputs and the node inputs numbered in `inputs`. A
   * concatenation of more inputs than one dispatch may bind fills its output's columns part by part.
   */
  parts?: ProgramPart[];
}

/** The dispatches a program runs as (its parts, its repeats, or its own one). */
export function dispatchesOf(p: Program): number {
  return p.parts?.length ?? p.repeat?.count ?? 1;
}

export interface ProgramPart {
  program: Program;
  inputs: number[];
}

/**
 * A concatenation into [outer, Σ branches' inners]: its branches in column order, each reading its own
 * inputs, which are the node's in order (a recorded Concat: each branch a copy of one input).
 */
export interface ConcatHook {
  outer: number;
  branches: ConcatBranch[];
}

/**
 * out[i] = in[offset + Σ c_d·strides[d]] over the coordinates c of `shape` (row-major, of the
 * output's size): a view of the input that a reader can index instead of a copy.
 */
export interface StridedView {
  shape: number[];
  strides: number[];
  offset: number;
}

/** How a reduction reads its one input, and the same program reading an expression instead. */
export interface ReductionHook {
  /** Elements per read (4: vec4 loads of neighbours). */
  vec: 1|4;
  inType: WgslScalar;
  withPrologue: (prologue: ReadPrologue) => Program;
}

/**
 * A reduction pass that can share its dispatch with passes of the same `key` (one layout, one
 * chunking): each reduces its own value of the same rows.
 */
export interface SiblingReductionHook {
  key: string;
  /** What this pass reduces, over its node's inputs: a fused prologue, or the input itself. */
  values: ReadPrologue;
  /** The pass's reduction (opaque outside the kernel). */
  stage: unknown;
  /** One program reducing `values.exprs[k]` by `stages[k]` into output k, all over `values.inputs`. */
  combine: (stages: unknown[], values: ReadPrologues) => Program;
}

/** How an extra input of a fused epilogue is read at output element (m, n). */
export type EpilogueLoad = 'same'|'channel'|'scalar';

/**
 * A GEMM whose output is stored row-major ([…, N], element (m, n) at flat index m·N + n), and the
 * same program applying an elementwise function to each result before the store.
 */
export interface EpilogueHook {
  /** N: the output's last dimension. */
  n: number;
  /** Buffers the program binds now (operands, its own epilogue's inputs, the output). */
  buffers: number;
  /**
   * `expr` over input(0) = the GEMM's result and input(j ≥ 1) = `inputs[j - 1]`, each read the
   * given way ('same': the output's own index; 'channel': index n; 'scalar': index 0); its
   * uniform leaves are `uniforms` (named apart from the GEMM's).
   */
  withEpilogue: (e: {expr: Expr; outType: WgslScalar; inputs: Array<{type: WgslScalar; load: EpilogueLoad}>; uniforms: Uniform[]}) => Program;
}
