#!/usr/bin/env bash
# Training-step throughput of trainer.cpp's GPT-2 vs the same model in PyTorch eager (Debian's python3-torch, which
# runs on the same libtorch kernels), measured back to back in this run with the same environment, plus the fp32
# sgemm peak of this machine. Prints tokens/s, the ratio, and each side's share of the sgemm peak.
#   bench/train_step.sh [extra shape flags, e.g. --n_layer 12 --n_embd 768 --n_head 12 --vocab 50257 --block 512]
# Needs a build with -DTCPP_BUILD_BENCHMARKS=ON (BUILD=build by default).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD:-build}"
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-$(scripts/detect_openblas_coretype.sh)}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}"
if grep -q avx512f /proc/cpuinfo; then export ATEN_CPU_CAPABILITY="${ATEN_CPU_CAPABILITY:-avx512}"; fi
jemalloc=$(ls /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 2>/dev/null || true)
run() { if [ -n "$jemalloc" ]; then LD_PRELOAD="$jemalloc" "$@"; else "$@"; fi; }

ours=$(run "$build/bench/train_step_bench" "$@")
peer=$(run /usr/bin/python3 bench/train_step_torch.py --sgemm "$@")
ours2=$(run "$build/bench/train_step_bench" "$@")
echo "trainer.cpp:   $ours"
echo "              $ours2"
echo "PyTorch eager: $peer"
/usr/bin/python3 - "$ours" "$ours2" "$peer" <<'PY'
import json, sys
a, a2, p = (json.loads(x) for x in sys.argv[1:])
best = max(a["tokens_per_s"], a2["tokens_per_s"])
# Training FLOPs per token ~ 6 x parameters (matmuls; attention's T^2 terms left out, so the shares are lower bounds).
flops_ours, flops_peer = 6 * a["params"] * best, 6 * p["params"] * p["tokens_per_s"]
peak = p["sgemm_gflops"] * 1e9
print(f"tokens/s: trainer.cpp {best:.0f}, PyTorch eager {p['tokens_per_s']:.0f}  ->  ratio {best / p['tokens_per_s']:.2f}x")
print(f"share of the fp32 sgemm peak ({p['sgemm_gflops']:.0f} GFLOP/s, {p['threads']} threads): "
      f"trainer.cpp {100 * flops_ours / peak:.0f}%, PyTorch eager {100 * flops_peer / peak:.0f}%")
PY
