// Programs that copy 32-bit words: out[i] = x[source] where the source index is computed from the
// output coordinates c0, c1, … of element i. float32, int32 and bool are all one word, so one shader
// per rank serves every dtype of the data-movement kernels built on it (slice, pad, tile, …).
import {Program} from './program.js';
import {arrayUniforms, dispatch1D, ShaderSpec, sizeOf, stridesOf, Uniform, unflatten} from './shader.js';

const WORKGROUP = 64;

export interface WordCopySpec {
  /** The tfjs kernel, for stats. */
  name: string;
  /** The shader family; the cache key is `${key}|${rank}`. */
  key: string;
  outShape: number[];
  /** The kernel's own uniforms (`size` and `outStride*` are added here). */
  uniforms: Uniform[];
  /** Statements run before the copy; they may write `out[i]` and return early (padding). */
  statements?: string[];
  /** WGSL u32 expression of the source word's index. */
  source: string;
}

/** Program keys by family and rank: one string each (maps keyed by it find it without hashing anew). */
const familyKeys = new Map<string, string[]>();

function familyKey(family: string, rank: number): string {
  let byRank = familyKeys.get(family);
  if (byRank === undefined) familyKeys.set(family, byRank = []);
  return byRank[rank] ??= `${family}|${rank}`;
}

export function wordCopyProgram(spec: WordCopySpec): Program {
  const rank = spec.outShape.length;
  const size = sizeOf(spec.outShape);
  const uniforms: Uniform[] = [
    {name: 'size', type: 'u32', value: size},
    ...arrayUniforms('outStride', stridesOf(spec.outShape).slice(0, Math.max(rank - 1, 0))),
    ...spec.uniforms,
  ];
  const shader = (): ShaderSpec => ({
    inputs: [{name: 'x', type: 'u32'}],
    outputs: [{name: 'out', type: 'u32'}],
    workgroupSize: [WORKGROUP, 1, 1],
    body: `
  let i = flatId;
  if (i >= u.size) { return; }
  ${unflatten('i', 'outStride', rank, 'c')}
  ${(spec.statements ?? []).join('\n  ')}
  out[i] = x[${spec.source}];`,
  });
  return {name: spec.name, key: familyKey(spec.key, rank), shader, uniforms, dispatch: dispatch1D(size, WORKGROUP)};
}
