#!/usr/bin/env bash
# GPU check for a machine with a real GPU (Vulkan) and no Rust toolchain.
#
# Build and pack the binary beforehand, on a machine with Rust:
#   cargo build --release -p mhe-cli --all-features
#   mkdir -p .gpu && xz -9 -T0 -c "$CARGO_TARGET_DIR/release/mhe" > .gpu/mhe.xz
# Carry `.gpu` (and the Vulkan loader packages in `.gl`, see the device tool's README) to the
# GPU machine, then run from the repository root:
#   bash scripts/gpu-check.sh [.gpu/mhe.xz]
#
# It prints `mhe bench --device wgpu` for the standard sizes and a cross-device check of the
# energy and gradient against the CPU, and stays under 8 minutes (each step has a time limit).
# MHE_BENCH_SIZES overrides the sizes (e.g. for a dry run on a software Vulkan driver).
set -euo pipefail

packed=${1:-.gpu/mhe.xz}
sizes=${MHE_BENCH_SIZES:-64x27,64x576,256x2304,1024x4608,4096x4096,65536x256}
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

echo "== machine"
uname -m
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
date -u +%Y-%m-%dT%H:%M:%SZ

echo "== cross-device check (wgpu vs cpu, float32)"
timeout 120 "$work/mhe" cross-check --device wgpu

echo "== mhe bench --device wgpu"
timeout 300 "$work/mhe" bench --device wgpu --sizes "$sizes" --repeats 5

echo "== mhe bench --device cpu (same machine, for the ratio)"
timeout 60 "$work/mhe" bench --device cpu --sizes 64x27,64x576,256x2304 --repeats 5
