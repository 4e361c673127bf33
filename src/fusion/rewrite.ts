// What the fusion passes that replace one node at a time share: walking the segment, replacing a
// node by what a pass made of it, and dropping the nodes it absorbed.
import type {Node} from '../graph/graph.js';

/** A node replaced: by `node`, which computes what `absorbed` computed too; `saved` dispatches fewer. */
export interface Rewrite {
  node: Node;
  absorbed: Node[];
  saved: number;
}

/** The segment after a pass. */
export interface PassResult {
  nodes: Node[];
  needed: boolean[];
  /** Dispatches saved. */
  absorbed: number;
}

/**
 * Applies `rewrite` to each needed node `applies` to, and again to the result while `applies` to
 * it and it rewrites; drops the absorbed nodes (which come before their absorbers).
 */
export function rewriteNodes(nodes: Node[], needed: boolean[], applies: (node: Node) => boolean,
                             rewrite: (node: Node) => Rewrite|null): PassResult {
  const out = [...nodes];
  const gone = new Set<Node>();
  let absorbed = 0;
  for (let i = 0; i < out.length; ++i) {
    if (!needed[i]) continue;
    while (applies(out[i])) {
      const r = rewrite(out[i]);
      if (!r) break;
      for (const n of r.absorbed) gone.add(n);
      out[i] = r.node;
      absorbed += r.saved;
    }
  }
  return withoutNodes(out, needed, gone, absorbed);
}

/** The segment `out` (with its `needed` flags) less the nodes in `gone`. */
export function withoutNodes(out: Node[], needed: boolean[], gone: Set<Node>, absorbed: number): PassResult {
  const keep = out.map(n => !gone.has(n));
  return {nodes: out.filter((_, i) => keep[i]), needed: needed.filter((_, i) => keep[i]), absorbed};
}

/** The names of the kernels a fused node computes. */
export function namesOf(node: Node): string[] {
  return node.fusedNames ?? [node.program.name];
}
