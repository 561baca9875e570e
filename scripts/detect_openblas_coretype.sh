#!/usr/bin/env bash
# Print the OPENBLAS_CORETYPE this CPU can run (Debian's OpenBLAS 0.3.21 misdetects recent Intel/AMD CPUs and falls
# back to a generic kernel). Prints nothing when no override is needed or the CPU is unknown.
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
has() { [[ " $flags " == *" $1 "* ]]; }
if has avx512f && has avx512bw && has avx512vl && has avx512dq; then
  echo SkylakeX
elif has avx2 && has fma; then
  echo Haswell
fi
