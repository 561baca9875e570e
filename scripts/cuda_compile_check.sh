#!/usr/bin/env bash
# Compile and link trainer.cpp against a CUDA LibTorch, here, without a GPU: what only a CUDA build compiles (c10d's
# NCCL process group, LibTorch's CUDA libraries at link time, cmake/TcppTorchFromRoot.cmake's CUDA branch) is checked
# before a session is lent a GPU machine, so that its few minutes are not lost to a compile error.
# The CUDA LibTorch is Debian unstable's (contrib: libtorch-cuda-dev and its library, libnccl-dev), downloaded
# from the Debian archive into .cuda-compile/ (git-ignored, ~700 MB, reused) and unpacked with dpkg -x; nothing is
# installed. Those libraries need a newer glibc than Debian 12's, so the programs are linked (with
# --allow-shlib-undefined) but not run: running is the GPU check's part (scripts/gpu_check.sh).
# The CUDA runtime headers that c10d's NCCL header includes come from $CUDA_HOME/include (default /usr/local/cuda);
# without them the NCCL process group is left out and said so. No nvcc is needed: LibTorch is taken from its folder
# (TCPP_TORCH_ROOT), as scripts/gpu_check.sh does when the wheel's TorchConfig.cmake finds no CUDA toolkit.
# Usage: scripts/cuda_compile_check.sh [--build-dir DIR] [--jobs N]     (exit status 0 when everything compiled)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
build=build-cudacompile
jobs=$(nproc 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build=$2; shift ;;
    --jobs) jobs=$2; shift ;;
    *) echo "usage: scripts/cuda_compile_check.sh [--build-dir DIR] [--jobs N]" >&2; exit 2 ;;
  esac
  shift
done
log() { echo "[cuda_compile_check $(date -u +%H:%M:%S)] $*"; }
fail() { echo "cuda_compile_check: $*" >&2; exit 1; }
for tool in curl xz dpkg sha256sum cmake ninja; do command -v $tool >/dev/null || fail "needs $tool"; done

archive=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
dest=.cuda-compile
debs=$dest/debs
root=$dest/root
mkdir -p "$debs"

# ---- the packages: libtorch-cuda-dev, the libtorch-cuda-X.Y it depends on, NCCL's header and library
log "reading sid/contrib's package index from $archive"
index=$dest/Packages
curl -fsS --retry 3 "$archive/dists/sid/contrib/binary-amd64/Packages.xz" | xz -dc > "$index.tmp" ||
  fail "cannot read $archive/dists/sid/contrib/binary-amd64/Packages.xz"
mv "$index.tmp" "$index"
field() {  # package field: the field of the package's stanza in the index
  awk -v p="$1" -v f="$2" 'BEGIN { RS = ""; FS = "\n" }
    { hit = 0; for (i = 1; i <= NF; i++) if ($i == "Package: " p) hit = 1
      if (hit) for (i = 1; i <= NF; i++)
        if (index($i, f ": ") == 1) { print substr($i, length(f) + 3); exit } }' "$index"
}
runtime=$(field libtorch-cuda-dev Depends | tr ',' '\n' | sed -nE 's/^ *(libtorch-cuda-[0-9][0-9.]*) .*/\1/p' | head -1)
[ -n "$runtime" ] || fail "libtorch-cuda-dev is not in sid/contrib (or no longer names its library package)"
packages=(libtorch-cuda-dev "$runtime" libnccl-dev libnccl2)
stamp=""
for p in "${packages[@]}"; do
  file=$(field "$p" Filename) sum=$(field "$p" SHA256)
  [ -n "$file" ] && [ -n "$sum" ] || fail "$p: no Filename/SHA256 in sid/contrib's index"
  deb=$debs/$(basename "$file")
  if [ ! -f "$deb" ] || ! echo "$sum  $deb" | sha256sum -c --status; then
    log "downloading $p ($(field "$p" Size) bytes)"
    curl -fsS --retry 3 -o "$deb.part" "$archive/$file" || fail "cannot download $archive/$file"
    echo "$sum  $deb.part" | sha256sum -c --status || fail "$p: checksum mismatch for $archive/$file"
    mv "$deb.part" "$deb"
  fi
  stamp+="$(basename "$deb") "
done
if [ "$(cat "$root/STAMP" 2>/dev/null)" != "$stamp" ]; then
  log "unpacking ${packages[*]}"
  rm -rf "$root"
  mkdir -p "$root"
  for p in "${packages[@]}"; do dpkg -x "$debs/$(basename "$(field "$p" Filename)")" "$root"; done
  echo "$stamp" > "$root/STAMP"
fi
torch_root=$(cd "$root/usr" && pwd)
version=$(awk '/^#define TORCH_VERSION_(MAJOR|MINOR|PATCH) / { v = v (v == "" ? "" : ".") $3 } END { print v }' \
  "$torch_root/include/torch/csrc/api/include/torch/version.h")
log "CUDA LibTorch ${version:-?} ($runtime) in $torch_root"

# ---- the CUDA runtime headers for c10d's NCCL header
cuda_home=${CUDA_HOME:-/usr/local/cuda}
cmake_args=(-S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTCPP_BUILD_TESTS=ON
  "-DCMAKE_CXX_FLAGS_RELEASE=-O0 -DNDEBUG" -DTCPP_TORCH_ROOT="$torch_root"
  -DCMAKE_EXE_LINKER_FLAGS=-Wl,--allow-shlib-undefined -DCMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE=PRE_TEST)
if [ -f "$cuda_home/include/cuda_runtime_api.h" ]; then
  cmake_args+=(-DTCPP_CUDA_INCLUDE_DIRS="$cuda_home/include" -DTCPP_NCCL_INCLUDE_DIR="$torch_root/include")
  nccl=1
else
  log "no $cuda_home/include/cuda_runtime_api.h (set CUDA_HOME): the NCCL process group is left out"
  cmake_args+=(-DTCPP_NCCL_INCLUDE_DIR=TCPP_NCCL_INCLUDE_DIR-NOTFOUND)
  nccl=0
fi

# ---- configure and build what uses CUDA-specific code: the programs, the CUDA and distributed test suites
rm -f "$build/CMakeCache.txt"
cmake "${cmake_args[@]}" > "$dest/configure.log" 2>&1 || { tail -30 "$dest/configure.log"; fail "configure failed"; }
targets=(tcpp run_clm run_mlm cuda_test distributed_test)
log "building ${targets[*]} (-O0, -j$jobs; log: $dest/build.log)"
if ! cmake --build "$build" -j"$jobs" --target "${targets[@]}" > "$dest/build.log" 2>&1; then
  grep -m20 -B2 -A8 -E 'error:|undefined reference' "$dest/build.log" || tail -40 "$dest/build.log"
  fail "the build against the CUDA LibTorch failed ($dest/build.log)"
fi

# ---- what the build must show: the NCCL backend compiled in, the programs linked to libtorch_cuda
# (grep -c reads everything: with grep -q, pipefail would report the writer's SIGPIPE as a failure.)
problems=()
if [ "$nccl" = 1 ] &&
   [ "$(nm -C "$build/src/tcpp/distributed/libtcpp_distributed.a" | grep -c 'c10d::ProcessGroupNCCL::')" = 0 ]; then
  problems+=("libtcpp_distributed.a has no c10d::ProcessGroupNCCL reference (NCCL not compiled in)")
fi
for exe in tools/tcpp examples/run_clm examples/run_mlm tests/unit/cuda/cuda_test; do
  [ "$(readelf -d "$build/$exe" | grep -c 'NEEDED.*libtorch_cuda')" != 0 ] ||
    problems+=("$exe is not linked to libtorch_cuda")
done
warnings=$(grep -c 'warning:' "$dest/build.log" || true)
if [ ${#problems[@]} -gt 0 ]; then printf '  %s\n' "${problems[@]}"; fail "built, but not as a CUDA build"; fi
log "PASS: ${targets[*]} compiled and linked against CUDA LibTorch $version ($runtime)," \
  "NCCL process group $([ "$nccl" = 1 ] && echo compiled in || echo left out), $warnings compiler warnings"
