#!/usr/bin/env bash
# GPU check for a machine with a real GPU (Vulkan), PyTorch with CUDA, and no Rust toolchain:
# burn-mhe on wgpu and PyTorch on CUDA side by side, on the same card, in one call.
#
# Build and pack the binary beforehand, on a machine with Rust:
#   cargo build --release --workspace --all-features
#   mkdir -p .gpu && xz -9 -T0 -c "$CARGO_TARGET_DIR/release/mhe" > .gpu/mhe.xz
# Carry `.gpu` (and the Vulkan loader packages in `.gl`, see the device tool's README) to the
# GPU machine, then run from the repository root:
#   bash scripts/gpu-check.sh [.gpu/mhe.xz]
#
# Steps, each under its own time limit, 7 minutes in all at most:
#   1. `mhe cross-check --device wgpu`: every energy and objective against the CPU (float32).
#   2. Energy + gradient at the standard sizes, ours (`mhe bench --device wgpu`) and PyTorch's
#      (naive autograd, tiled above 8192 neurons) through `scripts/pytorch_mhe.py`.
#   3. The training step of the 10-layer CNN, with and without MHE, and the penalty alone.
#   4. One epoch of the Fashion-MNIST job (depth-2 CNN + MHE) on images of its shape.
# Then one table of every comparison: ours, PyTorch's, and ours / PyTorch's.
# MHE_BENCH_SIZES overrides the sizes, MHE_TORCH_DEVICE PyTorch's device (e.g. a dry run on a
# machine without CUDA: MHE_TORCH_DEVICE=cpu with a software Vulkan driver).
set -uo pipefail

packed=${1:-.gpu/mhe.xz}
sizes=${MHE_BENCH_SIZES:-1024x4608,4096x4096,16384x1024,65536x256}
torch_device=${MHE_TORCH_DEVICE:-cuda}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

case "$packed" in
  *.xz) xz -dc "$packed" > "$work/mhe" ;;
  *) cp "$packed" "$work/mhe" ;;
esac
chmod +x "$work/mhe"

# Vulkan loader: bring it from carried .deb files when the machine has none.
if ! ldconfig -p | grep -q libvulkan.so.1 && ls .gl/*.deb >/dev/null 2>&1; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$nvidia_icd" ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
  export VK_DRIVER_FILES=$nvidia_icd
fi

compare="python3 scripts/pytorch_mhe.py --torch-device $torch_device --mhe $work/mhe --mhe-device wgpu"
lines="$work/comparisons.jsonl"
touch "$lines"

echo "== machine"
uname -m
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
python3 -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda)' || true
date -u +%Y-%m-%dT%H:%M:%SZ

echo "== cross-device check (wgpu vs cpu, float32)"
timeout 60 "$work/mhe" cross-check --device wgpu || echo "cross-check FAILED or timed out"

echo "== energy + gradient"
for size in ${sizes//,/ }; do
  timeout 45 $compare "$size" --repeats 5 | tee -a "$lines" || echo "$size: failed or timed out"
done

echo "== training step"
timeout 60 $compare --training-step --repeats 9 | tee -a "$lines" || echo "training step: failed or timed out"

echo "== one epoch"
timeout 120 $compare --epoch | tee -a "$lines" || echo "epoch: failed or timed out"

echo "== ours (wgpu) against PyTorch ($torch_device), same card"
python3 - "$lines" <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith('{"compare"')]
print(f"| work | ours (wgpu) ms | PyTorch ms | ratio |\n|---|---|---|---|")
for row in rows:
    print(f"| {row['compare']} | {row['ours_ms']:.2f} | {row['pytorch_ms']:.2f} | "
          f"{row['ours_over_pytorch']:.2f}x |")
EOF
