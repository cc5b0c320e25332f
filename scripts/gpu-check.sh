#!/usr/bin/env bash
# GPU check for a machine with a real GPU (Vulkan), PyTorch with CUDA, and no Rust toolchain:
# burn-mhe on wgpu and PyTorch on CUDA side by side, on the same card, in one call.
#
# Build and pack the binary beforehand, on a machine with Rust:
#   cargo build --release --workspace --all-features --bin mhe
#   mkdir -p .gpu && xz -9 -T0 -c "$CARGO_TARGET_DIR/release/mhe" > .gpu/mhe.xz
# Carry `.gpu` (and the Vulkan loader packages in `.gl`, see the device tool's README) to the
# GPU machine, then run from the repository root:
#   bash scripts/gpu-check.sh [.gpu/mhe.xz]
#
# Steps, each under its own time limit and all within MHE_CHECK_SECONDS (500 by default; a step
# that would start with less than 10 s left is skipped), most telling first:
#   1. `mhe cross-check --device wgpu`: every energy and objective in float32 against the
#      CPU's float64.
#   2. Two epochs of the Fashion-MNIST job (depth-2 CNN + MHE) on images of its shape, each
#      epoch timed: on wgpu with cubecl's persistent autotune cache (part of the `wgpu`
#      feature) empty, then again with the cache the first run left, then cache empty with the
#      least autotuning (`CUBECL_AUTOTUNE_LEVEL=minimal`).
#   3. The training step of the 10-layer CNN, with and without MHE, and the penalty alone.
#   4. Energy + gradient at the standard sizes, ours (`mhe bench`) and PyTorch's (naive
#      autograd, tiled above 8192 neurons) through `scripts/pytorch_mhe.py`.
# Then one table of every comparison: ours, PyTorch's, and ours / PyTorch's.
# MHE_BENCH_SIZES overrides the sizes, MHE_TORCH_DEVICE PyTorch's device (e.g. a dry run on a
# machine without CUDA: MHE_TORCH_DEVICE=cpu with a software Vulkan driver).
set -uo pipefail

packed=${1:-.gpu/mhe.xz}
sizes=${MHE_BENCH_SIZES:-1024x4608,4096x4096,16384x1024,65536x256}
torch_device=${MHE_TORCH_DEVICE:-cuda}
total=${MHE_CHECK_SECONDS:-500}
started=$SECONDS
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
# cubecl's autotune cache lives under the workspace's target/environment: start empty.
rm -rf target/environment

compare="python3 scripts/pytorch_mhe.py --torch-device $torch_device --mhe $work/mhe --mhe-device wgpu"
lines="$work/comparisons.jsonl"
touch "$lines"

echo "== machine"
uname -m
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
python3 -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda)' || true
date -u +%Y-%m-%dT%H:%M:%SZ

# Each step runs under its own cap and under what is left of the whole check's time.
within() {
  local cap=$1 left=$(( total - (SECONDS - started) ))
  shift
  (( left < cap )) && cap=$left
  if (( cap < 10 )); then echo "skipped, out of time: ${*: -3}"; return 1; fi
  timeout "$cap" "$@"
}

echo "== cross-device check (wgpu, float32 against the CPU's float64)"
within 60 "$work/mhe" cross-check --device wgpu || echo "cross-check FAILED or timed out"

echo "== two epochs, each timed"
epochs="$compare --epoch --epochs 2 --pytorch-epochs $work/pytorch-epochs.json"
within 150 $epochs | tee -a "$lines" || echo "epochs: failed or timed out"
within 80 $epochs --label ", autotune cache warm" | tee -a "$lines" \
  || echo "epochs, cache warm: failed or timed out"
# What the first epoch pays for autotuning: the same, cache empty, least tuning effort.
rm -rf target/environment
within 150 env CUBECL_AUTOTUNE_LEVEL=minimal $epochs --label ", autotune level minimal" \
  | tee -a "$lines" || echo "epochs, autotune minimal: failed or timed out"

echo "== training step"
within 45 $compare --training-step --repeats 9 | tee -a "$lines" \
  || echo "training step: failed or timed out"

echo "== energy + gradient"
for size in ${sizes//,/ }; do
  within 40 $compare "$size" --repeats 5 | tee -a "$lines" || echo "$size: failed or timed out"
done

echo "== ours against PyTorch ($torch_device), same card"
python3 - "$lines" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith('{"compare"')]
print("| work | ours (wgpu) ms | PyTorch ms | ours / PyTorch |\n|---|---|---|---|")
for row in rows:
    print(f"| {row['compare']} | {row['ours_ms']:.2f} | "
          f"{row['pytorch_ms']:.2f} | {row['ours_over_pytorch']:.2f}x |")
PY
