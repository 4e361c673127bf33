// Typed builders for compute shaders. Every kernel describes its shader as a ShaderSpec; this file
// turns it into WGSL with the bindings, the uniform struct, the index helpers and the entry point,
// so no kernel writes that boilerplate itself.
import {DataType, TensorInfo} from '@tensorflow/tfjs-core';

/** Scalar types a storage buffer or uniform holds. bool is stored as i32 (4 bytes an element). */
export type WgslScalar = 'f32'|'i32'|'u32';

export function wgslType(dtype: DataType): WgslScalar {
  switch (dtype) {
    case 'float32': return 'f32';
    case 'int32':
    case 'bool': return 'i32';
    default: throw new Error(`mpsgpu: dtype ${dtype} has no GPU storage type`);
  }
}

/** A uniform value: a name, a WGSL scalar type and the number to pack. */
export interface Uniform {
  name: string;
  type: WgslScalar;
  value: number;
}

export interface BufferDecl {
  name: string;
  type: WgslScalar;
  /** Read through vec4 (the buffer's length must be a multiple of 4 elements for that access). */
  vec4?: boolean;
}

export interface ShaderSpec {
  /** Read-only storage inputs, bound in order after the outputs. */
  inputs: BufferDecl[];
  /** read_write storage outputs, bound first. */
  outputs: BufferDecl[];
  workgroupSize: [number, number, number];
  /** Module-scope declarations: helper functions, workgroup arrays, constants. */
  declarations?: string;
  /**
   * Body of main. In scope: `gid`, `lid`, `wid` (vec3<u32>), `lindex` (local_invocation_index),
   * `flatId` (the invocation's linear index over a 1-D dispatch folded into x and y) and `u`.
   */
  body: string;
  /** Needs `enable f16;`. */
  f16?: boolean;
  /** Further WGSL extensions to enable (`enable subgroups;`, …), emitted after `enable f16;`. */
  extensions?: string[];
}

/** Max workgroups per dispatch dimension that every WebGPU adapter accepts. */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/** Dispatch covering `count` invocations of a 1-D workgroup of `size`, folded into x and y. */
export function dispatch1D(count: number, size: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(count / size));
  if (groups <= MAX_WORKGROUPS_PER_DIM) return [groups, 1, 1];
  const y = Math.ceil(groups / MAX_WORKGROUPS_PER_DIM);
  return [Math.ceil(groups / y), y, 1];
}

export function buildShader(spec: ShaderSpec, uniforms: Array<Pick<Uniform, 'name'|'type'>>): string {
  const lines: string[] = [];
  if (spec.f16) lines.push('enable f16;');
  for (const extension of spec.extensions ?? []) lines.push(`enable ${extension};`);
  if (uniforms.length > 0) {
    lines.push('struct Uniforms {');
    for (const uniform of uniforms) lines.push(`  ${uniform.name}: ${uniform.type},`);
    lines.push('};');
  }
  let binding = 0;
  for (const out of spec.outputs) {
    const t = out.vec4 ? `vec4<${out.type}>` : out.type;
    lines.push(`@group(0) @binding(${binding++}) var<storage, read_write> ${out.name}: array<${t}>;`);
  }
  for (const input of spec.inputs) {
    const t = input.vec4 ? `vec4<${input.type}>` : input.type;
    lines.push(`@group(0) @binding(${binding++}) var<storage, read> ${input.name}: array<${t}>;`);
  }
  if (uniforms.length > 0) {
    lines.push(`@group(0) @binding(${binding++}) var<uniform> u: Uniforms;`);
  }
  lines.push(COMMON_FUNCTIONS);
  if (spec.declarations) lines.push(spec.declarations);
  const [x, y, z] = spec.workgroupSize;
  lines.push(`@compute @workgroup_size(${x}, ${y}, ${z})`);
  lines.push('fn main(@builtin(global_invocation_id) gid: vec3<u32>,');
  lines.push('        @builtin(local_invocation_id) lid: vec3<u32>,');
  lines.push('        @builtin(local_invocation_index) lindex: u32,');
  lines.push('        @builtin(workgroup_id) wid: vec3<u32>,');
  lines.push('        @builtin(num_workgroups) nwg: vec3<u32>) {');
  lines.push(`  let flatId = gid.x + gid.y * nwg.x * ${x}u;`);
  lines.push(spec.body);
  lines.push('}');
  return lines.join('\n');
}

/**
 * Functions every shader may call. NaN tests are done on the bits because compilers may fold
 * `x != x` to false.
 */
const COMMON_FUNCTIONS = `
fn isNan(x: f32) -> bool {
  let bits = bitcast<u32>(x);
  return (bits & 0x7f800000u) == 0x7f800000u && (bits & 0x7fffffu) != 0u;
}
fn isInf(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u;
}
// A var, not a constant: constant expressions may not evaluate to NaN or infinity.
fn nanF32() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
fn infF32() -> f32 { var bits = 0x7f800000u; return bitcast<f32>(bits); }
`;

/** Uniforms `${prefix}0..` holding a shape or strides. */
export function arrayUniforms(prefix: string, values: number[], type: WgslScalar = 'u32'): Uniform[] {
  return values.map((value, i) => ({name: `${prefix}${i}`, type, value}));
}

/** Row-major strides of a shape. */
export function stridesOf(shape: number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; --i) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function sizeOf(shape: number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}

/** `u.${prefix}0`, … as a WGSL expression list. */
export function uniformRef(prefix: string, i: number): string {
  return `u.${prefix}${i}`;
}

/**
 * WGSL statements that split flat index `flat` of a tensor with row-major strides in uniforms
 * `${stridesPrefix}0..rank-1` into `let ${coord}0..`.
 */
export function unflatten(flat: string, stridesPrefix: string, rank: number, coord: string): string {
  if (rank === 0) return '';
  const out: string[] = [`var rem_${coord} = ${flat};`];
  for (let d = 0; d < rank; ++d) {
    if (d === rank - 1) {
      out.push(`let ${coord}${d} = rem_${coord};`);
    } else {
      out.push(`let ${coord}${d} = rem_${coord} / u.${stridesPrefix}${d};`);
      out.push(`rem_${coord} = rem_${coord} - ${coord}${d} * u.${stridesPrefix}${d};`);
    }
  }
  return out.join('\n  ');
}

/** Dot product of coords `${coord}d` with uniform strides `${stridesPrefix}d`. */
export function dotStrides(coord: string, stridesPrefix: string, rank: number): string {
  if (rank === 0) return '0u';
  const terms: string[] = [];
  for (let d = 0; d < rank; ++d) terms.push(`${coord}${d} * u.${stridesPrefix}${d}`);
  return terms.join(' + ');
}

export function uniformDecls(prefix: string, count: number, type: WgslScalar = 'u32') {
  return Array.from({length: count}, (_, i) => ({name: `${prefix}${i}`, type}));
}

/**
 * Store `value` in a cache of a pure function (of shapes, dtypes, attributes), first clearing the
 * whole cache once it holds `max` entries: bounded however many distinct shapes a process records.
 */
export function cacheSet<K, V>(cache: Map<K, V>, key: K, value: V, max = 1024): V {
  if (cache.size >= max) cache.clear();
  cache.set(key, value);
  return value;
}

/** A shape (or any list of integers) as key text, each entry followed by ','. */
export function shapeKey(shape: readonly number[]): string {
  let key = '';
  for (let i = 0; i < shape.length; ++i) key += shape[i] + ',';
  return key;
}

/** A tensor's dtype and shape as key text ('-' for none). */
export function tensorKey(t: TensorInfo|undefined|null): string {
  return t == null ? '-' : t.dtype + ':' + shapeKey(t.shape);
}

/** The record cache of `device` in `caches`, made empty the first time (fill it with cacheSet). */
export function deviceRecords<V>(caches: WeakMap<object, Map<string, V>>, device: object): Map<string, V> {
  let records = caches.get(device);
  if (records === undefined) caches.set(device, records = new Map());
  return records;
}

/** A number as key text that tells -0 from 0 (String gives '0' for both). */
export function numberKey(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}
