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
"""

import argparse
import json
import resource
import subprocess
import time

import torch

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("size", help="NxD, e.g. 1024x4608")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--block", type=int, default=4096,
                        help="rows per block of the tiled variant (used when N > 8192)")
    parser.add_argument("--mhe", help="an `mhe` binary to time on the same size afterwards")
    args = parser.parse_args()
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
                   "--repeats", str(args.repeats)]
        ours = json.loads(subprocess.run(command, check=True, capture_output=True,
                                         text=True).stdout.splitlines()[-1])
        print(json.dumps({
            "n": n, "d": d, "ours_ms": ours["energy_grad_ms"],
            "pytorch_ms": energy_ms, "ours_over_pytorch": ours["energy_grad_ms"] / energy_ms,
            "ours_peak_mib": ours["peak_mib"], "pytorch_peak_mib": peak,
        }))


if __name__ == "__main__":
    main()
