#!/usr/bin/env python3
"""PyTorch/cuDNN reference for bench/lstm.ts: nn.LSTM forward, and forward+backward, same shape.

Usage (on the GPU machine; plain python3 + torch):
  python3 torch_lstm.py [--batch 64] [--sequence 100] [--input 128] [--hidden 256]
                        [--reps 20] [--warmup 5] [--device cuda] [--json out.json]
Prints one JSON object (also written to --json FILE).

What is timed, as bench/lstm.ts: one single-layer unidirectional nn.LSTM(input, hidden,
batch_first=True) over x [batch, sequence, input] (returning the whole output sequence, as
tf.layers.lstm with returnSequences); forward alone, and forward + the gradient of out.sum() with
respect to x and every weight (torch.autograd.grad: weight_ih, weight_hh, bias_ih, bias_hh; cuDNN
has two biases where Keras has one, the same work). fp32 only: TF32 off for cuBLAS and cuDNN,
torch.backends.cudnn.benchmark on (cuDNN picks its algorithm during the warm-up).

Method: inputs and weights made once; `warmup` untimed executions; then per rep, CUDA events
recorded around one execution on the current stream (start.record(); run; end.record();
end.synchronize()), and the median over the reps, in ms. The events include PyTorch's CPU-side
dispatch only where the GPU waits for it; `wall_ms` (perf_counter around the same, after a
synchronize) includes it always and is the figure to set against bench/lstm.ts, whose times are
wall times up to the queue being idle.
"""
import argparse
import json
import statistics
import sys
import time

import torch


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--sequence', type=int, default=100)
    p.add_argument('--input', type=int, default=128)
    p.add_argument('--hidden', type=int, default=256)
    p.add_argument('--reps', type=int, default=20)
    p.add_argument('--warmup', type=int, default=5)
    p.add_argument('--device', default='cuda', help='cpu only checks the script (its times mean nothing)')
    p.add_argument('--json', default='', help='also write the result here')
    return p.parse_args()


def time_fn(fn, reps, warmup, cuda):
    """(median CUDA-event ms or None, median wall ms) over reps, after warmup executions."""
    for _ in range(warmup):
        fn()
    if cuda:
        torch.cuda.synchronize()
    event_ms, wall_ms = [], []
    for _ in range(reps):
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            start.record()
            result = fn()
            end.record()
            end.synchronize()
            wall_ms.append((time.perf_counter() - t0) * 1e3)
            event_ms.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            result = fn()
            wall_ms.append((time.perf_counter() - t0) * 1e3)
        del result
    return (statistics.median(event_ms) if event_ms else None), statistics.median(wall_ms)


def main():
    args = parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision('highest')
    torch.backends.cudnn.benchmark = True
    dev = torch.device(args.device)
    cuda = dev.type == 'cuda'
    torch.manual_seed(1)

    lstm = torch.nn.LSTM(args.input, args.hidden, num_layers=1, batch_first=True).to(dev)
    x = torch.randn(args.batch, args.sequence, args.input, device=dev, requires_grad=True)
    params = [x, *lstm.parameters()]

    def forward():
        with torch.no_grad():
            return lstm(x)[0]

    def forward_backward():
        out = lstm(x)[0]
        return torch.autograd.grad(out.sum(), params)

    fwd_event, fwd_wall = time_fn(forward, args.reps, args.warmup, cuda)
    fb_event, fb_wall = time_fn(forward_backward, args.reps, args.warmup, cuda)
    grads = forward_backward()
    if not all(torch.isfinite(g).all().item() for g in grads):
        print('non-finite gradients', file=sys.stderr)
        sys.exit(1)

    result = {
        'bench': 'torch nn.LSTM forward / forward+backward (bench/torch_lstm.py)',
        'device': torch.cuda.get_device_name(dev) if cuda else 'cpu',
        'torch': torch.__version__, 'cuda': torch.version.cuda,
        'cudnn': torch.backends.cudnn.version() if cuda else None,
        'tf32': False, 'cudnn_benchmark': True,
        'date': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
        'shape': {'batch': args.batch, 'sequence': args.sequence, 'input': args.input, 'hidden': args.hidden},
        'reps': args.reps, 'warmup': args.warmup,
        'method': 'median over reps of one execution: CUDA events (event_ms) and perf_counter after synchronize (wall_ms)',
        'forward': {'event_ms': fwd_event, 'wall_ms': fwd_wall},
        'forward_backward': {'event_ms': fb_event, 'wall_ms': fb_wall},
    }
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        with open(args.json, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
