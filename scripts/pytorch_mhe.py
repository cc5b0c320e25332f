#!/usr/bin/env python3
"""PyTorch reference timings for `mhe bench`: the same energy (Euclidean, s = 2, eps = 1e-4,
mean over pairs) and its gradient, the way PyTorch users compute it.

- `naive`: normalize, Gram matrix, `(2 - 2c)^-1` over the upper triangle, autograd backward:
  what the official code and the PyTorch ports do (`N x N` intermediates, 6 N^2 d flops).
- `tiled`: blocks of rows of the upper triangle with the closed-form gradient `A U` (bounded
  memory), for layers whose `N x N` matrix does not fit.

Prints one JSON object per size with the keys of `mhe bench --json` (`n`, `d`, `variant`,
`energy_grad_ms`, `matmul_ms`, `ratio`, `peak_mib`). Run one size per process so that the
peak resident set belongs to that size:

    python3 scripts/pytorch_mhe.py 1024x4608 --repeats 5

With `--mhe PATH/TO/mhe`, it then runs `mhe bench --json` on the same size in the same run and
prints one more line: both times and ours / PyTorch's.

`--training-step` times instead the CNN of `mhe bench --training-step` (nine 3x3 conv layers
without bias, batch norm, ReLU, 16/32/64 channels on 28/14/7 pixels, 2x2 max pooling between
stages, global average pooling, a linear classifier; batch 64 of random 28x28 images): the step
(forward, cross-entropy, backward), the SGD update (momentum 0.9, weight decay 5e-4), and each
layer alone, forward and backward, summed by kind as `mhe bench --training-step` does. With
`--mhe`, both in one run, side by side:

    python3 scripts/pytorch_mhe.py --training-step --repeats 9 --mhe target/debug/mhe

`--mhe-device libtorch` runs the `mhe` side on burn's LibTorch backend (an `mhe` built with
`RUSTFLAGS="--cfg burn_mhe_libtorch"`, see docs/benchmarks.md).
"""

import argparse
import json
import resource
import subprocess
import time

import torch
from torch import nn

EPS = 1e-4
D2_FLOOR = 1e-6


def normalize(w):
    return w / torch.sqrt((w * w).sum(dim=1, keepdim=True) + EPS)


def naive_energy_grad(w):
    w = w.detach().requires_grad_(True)
    u = normalize(w)
    n = u.shape[0]
    d2 = (2.0 - 2.0 * (u @ u.t())).clamp_min(D2_FLOOR)
    upper = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
    energy = d2.reciprocal()[upper].sum() / (n * (n - 1) / 2)
    energy.backward()
    return energy.detach(), w.grad


def tiled_energy_grad(w, block):
    """Upper-triangle blocks; each off-diagonal block serves both of its row blocks."""
    n = w.shape[0]
    norms = torch.sqrt((w * w).sum(dim=1, keepdim=True) + EPS)
    u = w / norms
    grad_u = torch.zeros_like(u)
    total = torch.zeros((), dtype=torch.float64)
    for i in range(0, n, block):
        ui = u[i:i + block]
        for j in range(i, n, block):
            uj = u[j:j + block]
            d2 = (2.0 - 2.0 * (ui @ uj.t())).clamp_min(D2_FLOOR)
            value = d2.reciprocal()
            # f = d2^-1, df/dc = 2 d2^-2 (s = 2).
            slope = 2.0 * value * value
            if i == j:
                keep = torch.triu(torch.ones_like(d2, dtype=torch.bool), diagonal=1)
                value = value * keep
                slope = slope * keep
                slope = slope + slope.t()
                total += value.sum(dtype=torch.float64)
                grad_u[i:i + block] += slope @ uj
            else:
                total += value.sum(dtype=torch.float64)
                grad_u[i:i + block] += slope @ uj
                grad_u[j:j + block] += slope.t() @ ui
    pairs = n * (n - 1) / 2
    grad_u /= pairs
    radial = (u * grad_u).sum(dim=1, keepdim=True)
    return total / pairs, (grad_u - u * radial) / norms


def median_ms(run, repeats):
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return times[len(times) // 2]


def cnn():
    """The CNN of `mhe train --model cnn --depth 3` at width 1."""
    layers, channels = [], 1
    for stage, width in enumerate([16, 32, 64]):
        if stage:
            layers.append(nn.MaxPool2d(2, 2))
        for _ in range(3):
            layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False),
                       nn.BatchNorm2d(width), nn.ReLU()]
            channels = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10)]
    return nn.Sequential(*layers)


KINDS = {nn.Conv2d: "conv", nn.BatchNorm2d: "batch norm", nn.ReLU: "relu",
         nn.MaxPool2d: "max pool", nn.AdaptiveAvgPool2d: "global pool", nn.Linear: "linear"}


class CrossEntropy(nn.Module):
    """The loss as a layer of its logits."""

    def __init__(self, targets):
        super().__init__()
        self.targets = targets
        self.loss = nn.CrossEntropyLoss()

    def forward(self, logits):
        return self.loss(logits, self.targets)


def time_layer(layer, x, repeats):
    """Median ms of the forward pass and of the backward pass of `layer` alone on `x`."""
    def forward():
        layer(x).sum().item()

    def both():
        layer(x).sum().backward()
        layer.zero_grad(set_to_none=True)
        x.grad = None

    forward_ms = median_ms(forward, repeats)
    return forward_ms, max(median_ms(both, repeats) - forward_ms, 0.0)


def training_step(repeats):
    torch.manual_seed(0)
    model = cnn().train()
    images = torch.rand(64, 1, 28, 28)
    targets = torch.arange(64) % 10
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)

    def step():
        model.zero_grad(set_to_none=True)
        loss_fn(model(images), targets).backward()

    step_ms = median_ms(step, repeats)
    step()
    update_ms = median_ms(optimizer.step, repeats)

    layers = []

    def add(kind, inputs, times):
        layers.append({"kind": kind, "input": list(inputs.shape) + [1] * (4 - inputs.dim()),
                       "forward_ms": times[0], "backward_ms": times[1]})

    x = images
    for layer in model:
        if isinstance(layer, nn.Flatten):
            x = layer(x)
            continue
        # The images entering the first layer carry no gradient.
        inputs = x.detach().requires_grad_(x is not images)
        add(KINDS[type(layer)], inputs, time_layer(layer, inputs, repeats))
        x = layer(x).detach()
    logits = x.detach().requires_grad_(True)
    add("cross-entropy", logits, time_layer(CrossEntropy(targets), logits, repeats))
    add("optimizer", images, (update_ms, 0.0))
    return {"threads": torch.get_num_threads(), "torch": torch.__version__,
            "step_ms": step_ms, "layers": layers}


def by_kind(layers):
    kinds = {}
    for layer in layers:
        row = kinds.setdefault(layer["kind"], [0, 0.0, 0.0])
        row[0] += 1
        row[1] += layer["forward_ms"]
        row[2] += layer["backward_ms"]
    return kinds


def compare_steps(theirs, mhe, device, repeats):
    command = [mhe, "bench", "--training-step", "--json", "--repeats", str(repeats),
               "--device", device]
    ours = json.loads(subprocess.run(command, check=True, capture_output=True,
                                     text=True).stdout.splitlines()[-1])
    print(f"CPU: {ours['cpu']}; PyTorch {theirs['torch']}, {theirs['threads']} threads")
    step = ours["step"]["step_ms"]
    print(f"step (forward, cross-entropy, backward): burn-mhe ({device}) {step:.1f} ms, PyTorch "
          f"{theirs['step_ms']:.1f} ms, ratio {step / theirs['step_ms']:.2f}")
    print(f"{'layer kind':>14} {'input':>9} {'ours fwd':>9} {'torch fwd':>9} {'ratio':>6} "
          f"{'ours bwd':>9} {'torch bwd':>9} {'ratio':>6}")

    def line(kind, shape, our, their):
        ratio = [a / b if b > 0 else float("nan") for a, b in zip(our, their)]
        print(f"{kind:>14} {shape:>9} {our[0]:>9.2f} {their[0]:>9.2f} {ratio[0]:>6.2f} "
              f"{our[1]:>9.2f} {their[1]:>9.2f} {ratio[1]:>6.2f}")

    mine = by_kind(ours["layers"])
    for kind, row in by_kind(theirs["layers"]).items():
        line(kind, f"{row[0]} layers", mine[kind][1:], row[1:])
    convs = zip((l for l in ours["layers"] if l["kind"] == "conv"),
                (l for l in theirs["layers"] if l["kind"] == "conv"))
    for our, their in convs:
        _, channels, side, _ = their["input"]
        line("conv", f"{channels}x{side}x{side}", (our["forward_ms"], our["backward_ms"]),
             (their["forward_ms"], their["backward_ms"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("size", nargs="?", help="NxD, e.g. 1024x4608")
    parser.add_argument("--training-step", action="store_true",
                        help="time the CNN's training step instead of an energy")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--block", type=int, default=4096,
                        help="rows per block of the tiled variant (used when N > 8192)")
    parser.add_argument("--mhe", help="an `mhe` binary to time on the same size afterwards")
    parser.add_argument("--mhe-device", default="cpu",
                        help="the `--device` of the `mhe` run (cpu, libtorch, ...)")
    args = parser.parse_args()
    if args.training_step:
        theirs = training_step(args.repeats)
        print(json.dumps(theirs), flush=True)
        if args.mhe:
            compare_steps(theirs, args.mhe, args.mhe_device, args.repeats)
        return
    if not args.size:
        parser.error("give a size NxD or --training-step")
    n, d = (int(x) for x in args.size.split("x"))
    torch.manual_seed(0)
    w = torch.randn(n, d)
    other = torch.randn(d, n)
    tiled = n > 8192
    block = min(args.block, n)

    def matmul():
        for start in range(0, n, block if tiled else n):
            w[start:start + (block if tiled else n)] @ other

    # The energy first: the peak resident set only grows, and the blocks of the matmul
    # baseline are larger than the energy's.
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if tiled:
        energy_ms = median_ms(lambda: tiled_energy_grad(w, block), args.repeats)
    else:
        energy_ms = median_ms(lambda: naive_energy_grad(w), args.repeats)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    matmul_ms = median_ms(matmul, args.repeats)
    theirs = {
        "n": n, "d": d, "variant": "pytorch-tiled" if tiled else "pytorch-naive",
        "energy_grad_ms": energy_ms, "matmul_ms": matmul_ms,
        "ratio": energy_ms / matmul_ms, "peak_mib": peak,
        "threads": torch.get_num_threads(), "torch": torch.__version__,
    }
    print(json.dumps(theirs), flush=True)
    if args.mhe:
        command = [args.mhe, "bench", "--json", "--sizes", args.size,
                   "--repeats", str(args.repeats), "--device", args.mhe_device]
        ours = json.loads(subprocess.run(command, check=True, capture_output=True,
                                         text=True).stdout.splitlines()[-1])
        print(json.dumps({
            "n": n, "d": d, "ours_ms": ours["energy_grad_ms"],
            "pytorch_ms": energy_ms, "ours_over_pytorch": ours["energy_grad_ms"] / energy_ms,
            "ours_peak_mib": ours["peak_mib"], "pytorch_peak_mib": peak,
        }))


if __name__ == "__main__":
    main()
