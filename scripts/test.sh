#!/usr/bin/env bash
# The whole test suite on a fresh machine: install + build (scripts/setup.sh --no-run), then every CTest test,
# then, when clang is installed, the fuzz replay (every seed and regression input of tests/fuzz under ASan + UBSan) and
# a short timed fuzz run of every target (scripts/fuzz.sh --ci: TCPP_FUZZ_SECONDS per target, default 10, ~4 min for
# the 17 targets). Any finding fails the run; the input a target stopped on is copied to tests/fuzz/regressions/<target>/
# (the log names it; commit it with the fix). TCPP_FUZZ_SECONDS=0: replay only; TCPP_FUZZ=0: neither.
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
exit $status
