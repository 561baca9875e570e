#!/usr/bin/env bash
# The whole test suite on a fresh machine: install + build (scripts/setup.sh --no-run), then every CTest test,
# then, when clang is installed, the fuzz replay (every seed and regression input of tests/fuzz under ASan + UBSan) and
# a short timed fuzz run of every target (scripts/fuzz.sh --ci: TCPP_FUZZ_SECONDS per target, default 10, ~4 min for
# the 18 targets). Any finding fails the run; the input a target stopped on is copied to tests/fuzz/regressions/<target>/
# (the log names it; commit it with the fix). TCPP_FUZZ_SECONDS=0: replay only; TCPP_FUZZ=0: neither.
# Last, the LibTorch-free test binaries (core, args, datasets, tokenizers: every parser of outside bytes) run under
# ASan + UBSan + LeakSanitizer, built in build-fuzz on the libraries the fuzz targets already instrumented
# (scripts/asan.sh --ci; TCPP_ASAN=0 skips it). The LibTorch test binaries' sanitizer run (scripts/asan.sh --torch and
# --rest) is a separate job: docs/RELIABILITY.md §2. The output ends with every stage's verdict (CI keeps only the
# tail): failed tests with their last lines and whether a rerun passes, fuzz findings with their reports.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-run
# CI shows only the tail of this script's output: each stage's verdict (and what failed) is repeated there, last.
summary=()
cd build
# Debian's OpenBLAS misdetects these CPUs unless told the core type (see README, performance section).
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-$(../scripts/detect_openblas_coretype.sh)}"
status=0 ctest_status=0
ctest --output-on-failure -j"$(nproc)" --timeout 600 "$@" || ctest_status=$?
if [ $ctest_status -ne 0 ]; then
  status=1
  mapfile -t failed < <(cut -d: -f2 Testing/Temporary/LastTestsFailed.log 2>/dev/null || true)
  summary+=("ctest: FAILED (exit $ctest_status): ${failed[*]:-see above}")
  for name in "${failed[@]:0:5}"; do  # the end of each one's output (ctest's LastTest.log)
    summary+=("  --- the last lines $name printed:")
    while IFS= read -r line; do summary+=("  | $line"); done < <(awk -v n="$name" '
      { k = " Testing: " n; i = index($0, k) } i && i + length(k) == length($0) + 1 { on = 1; next }
      on && /^<end of output>/ { exit }
      on' Testing/Temporary/LastTest.log 2>/dev/null | tail -25)
  done
  # Run once more, to tell a flaky test from a broken one; the run fails either way.
  if [ ${#failed[@]} -gt 0 ]; then
    if ctest --rerun-failed -j"$(nproc)" --timeout 600 >/dev/null 2>&1; then
      summary+=("  the failed tests all passed when run again: flaky (still a failure to fix)")
    else
      summary+=("  the failed tests failed again when run alone")
    fi
  fi
else
  summary+=("ctest: passed")
fi
cd ..
# The fuzzing needs its own instrumented build (build-fuzz: ~8 CPU-minutes cold, ~1.5 with ccache; replay ~12 s).
if [ "${TCPP_FUZZ:-1}" != 0 ]; then
  if command -v clang++ >/dev/null 2>&1; then
    fuzz_log=$(mktemp)
    fuzz_status=0
    # pipefail: the pipeline's status is fuzz.sh's
    TCPP_FUZZ_JOBS="$(nproc)" scripts/fuzz.sh --ci "${TCPP_FUZZ_SECONDS:-10}" 2>&1 | tee "$fuzz_log" || fuzz_status=1
    if [ $fuzz_status -ne 0 ]; then
      status=1
      summary+=("fuzz: FAILED:")
      while IFS= read -r line; do summary+=("  $line"); done \
        < <(grep -E '^== (FUZZ FINDING|REPLAY FAILED|.*finding\(s\) copied)|ERROR|^SUMMARY|runtime error:|^fuzz\.sh:' \
          "$fuzz_log" | head -40)
      [ ${#summary[@]} -gt 0 ] && [ "${summary[-1]}" = "fuzz: FAILED:" ] && summary+=("  (see its output above)")
    else
      summary+=("fuzz: passed (replay + ${TCPP_FUZZ_SECONDS:-10} s per target, no finding)")
    fi
    rm -f "$fuzz_log"
  else
    echo "== fuzz replay and timed fuzzing skipped: clang not installed (apt-get install clang; see scripts/fuzz.sh)"
    summary+=("fuzz: skipped (no clang)")
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
    asan_status=0
    touch "$fuzz_build/.asan-start"
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}" \
      TCPP_ASAN_BUILD_DIR="$fuzz_build" TCPP_ASAN_JOBS="$(nproc)" scripts/asan.sh --ci || asan_status=1
    if [ $asan_status -ne 0 ]; then
      status=1
      failed=$(find "$fuzz_build" -maxdepth 4 -name LastTestsFailed.log -newer "$fuzz_build/.asan-start" \
        -exec cut -d: -f2 {} + 2>/dev/null | tr '\n' ' ' || true)
      summary+=("ASan + UBSan (LibTorch-free tests): FAILED: ${failed:-a sanitizer report, see above}")
    else
      summary+=("ASan + UBSan (LibTorch-free tests): passed")
    fi
  else
    echo "== the LibTorch-free tests under ASan + UBSan skipped: clang not installed (see scripts/fuzz.sh)"
    summary+=("ASan + UBSan: skipped (no clang)")
  fi
fi
echo
echo "== test.sh summary ($( [ $status = 0 ] && echo passed || echo FAILED )):"
printf '   %s\n' "${summary[@]}"
exit $status
