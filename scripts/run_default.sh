#!/usr/bin/env bash
# The built-in default job. Until the run_clm pipeline is wired (issue 7), this shows run_clm's argument front.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== run_clm --help (the training pipeline behind it is being wired; see README status)"
build/examples/run_clm --help | head -40
echo "..."
echo "== tcpp args: what a run_clm command line means"
build/tools/tcpp args --model_type gpt2 --config_overrides n_embd=128,n_layer=2 --train_file corpus.txt \
  --do_train --do_eval --per_device_train_batch_size 8 --learning_rate 5e-4 --max_steps 200 --report_to none \
  --output_dir /tmp/tcpp-default | head -20
echo "..."
