// A program is one compute dispatch: its shader (built once per key), its uniforms and its grid.
import {ShaderSpec, Uniform} from './shader.js';

export interface Program {
  /** The tfjs kernel (or fused group) this dispatch serves: for stats and profiles. */
  name: string;
  /** Same key ⇒ same WGSL: the shader cache's key, so shaders are built once. */
  key: string;
  shader: () => ShaderSpec;
  /** Packed in order into the dispatch's uniform block; their names and types are part of `key`. */
  uniforms: Uniform[];
  dispatch: [number, number, number];
}
