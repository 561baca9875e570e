#!/usr/bin/env bash
# The whole test suite on a fresh machine: install + build (scripts/setup.sh --no-run), then every CTest test,
# then, when clang is installed, the fuzz replay (every seed and regression input of tests/fuzz under ASan + UBSan) and
# a short timed fuzz run of every target (scripts/fuzz.sh --ci: TCPP_FUZZ_SECONDS per target, default 10, ~4 min for
# the 17 targets). Any finding fails the run; the input a target stopped on is copied to tests/fuzz/regressions/<target>/
# (the log names it; commit it with the fix). TCPP_FUZZ_SECONDS=0: replay only; TCPP_FUZZ=0: neither.
# Last, the LibTorch-free test binaries (core, args, datasets, tokenizers: every parser of outside bytes) run under
# ASan + UBSan + LeakSanitizer, built in build-fuzz on the libraries the fuzz targets already instrumented
# (scripts/asan.sh --ci; TCPP_ASAN=0 skips it). The LibTorch test binaries' sanitizer run (scripts/asan.sh --torch and
# --rest) is a separate job: docs/RELIABILITY.md §2.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-run
cd build
# Debian's OpenBLAS misdetects these CPUs unless told the core type (see README, performance section).
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-$(../scripts/detect_openblas_coretype.sh)}"
status=0
ctest --output-on-failure -j"$(nproc)" --timeout 600 "$@" || status=$?
cd ..
# The fuzzing needs its own instrumented build (build-fuzz: ~8 CPU-minutes cold, ~1.5 with ccache; replay ~12 s).
if [ "${TCPP_FUZZ:-1}" != 0 ]; then
  if command -v clang++ >/dev/null 2>&1; then
    TCPP_FUZZ_JOBS="$(nproc)" scripts/fuzz.sh --ci "${TCPP_FUZZ_SECONDS:-10}" || status=1
  else
    echo "== fuzz replay and timed fuzzing skipped: clang not installed (apt-get install clang; see scripts/fuzz.sh)"
  fi
fi
if [ "${TCPP_ASAN:-1}" != 0 ]; then
  if command -v clang++ >/dev/null 2>&1; then
    fuzz_build="${TCPP_FUZZ_BUILD_DIR:-build-fuzz}"
    if [ ! -f "$fuzz_build/CMakeCache.txt" ]; then  # TCPP_FUZZ=0: configure it as scripts/fuzz.sh would
      generator=(); command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
      CC=clang CXX=clang++ cmake -S . -B "$fuzz_build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Debug -DTCPP_BUILD_FUZZERS=ON >/dev/null
    fi
    cmake -S . -B "$fuzz_build" -DTCPP_BUILD_TESTS=ON >/dev/null
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}" \
      TCPP_ASAN_BUILD_DIR="$fuzz_build" TCPP_ASAN_JOBS="$(nproc)" scripts/asan.sh --ci || status=1
  else
    echo "== the LibTorch-free tests under ASan + UBSan skipped: clang not installed (see scripts/fuzz.sh)"
  fi
fi
exit $status
