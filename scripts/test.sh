#!/usr/bin/env bash
# The whole test suite on a fresh machine: install + build (scripts/setup.sh --no-run), then every CTest test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-run
cd build
# Debian's OpenBLAS misdetects these CPUs unless told the core type (see README, performance section).
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-$(../scripts/detect_openblas_coretype.sh)}"
ctest --output-on-failure -j"$(nproc)" --timeout 600 "$@"
