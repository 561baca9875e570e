#!/usr/bin/env bash
# Every benchmark of issue #8 in one command, each printing its ratios against the peers measured in the same run:
#   1. training step, GPT-2 small shape: trainer.cpp vs PyTorch eager, fp32 and bf16, tuned and out of the box
#   2. training step, GPT-2 124M (block 1024, batch 1), fp32, tuned
#   3. tokenizer: GPT-2 BPE on the Brown corpus vs the Hugging Face tokenizers core and tiktoken (npm peers)
#   4. data pipeline: load_dataset vs cat, tokenize + group_texts with num_proc 1 and 2, reopening 1 GB
#   5. data-parallel scaling: run_clm with 1 vs 2 processes
# Needs the README setup and a build with -DTCPP_BUILD_BENCHMARKS=ON (BUILD=build by default).
#   bench/run_all.sh [--quick]   (--quick: one repeat each, no out-of-box rows, smaller data; ~10 min on 2 cores)
# Takes 30-60 minutes on a 2-vCPU machine. Run it on an otherwise idle machine: every figure is a ratio measured in
# one run, but busy cores still distort thread scaling.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD:-build}"
quick=0
[ "${1:-}" = "--quick" ] && quick=1
for b in train_step_bench tokenizers_bench datasets_pipeline_bench; do
  if [ ! -x "$build/bench/$b" ]; then
    echo "bench/run_all.sh: $build/bench/$b is missing: configure with -DTCPP_BUILD_BENCHMARKS=ON and build" >&2
    exit 2
  fi
done
section() { printf '\n== %s (%s, load %s)\n' "$1" "$(date -u +%H:%M:%SZ)" "$(uptime | sed 's/.*load average: //')"; }

echo "trainer.cpp benchmarks, $(date -u +%Y-%m-%d), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
if [ "$quick" = 1 ]; then
  section "1. training step, GPT-2 small shape, fp32 + bf16, tuned"
  BUILD="$build" bench/train_step.sh --repeats 1 --bf16 --no_out_of_box
  section "2. training step, GPT-2 124M, fp32, tuned"
  BUILD="$build" bench/train_step.sh --repeats 1 --shape 124m --no_out_of_box --steps 2 --warmup 2
  section "3. tokenizer"
  "$build/bench/tokenizers_bench"
  section "4. data pipeline"
  "$build/bench/datasets_pipeline_bench" --text_mb 50 --reopen_mb 1000 --repeats 1
  section "5. data-parallel scaling"
  STEPS=20 BUILD="$build" bench/ddp_scaling.sh 2
else
  section "1. training step, GPT-2 small shape, fp32 + bf16, tuned and out of the box"
  BUILD="$build" bench/train_step.sh --repeats 3 --bf16
  section "2. training step, GPT-2 124M, fp32 + bf16, tuned"
  BUILD="$build" bench/train_step.sh --repeats 2 --shape 124m --bf16 --no_out_of_box
  section "3. tokenizer"
  "$build/bench/tokenizers_bench"
  section "4. data pipeline"
  "$build/bench/datasets_pipeline_bench"
  section "5. data-parallel scaling"
  BUILD="$build" bench/ddp_scaling.sh 2
fi
