#!/usr/bin/env bash
# Builds `mhe` with `--device libtorch`: burn's LibTorch backend, PyTorch's CPU kernels under
# burn's autodiff (see docs/benchmarks.md, "burn's LibTorch backend"). It is a cfg, not a
# cargo feature, so that `--all-features` (every other build, and CI) needs no libtorch.
#
#   bash scripts/build-libtorch.sh [cargo build options...]     # e.g. --release
#   bash scripts/build-libtorch.sh test                           # the LibTorch tests
#
# `test` runs the tests that take LibTorch in this build: every objective against `flex`
# (tests/cross_device.rs) and the bit-for-bit resume (tests/train_job.rs).
#
# The binary lands in $CARGO_TARGET_DIR (default target-libtorch/), a folder of its own: the
# cfg changes every crate's flags, so it shares nothing with the usual build.
#
# Where libtorch comes from (torch-sys 0.22, which expects PyTorch 2.9.0):
# - by default, burn-tch downloads libtorch 2.9.0 for the CPU at build time (needs the network);
# - LIBTORCH_USE_PYTORCH=1: the libtorch of the installed Python `torch` package.
# With MHE_PATCH_TORCH_SYS=1 (and LIBTORCH_USE_PYTORCH=1), an installed PyTorch newer than 2.9
# is made to work the way it was measured here with PyTorch 2.15: a copy of torch-sys compiled
# as C++20, with the six functions 2.15 dropped (align_as, align_tensors, cholesky,
# cholesky_out, qr, qr_out) mapped to their linalg successors or to an error, and copies of
# torch-sys and burn-tch that do not link libtorch_cuda (a CUDA build of PyTorch on a machine
# without CUDA). Run the binary with the library folder on LD_LIBRARY_PATH, e.g.
#   LD_LIBRARY_PATH=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')/lib
set -euo pipefail

export RUSTFLAGS="${RUSTFLAGS:-} --cfg burn_mhe_libtorch"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target-libtorch}
patches=()
if [[ "${MHE_PATCH_TORCH_SYS:-0}" == 1 ]]; then
  export LIBTORCH_BYPASS_VERSION_CHECK=1 CXXFLAGS_x86_64_unknown_linux_gnu=-std=c++20
  sources="${CARGO_HOME:-$HOME/.cargo}/registry/src"
  if ! ls -d "$sources"/*/torch-sys-0.22.0 >/dev/null 2>&1; then cargo fetch; fi
  registry=$(dirname "$(ls -d "$sources"/*/torch-sys-0.22.0 | head -1)")
  patched="$CARGO_TARGET_DIR/patched"
  # Patched once: a fresh copy would give cargo new mtimes and rebuild torch-sys's C++ wrapper
  # (about two minutes) on every call.
  if [[ ! -f "$patched/done" ]]; then
    rm -rf "$patched" && mkdir -p "$patched"
    cp -r "$registry"/torch-sys-0.22.0 "$registry"/burn-tch-0.22.1 "$patched"/
    rm -f "$patched"/*/.cargo_vcs_info.json
    generated="$patched/torch-sys-0.22.0/libtch/torch_api_generated.cpp"
    sed -i \
      -e 's/auto outputs__ = self->align_as(\*other);/throw std::runtime_error("align_as: not in this libtorch"); auto outputs__ = *self;/' \
      -e 's/auto outputs__ = torch::align_tensors(\(.*\));/throw std::runtime_error("align_tensors: not in this libtorch"); auto outputs__ = \1;/' \
      -e 's/torch::cholesky(\*self, (bool)upper)/torch::linalg_cholesky(*self, (bool)upper)/' \
      -e 's/torch::cholesky_out(\*out, \*self, (bool)upper)/torch::linalg_cholesky_out(*out, *self, (bool)upper)/' \
      -e 's/torch::qr(\*self, (bool)some)/torch::linalg_qr(*self, some ? "reduced" : "complete")/' \
      -e 's/torch::qr_out(\*Q, \*R, \*self, (bool)some)/torch::linalg_qr_out(*Q, *R, *self, some ? "reduced" : "complete")/' \
      "$generated"
    sed -i 's/let use_cuda =$/let use_cuda = false \&\&/' \
      "$patched"/torch-sys-0.22.0/build.rs "$patched"/burn-tch-0.22.1/build.rs
    touch "$patched/done"
  fi
  patches=(--config "patch.crates-io.torch-sys.path=\"$patched/torch-sys-0.22.0\""
           --config "patch.crates-io.burn-tch.path=\"$patched/burn-tch-0.22.1\"")
fi

# A path patch drops the registry source of torch-sys and burn-tch from Cargo.lock: put the
# lock file back as it was afterwards.
lock_copy=$(mktemp)
cp Cargo.lock "$lock_copy"
trap 'cp "$lock_copy" Cargo.lock; rm -f "$lock_copy"' EXIT
# flex stays in (the CPU the comparisons run against); wgpu and ndarray stay out.
features=(--no-default-features --features flex,avx512)
if [[ "${1:-}" == test ]]; then
  shift
  cargo test --workspace "${features[@]}" "${patches[@]}" --test cross_device \
    --test train_job "$@"
  exit
fi
cargo build --bin mhe "${features[@]}" "${patches[@]}" "$@"
echo "built $CARGO_TARGET_DIR/$([[ " $* " == *" --release "* ]] && echo release || echo debug)/mhe"
