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

`--torch-device cuda` runs PyTorch's side on the GPU: float32 with TF32 off (the precision of
burn's wgpu path), timed with CUDA events; pair it with `--mhe-device wgpu`. The training step
then also reports the step with PyTorch's naive MHE penalty on every layer (hidden layers x1,
the classifier x10) and the penalty alone, as `mhe bench --training-step` does.

`--epoch` times `--epochs` epochs (2 by default) of the Fashion-MNIST job (`mhe train --model
cnn --depth 2` with MHE: 54,000 training and 6,000 validation images, batch 64, SGD) on images
of that shape drawn at random, so no data set is needed; with `--mhe`, `mhe train` runs the
same epochs on the same images (written as IDX files) and each epoch's two times are printed
(each includes the validation pass): the first epoch pays for kernel compilation and
autotuning, the later ones are the steady state. `--pytorch-epochs FILE` keeps PyTorch's times
for later calls (several `mhe` runs against one PyTorch run):

    python3 scripts/pytorch_mhe.py --epoch --torch-device cuda --mhe .gpu/mhe --mhe-device wgpu

Each comparison ends with one JSON line holding `"compare"`, the work, both times and their
ratio, which `scripts/gpu-check.sh` gathers into one table.
"""

import argparse
import ctypes
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import torch
from torch import nn

EPS = 1e-4
D2_FLOOR = 1e-6
DEVICE = torch.device("cpu")


def use_device(name):
    """Runs PyTorch's side on `name`; on a GPU in float32 without TF32."""
    global DEVICE
    DEVICE = torch.device(name)
    if DEVICE.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


def normalize(w):
    return w / torch.sqrt((w * w).sum(dim=1, keepdim=True) + EPS)


def naive_energy_grad(w):
    w = w.detach().requires_grad_(True)
    energy = naive_energy(w)
    energy.backward()
    return energy.detach(), w.grad


def tiled_energy_grad(w, block):
    """Upper-triangle blocks; each off-diagonal block serves both of its row blocks."""
    n = w.shape[0]
    norms = torch.sqrt((w * w).sum(dim=1, keepdim=True) + EPS)
    u = w / norms
    grad_u = torch.zeros_like(u)
    total = torch.zeros((), dtype=torch.float64, device=w.device)
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


def elapsed_ms(run):
    """Milliseconds of one call of `run`, to the end of its work on the device (CUDA events on a
    GPU)."""
    if DEVICE.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        run()
        end.record()
        end.synchronize()
        return start.elapsed_time(end)
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1e3


def median_ms(run, repeats):
    run()
    times = sorted(elapsed_ms(run) for _ in range(repeats))
    return times[len(times) // 2]


def compared(work, ours_ms, theirs_ms, device):
    """The line `scripts/gpu-check.sh` gathers: both times of one piece of work."""
    print(json.dumps({"compare": work, "ours_ms": ours_ms, "pytorch_ms": theirs_ms,
                      "ours_over_pytorch": ours_ms / theirs_ms, "mhe_device": device,
                      "torch_device": str(DEVICE)}), flush=True)


def run_mhe(mhe, *arguments, json_output=True):
    """The last line of `mhe ARGUMENTS`, parsed as JSON (with `json_output`); its error output
    is printed and the script stopped if it fails."""
    done = subprocess.run([mhe, *arguments], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"mhe {' '.join(arguments)}: exit {done.returncode}\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.splitlines()[-1]) if json_output else None


def cnn(depth=3):
    """The CNN of `mhe train --model cnn --depth DEPTH` at width 1."""
    layers, channels = [], 1
    for stage, width in enumerate([16, 32, 64]):
        if stage:
            layers.append(nn.MaxPool2d(2, 2))
        for _ in range(depth):
            layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False),
                       nn.BatchNorm2d(width), nn.ReLU()]
            channels = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10)]
    return nn.Sequential(*layers).to(DEVICE)


def mhe_penalty(model):
    """PyTorch's naive MHE penalty of the released setup: every conv layer (its output channels
    as neurons) weighted 1, the classifier weighted 10, Euclidean s = 2."""
    weights = [m.weight for m in model if isinstance(m, (nn.Conv2d, nn.Linear))]
    energies = [naive_energy(w.flatten(1)) for w in weights]
    return sum(energies[:-1]) + 10.0 * energies[-1]


def naive_energy(w):
    """The energy of the rows of `w` with autograd's graph (as the PyTorch ports compute it)."""
    u = normalize(w)
    n = u.shape[0]
    d2 = (2.0 - 2.0 * (u @ u.t())).clamp_min(D2_FLOOR)
    upper = torch.triu(torch.ones(n, n, dtype=torch.bool, device=w.device), diagonal=1)
    return d2.reciprocal()[upper].sum() / (n * (n - 1) / 2)


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
    images = torch.rand(64, 1, 28, 28, device=DEVICE)
    targets = torch.arange(64, device=DEVICE) % 10
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)

    def step(penalized=False):
        model.zero_grad(set_to_none=True)
        loss = loss_fn(model(images), targets)
        if penalized:
            loss = loss + mhe_penalty(model)
        loss.backward()

    def penalty():
        model.zero_grad(set_to_none=True)
        mhe_penalty(model).backward()

    step_ms = median_ms(step, repeats)
    step_mhe_ms = median_ms(lambda: step(True), repeats)
    penalty_ms = median_ms(penalty, repeats)
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
            "device": str(DEVICE), "step_ms": step_ms, "step_mhe_ms": step_mhe_ms,
            "penalty_ms": penalty_ms, "layers": layers}


def by_kind(layers):
    kinds = {}
    for layer in layers:
        row = kinds.setdefault(layer["kind"], [0, 0.0, 0.0])
        row[0] += 1
        row[1] += layer["forward_ms"]
        row[2] += layer["backward_ms"]
    return kinds


def compare_steps(theirs, mhe, device, repeats):
    ours = run_mhe(mhe, "bench", "--training-step", "--json", "--repeats", str(repeats),
                   "--device", device)
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
    compared("CNN step without MHE, batch 64", step, theirs["step_ms"], device)
    compared("CNN step with MHE, batch 64", ours["step"]["step_mhe_ms"], theirs["step_mhe_ms"],
             device)
    compared("MHE penalty of the CNN's 10 layers", ours["step"]["penalty_ms"],
             theirs["penalty_ms"], device)


TRAIN, VALID, TEST = 54000, 6000, 10000


def write_idx(folder, name, array, magic):
    """`array` (uint8) as the IDX file `folder/name`."""
    with open(os.path.join(folder, name), "wb") as f:
        f.write(magic.to_bytes(4, "big"))
        for size in array.shape:
            f.write(size.to_bytes(4, "big"))
        array = array.contiguous()
        f.write(ctypes.string_at(array.data_ptr(), array.numel()))


def random_fashion_mnist(folder):
    """Images and labels of Fashion-MNIST's shapes, drawn at random (seed 0), as IDX files."""
    generator = torch.Generator().manual_seed(0)
    for split, count in [("train", TRAIN + VALID), ("t10k", TEST)]:
        images = torch.randint(0, 256, (count, 28, 28), dtype=torch.uint8, generator=generator)
        labels = torch.randint(0, 10, (count,), dtype=torch.uint8, generator=generator)
        write_idx(folder, f"{split}-images-idx3-ubyte", images, 0x00000803)
        write_idx(folder, f"{split}-labels-idx1-ubyte", labels, 0x00000801)


def epochs_ms(count):
    """`count` epochs of the depth-2 CNN with MHE on random images, each timed: 54,000 training
    images in batches of 64 (SGD, momentum 0.9, weight decay 5e-4) and the 6,000 validation
    images."""
    torch.manual_seed(0)
    model = cnn(depth=2)
    images = torch.rand(TRAIN + VALID, 1, 28, 28, device=DEVICE)
    labels = torch.randint(0, 10, (TRAIN + VALID,), device=DEVICE)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)

    def epoch():
        model.train()
        for start in torch.randperm(TRAIN).split(64):
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(images[start]), labels[start]) + mhe_penalty(model)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            for start in range(TRAIN, TRAIN + VALID, 64):
                loss_fn(model(images[start:start + 64]), labels[start:start + 64]).item()

    return [elapsed_ms(epoch) for _ in range(count)]


def pytorch_epochs_ms(count, saved):
    """PyTorch's epoch times, read from the JSON file `saved` where an earlier call of the same
    count left them (so that several `mhe` runs compare against one PyTorch run)."""
    if saved and os.path.exists(saved):
        with open(saved) as f:
            times = json.load(f)
        if len(times) == count:
            return times
    times = epochs_ms(count)
    print(json.dumps({"epoch_ms": times, "device": str(DEVICE)}), flush=True)
    if saved:
        with open(saved, "w") as f:
            json.dump(times, f)
    return times


def compare_epochs(mhe, device, count, label, saved):
    """`count` epochs of `mhe train` on the same shapes and PyTorch's, epoch by epoch: the first
    pays for the GPU's kernel compilation and autotuning, the later ones show the steady
    state."""
    theirs = pytorch_epochs_ms(count, saved)
    if not mhe:
        return
    with tempfile.TemporaryDirectory() as folder:
        random_fashion_mnist(folder)
        run = os.path.join(folder, "run")
        run_mhe(mhe, "train", "--dataset", "idx", "--data-dir", folder, "--model", "cnn",
                "--depth", "2", "--epochs", str(count), "--device", device, "--out", run,
                json_output=False)
        with open(os.path.join(run, "results.json")) as f:
            ours = [record["seconds"] * 1e3 for record in json.load(f)["history"]]
    for number, (our, their) in enumerate(zip(ours, theirs), 1):
        compared(f"epoch {number} of {count}{label}, depth-2 CNN + MHE, Fashion-MNIST shapes",
                 our, their, device)


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
                        help="the `--device` of the `mhe` run (cpu, libtorch, wgpu, ...)")
    parser.add_argument("--torch-device", default="cpu",
                        help="where PyTorch runs: cpu, or cuda (float32, TF32 off)")
    parser.add_argument("--epoch", action="store_true",
                        help="time epochs of the Fashion-MNIST job instead of an energy")
    parser.add_argument("--epochs", type=int, default=2,
                        help="how many epochs --epoch times (each compared on its own)")
    parser.add_argument("--label", default="",
                        help="text added to the --epoch comparisons' names (e.g. ', cache warm')")
    parser.add_argument("--pytorch-epochs", metavar="FILE",
                        help="where --epoch keeps PyTorch's epoch times for later calls")
    args = parser.parse_args()
    use_device(args.torch_device)
    if args.epoch:
        compare_epochs(args.mhe, args.mhe_device, args.epochs, args.label, args.pytorch_epochs)
        return
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
    w = torch.randn(n, d, device=DEVICE)
    other = torch.randn(d, n, device=DEVICE)
    tiled = n > 8192
    block = min(args.block, n)

    def matmul():
        for start in range(0, n, block if tiled else n):
            w[start:start + (block if tiled else n)] @ other

    # The energy first: the peak resident set only grows, and the blocks of the matmul
    # baseline are larger than the energy's.
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if DEVICE.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    if tiled:
        energy_ms = median_ms(lambda: tiled_energy_grad(w, block), args.repeats)
    else:
        energy_ms = median_ms(lambda: naive_energy_grad(w), args.repeats)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    if DEVICE.type == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
    matmul_ms = median_ms(matmul, args.repeats)
    theirs = {
        "n": n, "d": d, "variant": "pytorch-tiled" if tiled else "pytorch-naive",
        "energy_grad_ms": energy_ms, "matmul_ms": matmul_ms,
        "ratio": energy_ms / matmul_ms, "peak_mib": peak,
        "threads": torch.get_num_threads(), "torch": torch.__version__,
    }
    print(json.dumps(theirs), flush=True)
    if args.mhe:
        ours = run_mhe(args.mhe, "bench", "--json", "--sizes", args.size,
                       "--repeats", str(args.repeats), "--device", args.mhe_device)
        compared(f"energy+grad {args.size}", ours["energy_grad_ms"], energy_ms,
                 args.mhe_device)
        compared(f"matmul {n}x{d}x{n}", ours["matmul_ms"], matmul_ms, args.mhe_device)
        print(json.dumps({
            "n": n, "d": d, "ours_ms": ours["energy_grad_ms"],
            "pytorch_ms": energy_ms, "ours_over_pytorch": ours["energy_grad_ms"] / energy_ms,
            "ours_peak_mib": ours["peak_mib"], "pytorch_peak_mib": peak,
            "ours_variant": ours["variant"], "ours_memory_budget": ours["memory_budget"],
        }))


if __name__ == "__main__":
    main()
