#!/usr/bin/env bash
# Data-parallel scaling of run_clm on this machine: training samples/s of 1 process vs N processes (default 2),
# one thread each, same model and per-device batch, measured back to back in this run. Prints the scaling
# efficiency = samples/s(N) / (N x samples/s(1)). Uses the Brown corpus set-up of scripts/run_default.sh.
#   bench/ddp_scaling.sh [N]      (STEPS=40 by default; BUILD=build)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2}"
steps="${STEPS:-40}"
build="${BUILD:-build}"
work="$build/bench_ddp"
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-$(scripts/detect_openblas_coretype.sh)}"
export OMP_NUM_THREADS=1

if [ ! -f "$work/tokenizer/tokenizer.json" ]; then
  scripts/brown_to_text.sh "$work/data" >/dev/null
  "$build/tools/tcpp" tokenizer train --model bpe --files "$work/data/train.txt" --vocab_size 4096 --min_frequency 2 \
    --special_tokens "<|endoftext|>" --output "$work/tokenizer" >/dev/null
fi
common=(--model_type gpt2
  --config_overrides "n_embd=128,n_layer=4,n_head=4,n_positions=256,vocab_size=4096,bos_token_id=0,eos_token_id=0"
  --tokenizer_name "$work/tokenizer" --train_file "$work/data/train.txt" --block_size 128
  --per_device_train_batch_size 8 --max_steps "$steps" --logging_steps 1000 --save_strategy no --report_to none
  --do_train --overwrite_output_dir)

sps() { grep -o '"train_samples_per_second": [0-9.e+-]*' "$1/train_results.json" | awk '{print $2}'; }
# Warm the dataset cache first so neither timed run tokenizes.
"$build/examples/run_clm" "${common[@]}" --max_steps 1 --output_dir "$work/warm" >/dev/null 2>&1
"$build/examples/run_clm" "${common[@]}" --output_dir "$work/p1" >/dev/null 2>&1
"$build/tools/tcpp" launch --standalone --nproc_per_node "$n" -- "$build/examples/run_clm" "${common[@]}" \
  --output_dir "$work/p$n" >/dev/null 2>&1
one=$(sps "$work/p1")
many=$(sps "$work/p$n")
echo "run_clm GPT-2 (4 layers, 128 wide, block 128, batch 8 per process), $steps steps, 1 thread per process"
echo "1 process:  $one samples/s"
echo "$n processes: $many samples/s"
awk -v a="$one" -v b="$many" -v n="$n" 'BEGIN { printf "speed-up %.2fx, scaling efficiency %.0f%%\n", b / a, 100 * b / (n * a) }'
