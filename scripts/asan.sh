#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (gcc, TCPP_SANITIZE=ON, -O1 -g) in its own build
# folder, then ctest. Any ASan report or UB fails the test that hit it (halt_on_error); LibTorch itself is not
# instrumented, so its own leaks at exit are not reported (detect_leaks=0; the fuzz targets check leaks instead).
# Usage: scripts/asan.sh [--ci|--torch|--rest] [CTEST_ARGS...]   e.g. scripts/asan.sh -L unit, scripts/asan.sh -R '^Lock'
#   --ci: the CI job (not part of .ci/run; its cost is in docs/RELIABILITY.md): only the LibTorch-free test binaries
#         (core, args, datasets, tokenizers, tokenizers_datasets), which hold every parser of outside bytes except the
#         tensor readers (those are fuzzed instead, scripts/fuzz.sh). TCPP_ASAN_TARGETS overrides the list.
#   --torch: the LibTorch test binaries (models, collators, trainer, pipelines) and one integration test
#         (integration_test: run_clm and tcpp run as child processes, built instrumented too). LibTorch is not
#         instrumented; leaks stay off (detect_leaks=0, see below). Ran to completion on 2026-11-29: 289 tests, all
#         passed, ~8 min of tests at -j2 after the build (docs/RELIABILITY.md §2).
#   --rest: every other test binary: distributed_test (c10d Gloo collectives and the launcher; it re-launches itself
#         as the workers), cuda_test (every test skips without a CUDA device), tokenize_command_test (runs tcpp), the
#         integration tests that start run_clm / tcpp (integration_distributed_test: `tcpp launch` with 2 ranks over
#         loopback; integration_fault_test: SIGKILL during saves and caching, a full disk; the observability and
#         concurrency tests), and the interop tests against node's npm peers (datasets_interop_test: apache-arrow,
#         parquet_interop_test: parquet-wasm, tokenizers_interop_test: @anush008/tokenizers; they need node and
#         tests/interop/node_modules from scripts/setup.sh). The child programs (run_clm, run_mlm, tcpp) are built
#         instrumented too. Ran on 2026-11-29: 72 tests (10 skip: 8 CUDA, 2 worker-only), all passed after a test
#         fix, no sanitizer report, ~16 min of tests at -j2 (docs/RELIABILITY.md §2).
#   --ci, --torch and --rest together cover every test binary that ctest knows (every tcpp_add_test target); the
#   script checks this after building and names any registered *_test binary that none of the three lists, so a
#   new tcpp_add_test must be added to one of them (ALL_LISTED below).
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
elif [ "${1:-}" = --rest ]; then
  shift
  TCPP_ASAN_TARGETS="${TCPP_ASAN_TARGETS:-distributed_test cuda_test tokenize_command_test integration_distributed_test \
integration_fault_test integration_observability_test integration_concurrency_test datasets_interop_test \
parquet_interop_test tokenizers_interop_test run_clm run_mlm tcpp}"
fi
# The test binaries of --ci, --torch and --rest (keep in sync with the lists above).
ALL_LISTED="core_test args_test datasets_test tokenizers_test tokenizers_datasets_test models_test collators_test
trainer_test pipelines_test integration_test distributed_test cuda_test tokenize_command_test
integration_distributed_test integration_fault_test integration_observability_test integration_concurrency_test
datasets_interop_test parquet_interop_test tokenizers_interop_test"
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
# Every test binary ctest registers (tcpp_add_test writes one <target>[1]_include.cmake per binary) must be in one
# of the three lists, or --ci + --torch + --rest would silently leave it out. Checked after the build, which
# reconfigures when a test was added.
listed=" ${ALL_LISTED//$'\n'/ } "
unlisted=""
while IFS= read -r f; do
  t=$(basename "$f"); t=${t%"[1]_include.cmake"}
  [[ "$listed" == *" $t "* ]] || unlisted="$unlisted $t"
done < <(find "$BUILD/tests" -name '*_test\[1\]_include.cmake' 2>/dev/null)
[ -z "$unlisted" ] || echo "== asan.sh: WARNING: test binaries in none of --ci/--torch/--rest:$unlisted" >&2
# ASan's reports go to $BUILD/sanitizer-reports/asan.<pid> (log_path) instead of stderr: a report in a child process
# whose failure the test expects (a killed rank, a refused run) would otherwise go unnoticed; any file there fails
# the script. gcc's libubsan ignores log_path when linked with libasan, so UBSan's reports reach the same folder as
# ubsan.<pid> through the hook every instrumented executable carries (src/tcpp/core/ubsan_report_hook.cpp), besides
# stderr; a child stopped by one also aborts (SIGABRT).
reports="$(cd "$BUILD" && pwd)/sanitizer-reports"
rm -rf "$reports" && mkdir -p "$reports"
export TCPP_UBSAN_REPORT_DIR="$reports"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:log_path=$reports/asan}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}"
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-$(scripts/detect_openblas_coretype.sh)}"
cd "$BUILD"
status=0
if [ -z "${TCPP_ASAN_TARGETS:-}" ]; then
  ctest --output-on-failure -j"$JOBS" --timeout 1800 "$@" || status=$?
else
  # Only the tests of the chosen binaries, not those of their neighbours in the same test folder (tokenizers_test
  # next to tokenize_command_test, integration_test next to the other integration tests) nor a binary built by an
  # earlier run with another list: a test file that includes just their <target>[1]_include.cmake. A listed binary
  # left unbuilt shows up as <target>_NOT_BUILT, left out.
  selected="$PWD/asan-selected"
  mkdir -p "$selected"
  : > "$selected/CTestTestfile.cmake"
  for t in $TCPP_ASAN_TARGETS; do
    f=$(find "$PWD/tests" -name "${t}\[1\]_include.cmake" 2>/dev/null | head -1)
    [ -n "$f" ] && echo "include(\"$f\")" >> "$selected/CTestTestfile.cmake"
  done
  ctest --test-dir "$selected" --output-on-failure -j"$JOBS" --timeout 1800 -E _NOT_BUILT "$@" || status=1
fi
if [ -n "$(ls -A "$reports")" ]; then
  echo "== asan.sh: sanitizer reports (one file per process that stopped on one):"
  for f in "$reports"/*; do echo "--- $f"; head -60 "$f"; done
  status=1
fi
echo "== asan.sh: $(($(date +%s) - T_START)) s in all"
exit $status
