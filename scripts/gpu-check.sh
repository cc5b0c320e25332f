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
#   1. `mhe cross-check` on each device: every energy and objective in float32 against the
#      CPU's float64.
#   2. Two epochs of the Fashion-MNIST job (depth-2 CNN + MHE) on images of its shape, each
#      epoch timed: on wgpu with cubecl's persistent autotune cache (part of the `wgpu`
#      feature) empty, then again with the cache the first run left, then cache empty with the
#      least autotuning (`CUBECL_AUTOTUNE_LEVEL=minimal`).
#   3. The training step of the 10-layer CNN, with and without MHE, and the penalty alone.
#   4. Energy + gradient at the standard sizes, ours (`mhe bench`) and PyTorch's (naive
#      autograd, tiled above 8192 neurons) through `scripts/pytorch_mhe.py`.
# Then one table of every comparison: ours, PyTorch's, and ours / PyTorch's.
# MHE_BENCH_SIZES overrides the sizes, MHE_DEVICES our devices (default `wgpu`),
# MHE_TORCH_DEVICE PyTorch's device (e.g. a dry run on a machine without CUDA:
# MHE_TORCH_DEVICE=cpu MHE_DEVICES=wgpu with a software Vulkan driver).
set -uo pipefail

packed=${1:-.gpu/mhe.xz}
sizes=${MHE_BENCH_SIZES:-1024x4608,4096x4096,16384x1024,65536x256}
devices=${MHE_DEVICES:-wgpu}
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

compare="python3 scripts/pytorch_mhe.py --torch-device $torch_device --mhe $work/mhe"
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

for device in ${devices//,/ }; do
  echo "== cross-device check ($device, float32 against the CPU's float64)"
  within 60 "$work/mhe" cross-check --device "$device" || echo "$device cross-check FAILED or timed out"
done

echo "== two epochs, each timed"
epochs="$compare --epoch --epochs 2 --pytorch-epochs $work/pytorch-epochs.json"
for device in ${devices//,/ }; do
  within 150 $epochs --mhe-device "$device" | tee -a "$lines" || echo "epochs on $device: failed or timed out"
  if [ "$device" = wgpu ]; then
    within 80 $epochs --mhe-device wgpu --label ", autotune cache warm" | tee -a "$lines" \
      || echo "epochs on wgpu, cache warm: failed or timed out"
    # What the first epoch pays for autotuning: the same, cache empty, least tuning effort.
    rm -rf target/environment
    within 150 env CUBECL_AUTOTUNE_LEVEL=minimal $epochs --mhe-device wgpu \
      --label ", autotune level minimal" | tee -a "$lines" \
      || echo "epochs on wgpu, autotune minimal: failed or timed out"
  fi
done

for device in ${devices//,/ }; do
  echo "== training step ($device)"
  within 45 $compare --mhe-device "$device" --training-step --repeats 9 | tee -a "$lines" \
    || echo "training step on $device: failed or timed out"
done

for device in ${devices//,/ }; do
  echo "== energy + gradient ($device)"
  for size in ${sizes//,/ }; do
    within 40 $compare --mhe-device "$device" "$size" --repeats 5 | tee -a "$lines" \
      || echo "$size on $device: failed or timed out"
  done
done

echo "== ours against PyTorch ($torch_device), same card"
python3 - "$lines" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith('{"compare"')]
print("| work | ours on | ours ms | PyTorch ms | ours / PyTorch |\n|---|---|---|---|---|")
for row in rows:
    print(f"| {row['compare']} | {row['mhe_device']} | {row['ours_ms']:.2f} | "
          f"{row['pytorch_ms']:.2f} | {row['ours_over_pytorch']:.2f}x |")
PY
