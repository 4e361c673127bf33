#!/usr/bin/env python3
"""PyTorch/cuDNN reference times for the cases of bench/kernels.ts (same shapes, same method).

Usage (on the GPU machine; plain python3 + torch, nothing else):
  node kernels.mjs --list cases.json [--quick] [--filter RE]   # the case list, from bench/kernels.ts
  python3 torch_kernels.py cases.json --json torch.json [--reps N] [--inner K] [--budget S]
                           [--layout best|nchw|nhwc] [--device cuda]
Reps, K and the budget default to those in cases.json (those of bench/kernels.ts).

Method, as bench/kernels.ts: inputs created once; 3 warm-up executions (cuDNN's autotuner,
torch.backends.cudnn.benchmark = True, picks its algorithm there); one execution timed alone to fit
the run into the budget (fewer executions per rep first, then fewer reps, down to 1 and 3); then
each rep is
    torch.cuda.synchronize(); t0; K back-to-back executions (results kept); synchronize(); t1
and gives (t1 - t0) / K ms; the case's time is the median over the reps. It includes PyTorch's
CPU-side dispatch cost, as the tfjs times include the backends' recording and dispatch.

fp32 only: TF32 off for cuBLAS and cuDNN (torch.backends.cuda.matmul.allow_tf32 = False,
torch.backends.cudnn.allow_tf32 = False, float32 matmul precision 'highest').

Layouts. tfjs is NHWC. Convolutions, pooling and batch-norm run in both of PyTorch's 4-D layouts,
NCHW (contiguous) and channels_last (NHWC in memory), and the faster one is reported (--layout best,
the default; the JSON says which won per case). Reductions, softmax, add and matmuls run on the
tensors as tfjs lays them out (row-major NHWC / [..., M, K]); a transposed matmul operand is a
transposed view, which cuBLAS reads without a copy.

Kernels: Conv2D F.conv2d; FusedConv2D F.conv2d with bias, then relu_ in place; Conv2DBackpropInput
torch.nn.grad.conv2d_input; Conv2DBackpropFilter torch.nn.grad.conv2d_weight; depthwise the same
with groups=C (filter [kh, kw, C, mult] -> weight [C*mult, 1, kh, kw]); MaxPool/AvgPool
F.max_pool2d/F.avg_pool2d (count_include_pad=False: tfjs averages over the valid window only);
MaxPoolWithArgmax F.max_pool2d(return_indices=True); MaxPoolGrad/AvgPoolGrad torch.autograd.grad of
max_pool2d/avg_pool2d (the forward recorded once, outside the timing; retain_graph); BatchMatMul
torch.matmul (broadcasting batch); _FusedMatMul torch.matmul + bias, relu_; FusedBatchNorm
F.batch_norm(training=False); Sum/Mean torch.sum/mean over the axes; Moments torch.var_mean
(correction=0); Softmax torch.softmax; Add a + b.

Padding. The case list gives tfjs's explicit pads (top, bottom, left, right). Symmetric pads go to
PyTorch's `padding`. Asymmetric ones (tfjs 'same' with stride 2 on even sizes, explicit pads):
where the symmetric padding max(top, bottom) x max(left, right) gives the same output size (and, for
pooling, PyTorch's limit padding <= kernel/2 holds), that is used: the same work with the windows
shifted by a row/column ("shifted" in the JSON). Otherwise the input is padded with F.pad once,
outside the timing, and the kernel runs unpadded ("prepadded"; backprop input then returns a view of
the padded gradient). Both favour PyTorch slightly, if at all: they make its time a lower bound.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('cases', help='case list written by bench/kernels.ts --list')
    p.add_argument('--json', default='', help='write results here')
    p.add_argument('--reps', type=int, default=0)
    p.add_argument('--inner', type=int, default=0)
    p.add_argument('--budget', type=float, default=0.0, help='seconds of timed work per case and layout')
    p.add_argument('--layout', choices=['best', 'nchw', 'nhwc'], default='best')
    p.add_argument('--device', default='cuda')
    p.add_argument('--filter', default='', help='only cases whose name contains this')
    return p.parse_args()


def nchw(shape):
    n, h, w, c = shape
    return [n, c, h, w]


def to_layout(t, layout):
    return t.contiguous(memory_format=torch.channels_last) if layout == 'nhwc' else t.contiguous()


def rand(shape, dev, lo=-1.0, hi=1.0):
    return torch.rand(shape, device=dev, dtype=torch.float32) * (hi - lo) + lo


def torch_pads(pads, out_hw, in_hw, k, s, d, pool=False):
    """(padding, mode, F.pad tuple) for tfjs's explicit pads on one conv/pool."""
    t, b, l, r = pads['top'], pads['bottom'], pads['left'], pads['right']
    if t == b and l == r:
        return (t, l), 'symmetric', None
    ph, pw = max(t, b), max(l, r)

    def out(n, p, kk, ss, dd):
        return (n + 2 * p - dd * (kk - 1) - 1) // ss + 1
    same = out(in_hw[0], ph, k[0], s[0], d[0]) == out_hw[0] and out(in_hw[1], pw, k[1], s[1], d[1]) == out_hw[1]
    if same and (not pool or (ph <= k[0] // 2 and pw <= k[1] // 2)):
        return (ph, pw), 'shifted', None
    return (0, 0), 'prepadded', (l, r, t, b)


def conv_fn(c, dev, layout):
    """A closure running one execution of a conv-family case, and its pad mode."""
    g = c['conv']
    kernel = c['kernel']
    x_shape, f_shape, y_shape = g['x'], g['filter'], g['y']
    kh, kw = f_shape[0], f_shape[1]
    if g['depthwise']:
        cin, mult = f_shape[2], f_shape[3]
        w_shape, groups = [cin * mult, 1, kh, kw], cin
    else:
        w_shape, groups = [f_shape[3], f_shape[2], kh, kw], 1
    stride, dil = tuple(g['strides']), tuple(g['dilations'])
    padding, mode, fpad = torch_pads(g['pads'], y_shape[1:3], x_shape[1:3], (kh, kw), stride, dil)
    xs = nchw(x_shape)
    if fpad:
        xs = [xs[0], xs[1], xs[2] + fpad[2] + fpad[3], xs[3] + fpad[0] + fpad[1]]
    w = to_layout(rand(w_shape, dev), layout)
    if kernel in ('Conv2D', 'DepthwiseConv2dNative', 'FusedConv2D'):
        x = to_layout(rand(xs, dev), layout)
        if kernel == 'FusedConv2D':
            bias = rand([w_shape[0]], dev)
            return lambda: F.conv2d(x, w, bias, stride, padding, dil, groups).relu_(), mode
        return lambda: F.conv2d(x, w, None, stride, padding, dil, groups), mode
    dy = to_layout(rand(nchw(y_shape), dev), layout)
    if kernel in ('Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropInput'):
        if fpad:
            l, r, t, b = fpad
            return (lambda: torch.nn.grad.conv2d_input(xs, w, dy, stride, 0, dil, groups)[:, :, t:xs[2] - b, l:xs[3] - r]), mode
        return lambda: torch.nn.grad.conv2d_input(xs, w, dy, stride, padding, dil, groups), mode
    if kernel in ('Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter'):
        x = to_layout(rand(xs, dev), layout)
        return lambda: torch.nn.grad.conv2d_weight(x, w_shape, dy, stride, padding, dil, groups), mode
    raise ValueError(kernel)


def pool_fn(c, dev, layout):
    g = c['pool']
    kernel = c['kernel']
    k, stride = tuple(g['filterSize']), tuple(g['strides'])
    padding, mode, fpad = torch_pads(g['pads'], g['y'][1:3], g['x'][1:3], k, stride, (1, 1), pool=True)
    is_max = kernel in ('MaxPool', 'MaxPoolGrad', 'MaxPoolWithArgmax')
    x = rand(nchw(g['x']), dev)
    if fpad:
        x = F.pad(x, fpad, value=-math.inf if is_max else 0.0)
    x = to_layout(x, layout)

    def fwd(t, **kw):
        if is_max:
            return F.max_pool2d(t, k, stride, padding, **kw)
        return F.avg_pool2d(t, k, stride, padding, count_include_pad=False)
    if kernel in ('MaxPool', 'AvgPool'):
        return lambda: fwd(x), mode
    if kernel == 'MaxPoolWithArgmax':
        return lambda: fwd(x, return_indices=True), mode
    # Gradients: record the forward once; time only the backward kernel.
    x.requires_grad_(True)
    y = fwd(x)
    dy = to_layout(rand(list(y.shape), dev), layout)
    return lambda: torch.autograd.grad(y, x, dy, retain_graph=True)[0], mode


def plain_fn(c, dev):
    """Kernels run on tfjs's own layout (row-major as given)."""
    kernel, ins = c['kernel'], c['inputs']
    if kernel in ('BatchMatMul', '_FusedMatMul'):
        m = c['matmul']
        a, b = rand(m['a'], dev), rand(m['b'], dev)
        a2 = a.transpose(-1, -2) if m['transposeA'] else a
        b2 = b.transpose(-1, -2) if m['transposeB'] else b
        if kernel == '_FusedMatMul':
            bias = rand(m['bias'], dev)
            if a2.dim() == 2 and b2.dim() == 2:
                return lambda: torch.addmm(bias, a2, b2).relu_()
            return lambda: torch.matmul(a2, b2).add_(bias).relu_()
        return lambda: torch.matmul(a2, b2)
    if kernel == 'FusedBatchNorm':
        raise AssertionError('batch norm has layouts')
    if kernel in ('Sum', 'Mean'):
        x = rand(ins['x'], dev)
        axes = tuple(c['reduce']['axes'])
        op = torch.sum if kernel == 'Sum' else torch.mean
        return lambda: op(x, dim=axes)
    if kernel == 'Moments':
        x = rand(ins['x'], dev)
        axes = tuple(c['reduce']['axes'])
        return lambda: torch.var_mean(x, dim=axes, correction=0)
    if kernel == 'Softmax':
        x = rand(ins['logits'], dev)
        return lambda: torch.softmax(x, dim=-1)
    if kernel == 'Add':
        a, b = rand(ins['a'], dev), rand(ins['b'], dev)
        return lambda: a + b
    raise ValueError(f'no PyTorch version of {kernel}')


def batchnorm_fn(c, dev, layout):
    ins = c['inputs']
    shape = ins['x']  # NHWC, normalized over the last axis
    x = to_layout(rand(nchw(shape), dev), layout) if len(shape) == 4 else rand(shape, dev)
    ch = shape[-1]
    mean, offset, scale = rand([ch], dev), rand([ch], dev), rand([ch], dev)
    var = rand([ch], dev, 0.5, 1.5)
    eps = c['attrs'].get('varianceEpsilon', 1e-3)
    return lambda: F.batch_norm(x, mean, var, scale, offset, False, 0.0, eps)


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def time_fn(fn, reps, inner, budget_s):
    for _ in range(3):
        fn()
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    once = (time.perf_counter() - t0) * 1e3
    budget_ms = budget_s * 1e3
    while inner > 1 and reps * inner * once > budget_ms:
        inner -= 1
    while reps > 3 and reps * inner * once > budget_ms:
        reps -= 1
    times = []
    for _ in range(reps):
        sync()
        start = time.perf_counter()
        results = [fn() for _ in range(inner)]
        sync()
        times.append((time.perf_counter() - start) * 1e3 / inner)
        del results
    return statistics.median(times), reps, inner


def run_case(c, args, reps, inner, budget):
    kernel = c['kernel']
    layouts = ['nchw', 'nhwc'] if args.layout == 'best' else [args.layout]
    if 'conv' in c:
        builders = {l: (lambda l=l: conv_fn(c, args.device, l)) for l in layouts}
    elif 'pool' in c:
        builders = {l: (lambda l=l: pool_fn(c, args.device, l)) for l in layouts}
    elif kernel == 'FusedBatchNorm' and len(c['inputs']['x']) == 4:
        builders = {l: (lambda l=l: (batchnorm_fn(c, args.device, l), 'symmetric')) for l in layouts}
    else:
        builders = {'native': lambda: (plain_fn(c, args.device), None)}
    best = None
    per_layout = {}
    want = math.prod(c['outputs'][0])
    for layout, build in builders.items():
        fn, mode = build()
        # The same work as tfjs: at least the first output must have as many elements.
        first = fn()
        first = first[0] if isinstance(first, (tuple, list)) else first
        if first.numel() != want:
            raise AssertionError(f'output {list(first.shape)} has {first.numel()} elements, tfjs {want}')
        del first
        ms, r, k = time_fn(fn, reps, inner, budget)
        per_layout[layout] = ms
        if best is None or ms < best['ms']:
            best = {'ms': ms, 'layout': layout, 'pad_mode': mode, 'reps': r, 'inner': k}
        del fn
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    best['per_layout'] = per_layout
    return best


def main():
    args = parse_args()
    with open(args.cases) as f:
        spec = json.load(f)
    reps = args.reps or spec.get('reps') or 10
    inner = args.inner or spec.get('inner') or 5
    budget = args.budget or spec.get('budget') or 2.0
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision('highest')
    torch.backends.cudnn.benchmark = True
    dev = torch.device(args.device)
    # --device cpu only checks the script where there is no GPU (the timings then mean nothing).
    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu'
    cudnn = torch.backends.cudnn.version() if dev.type == 'cuda' else None
    header = {
        'device': name, 'torch': torch.__version__, 'cuda': torch.version.cuda,
        'cudnn': cudnn, 'tf32': False, 'cudnn_benchmark': True,
        'date': time.strftime('%Y-%m-%dT%H:%M:%S%z'), 'reps': reps, 'inner': inner, 'budget': budget,
        'layout': args.layout, 'quick': spec.get('quick', False),
        'method': 'median over reps of (K back-to-back executions + synchronize) / K, ms; fp32, TF32 off',
    }
    print(f"torch {torch.__version__} cuda {torch.version.cuda} cudnn {cudnn} on {name}; "
          f"median of <= {reps} reps x <= {inner} executions, <= {budget} s per case and layout; TF32 off", flush=True)
    results = []

    def write():
        if args.json:
            with open(args.json, 'w') as f:
                json.dump({**header, 'cases': results}, f, indent=1)
    for c in spec['cases']:
        if args.filter and args.filter not in c['name']:
            continue
        entry = {'name': c['name'], 'kernel': c['kernel'], 'shape': c['shape']}
        try:
            entry.update(run_case(c, args, reps, inner, budget))
            extra = f" ({entry['layout']}{', ' + entry['pad_mode'] if entry['pad_mode'] not in (None, 'symmetric') else ''})"
            print(f"  torch {c['name']} | {c['shape']}: {entry['ms']:.4f} ms{extra}", file=sys.stderr, flush=True)
        except Exception as e:  # one failing case must not lose the others
            entry['error'] = f'{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""}'
            print(f"  torch {c['name']}: failed: {entry['error']}", file=sys.stderr, flush=True)
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        results.append(entry)
        write()
    write()
    ok = sum(1 for r in results if 'ms' in r)
    print(f'{ok} of {len(results)} cases timed' + (f'; results in {args.json}' if args.json else ''), flush=True)


if __name__ == '__main__':
    main()
