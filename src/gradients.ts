// Gradients tfjs-core builds on the CPU, replaced while mpsgpu is the active backend.
//
// tfjs-core 4.22's Mean and Sum gradients multiply dy by `ones(x.shape)`, a typed array of x's
// size filled in JavaScript and uploaded: for InceptionV3's batch-norm statistics (64 × 147² × 64
// elements and the like, twice per layer) that was half of a training step's CPU time on the
// H200. Here the ones come from OnesLike, a GPU fill, and the whole gradient (broadcast, multiply,
// divide) fuses into one elementwise kernel. The values are the same: dy · 1 (/ n).
//
// Gradients are global in tfjs, so each is wrapped: with another backend active, tfjs-core's own
// gradient runs. They are installed when this module loads and again when the backend is created
// (tfjs-core's gradients may be registered after this package is imported).
import {cast, div, engine, getGradient, GradConfig, Mean, MeanAttrs, mul, NamedAttrMap, onesLike, registerGradient, reshape, Sum,
        SumAttrs, Tensor, util} from '@tensorflow/tfjs-core';

const OURS = new WeakSet<GradConfig>();

/** dy of a reduction over `axis` of x, broadcast back to x's shape (and divided by the count for Mean). */
function reductionGrad(mean: boolean) {
  return (dy: Tensor, saved: Tensor[], attrs: NamedAttrMap): {x: () => Tensor} => {
    const [x] = saved;
    const {axis} = attrs as unknown as MeanAttrs|SumAttrs;
    const axes = util.parseAxisParam(axis, x.shape);
    const expandedShape = x.shape.map((n, d) => (axes.includes(d) ? 1 : n));
    const count = axes.reduce((n, d) => n * x.shape[d], 1);
    return {
      x: () => {
        // onesLike(x) is float32 for a float32 x; tfjs-core's ones are float32 for any x.
        const ones = x.dtype === 'float32' ? onesLike(x) : cast(onesLike(x), 'float32');
        const spread = mul(reshape(dy, expandedShape), ones);
        return mean ? div(spread, count) : spread;
      },
    };
  };
}

const REPLACEMENTS: Array<[string, ReturnType<typeof reductionGrad>]> = [[Mean, reductionGrad(true)], [Sum, reductionGrad(false)]];

/** Wraps the registered Mean and Sum gradients (once each) so that mpsgpu uses the ones above. */
export function installGradients(backendName: string): void {
  for (const [kernelName, ours] of REPLACEMENTS) {
    const current = getGradient(kernelName);
    if (!current || OURS.has(current)) continue;
    const wrapped: GradConfig = {
      ...current,
      gradFunc: (dy, saved, attrs) => (engine().backendName === backendName && !Array.isArray(dy)
        ? ours(dy, saved, attrs) : current.gradFunc(dy, saved, attrs)),
    };
    OURS.add(wrapped);
    registerGradient(wrapped);
  }
}
