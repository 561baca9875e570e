#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (gcc, TCPP_SANITIZE=ON, -O1 -g) in its own build
# folder, then ctest. Any ASan report or UB fails the test that hit it (halt_on_error); LibTorch itself is not
# instrumented, so its own leaks at exit are not reported (detect_leaks=0; the fuzz targets check leaks instead).
# Usage: scripts/asan.sh [--ci] [CTEST_ARGS...]   e.g. scripts/asan.sh -L unit      scripts/asan.sh -R '^Lock'
#   --ci: the CI job (not part of .ci/run; its cost is in docs/RELIABILITY.md): only the LibTorch-free test binaries
#         (core, args, datasets, tokenizers, tokenizers_datasets), which hold every parser of outside bytes except the
#         tensor readers (those are fuzzed instead, scripts/fuzz.sh). TCPP_ASAN_TARGETS overrides the list.
#   --torch: the LibTorch test binaries (models, collators, trainer, pipelines) and one integration test
#         (integration_test: run_clm and tcpp run as child processes, built instrumented too). LibTorch is not
#         instrumented; leaks stay off (detect_leaks=0, see below). Ran to completion on 2026-11-29: 289 tests, all
#         passed, ~8 min of tests at -j2 after the build (docs/RELIABILITY.md §2).
# Env: TCPP_ASAN_BUILD_DIR (build-asan), TCPP_ASAN_TARGETS (build only these targets; default: everything),
#      TCPP_ASAN_JOBS (nproc).
# Cost on 2 cores: a cold build of everything is about as long as the normal build (LibTorch TUs dominate), the
# tests run 2-5x slower than in build/. Not part of .ci/run for that reason (see docs/RELIABILITY.md).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --ci ]; then
  shift
  TCPP_ASAN_TARGETS="${TCPP_ASAN_TARGETS:-core_test args_test datasets_test tokenizers_test tokenizers_datasets_test}"
elif [ "${1:-}" = --torch ]; then
  shift
  TCPP_ASAN_TARGETS="${TCPP_ASAN_TARGETS:-models_test collators_test trainer_test pipelines_test integration_test run_clm tcpp}"
fi
T_START=$(date +%s)
BUILD="${TCPP_ASAN_BUILD_DIR:-build-asan}"
JOBS="${TCPP_ASAN_JOBS:-$(nproc)}"
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DTCPP_SANITIZE=ON >/dev/null
fi
t0=$(date +%s)
# shellcheck disable=SC2086
cmake --build "$BUILD" -j"$JOBS" ${TCPP_ASAN_TARGETS:+--target $TCPP_ASAN_TARGETS}
echo "== build-asan: $(($(date +%s) - t0)) s"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}"
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-$(scripts/detect_openblas_coretype.sh)}"
cd "$BUILD"
status=0
if [ -z "${TCPP_ASAN_TARGETS:-}" ]; then
  ctest --output-on-failure -j"$JOBS" --timeout 1800 "$@" || status=$?
else
  # Only the tests of the chosen binaries (a binary built by an earlier run with another list would otherwise run
  # too, stale): ctest in each test folder that registers one of them; the binaries left unbuilt there show up as
  # <target>_NOT_BUILT, left out.
  dirs=()
  for t in $TCPP_ASAN_TARGETS; do
    f=$(find tests -name "${t}\[1\]_include.cmake" 2>/dev/null | head -1)
    [ -n "$f" ] && [[ " ${dirs[*]} " != *" $(dirname "$f") "* ]] && dirs+=("$(dirname "$f")")
  done
  for d in "${dirs[@]}"; do
    echo "== ctest in $BUILD/$d"
    ctest --test-dir "$d" --output-on-failure -j"$JOBS" --timeout 1800 -E _NOT_BUILT "$@" || status=1
  done
fi
echo "== asan.sh: $(($(date +%s) - T_START)) s in all"
exit $status
