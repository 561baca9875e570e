#!/usr/bin/env python3
"""Our run_clm against the real Hugging Face Trainer, step by step, where transformers and accelerate are installed
(Debian unstable's python3-transformers / python3-accelerate: scripts/libtorch2_check.sh runs this in its chroot).

Both sides start from the same weights (`tcpp model init`, dropout off) and train on the same saved dataset
(`tcpp prepare`: tokenized, grouped into blocks), with the same TrainingArguments: AdamW with weight decay, a
cosine schedule with warmup, gradient accumulation, clipping, evaluation every few steps. The Trainer reads the
dataset through pyarrow (`datasets` is not packaged in Debian) as a plain torch Dataset. Then, entry by entry of
trainer_state.json's log_history: the same steps and epochs, learning rates equal, losses within 1e-4 (4.57 rounds
them to 4 decimals), grad norms and eval losses within 1e-4 relative; train_loss and the final evaluation
(eval_results.json) too; and the final weights within 1e-4.

Our reference is transformers 4.57. One difference of 5.x is bridged here, and reported: 5.x's prediction_step
passes num_items_in_batch to the eval forward too, counted over unshifted labels for GPT-2 (its loss_type is None),
so its eval loss is sum(CE) / (B*L) where 4.57's (and ours) is the mean over the B*(L-1) predicted tokens: lower by
(L-1)/L. With transformers >= 5 the Trainer below counts no items outside training, as 4.57 did; the native 5.x eval
loss is printed beside it.

Prints one 'PASS|FAIL name detail' line per check; exits 1 if any failed."""
import argparse
import glob
import json
import math
import os
import subprocess
import sys

results = []


def report(ok, name, detail):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'} {name} {detail}", flush=True)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])} ... exited {p.returncode}:\n{p.stderr[-2000:]}")
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tcpp", required=True)
    ap.add_argument("--run_clm", required=True)
    ap.add_argument("--text", required=True, help="a text file, one document per line (split 90/10)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--max_steps", type=int, default=12)
    a = ap.parse_args()

    import numpy as np
    import pyarrow as pa
    import torch
    import transformers
    from safetensors.torch import load_file
    from transformers import GPT2LMHeadModel, Trainer, TrainingArguments, default_data_collator

    os.makedirs(a.work, exist_ok=True)
    lines = [l for l in open(a.text, encoding="utf-8") if l.strip()]
    cut = len(lines) * 9 // 10
    train_txt, valid_txt = os.path.join(a.work, "train.txt"), os.path.join(a.work, "validation.txt")
    open(train_txt, "w", encoding="utf-8").writelines(lines[:cut])
    open(valid_txt, "w", encoding="utf-8").writelines(lines[cut:])
    tok, init, prepared = (os.path.join(a.work, d) for d in ("tok", "init", "prepared"))
    run([a.tcpp, "tokenizer", "train", "--model", "bpe", "--files", train_txt, "--vocab_size", "512",
         "--min_frequency", "2", "--special_tokens", "<|endoftext|>", "--output", tok])
    run([a.tcpp, "model", "init", "--model_type", "gpt2", "--seed", "7", "--output", init, "--config_overrides",
         "n_embd=64,n_layer=2,n_head=4,n_positions=64,vocab_size=512,bos_token_id=0,eos_token_id=0,"
         "resid_pdrop=0,embd_pdrop=0,attn_pdrop=0"])
    run([a.tcpp, "prepare", "--model_name_or_path", init, "--tokenizer_name", tok, "--train_file", train_txt,
         "--validation_file", valid_txt, "--block_size", "32", "--output", prepared])

    hp = dict(per_device_train_batch_size=4, per_device_eval_batch_size=8, gradient_accumulation_steps=2,
              learning_rate=3e-3, weight_decay=0.1, max_grad_norm=0.5, lr_scheduler_type="cosine", warmup_steps=3,
              max_steps=a.max_steps, logging_steps=1, eval_strategy="steps", eval_steps=4, seed=42)
    ours = os.path.join(a.work, "ours")
    flags = []
    for k, v in hp.items():
        flags += [f"--{k}", str(v)]
    run([a.run_clm, "--model_name_or_path", init, "--tokenizer_name", tok, "--train_file", prepared,
         "--do_train", "--do_eval", "--output_dir", ours, "--overwrite_output_dir", "--save_strategy", "no",
         "--report_to", "none", "--disable_tqdm", "true"] + flags)

    class Blocks(torch.utils.data.Dataset):
        def __init__(self, split):
            files = sorted(glob.glob(os.path.join(prepared, split, "*.arrow")))
            tables = []
            for f in files:
                with pa.memory_map(f) as src:
                    tables.append(pa.ipc.open_stream(src).read_all())
            self.rows = pa.concat_tables(tables).to_pylist()

        def __len__(self):
            return len(self.rows)

        def __getitem__(self, i):
            return self.rows[i]

    v5 = int(transformers.__version__.split(".")[0]) >= 5

    class Trainer457Eval(Trainer):
        in_eval = False

        def prediction_step(self, *args, **kwargs):
            self.in_eval = True
            try:
                return super().prediction_step(*args, **kwargs)
            finally:
                self.in_eval = False

        def _get_num_items_in_batch(self, batch_samples, device):
            if v5 and self.in_eval:
                return None  # 4.57's prediction_step called compute_loss without num_items_in_batch
            return super()._get_num_items_in_batch(batch_samples, device)

    torch.manual_seed(0)
    model = GPT2LMHeadModel.from_pretrained(init)
    theirs = os.path.join(a.work, "theirs")
    args = TrainingArguments(output_dir=theirs, save_strategy="no", report_to=[], disable_tqdm=True, use_cpu=True,
                             **hp)
    trainer = Trainer457Eval(model=model, args=args, train_dataset=Blocks("train"),
                             eval_dataset=Blocks("validation"), data_collator=default_data_collator)
    train_out = trainer.train()
    hf = list(trainer.state.log_history)  # what run_clm's save_state() writes: before the final evaluation
    final = trainer.evaluate()
    print(f"transformers {transformers.__version__}, torch {torch.__version__}", flush=True)
    if v5:
        native = Trainer(model=trainer.model, args=args, eval_dataset=Blocks("validation"),
                         data_collator=default_data_collator).evaluate()["eval_loss"]
        print(f"transformers {transformers.__version__}'s own eval loss: {native:.6f} = {final['eval_loss']:.6f} * "
              f"{native / final['eval_loss']:.6f} (block size 32: 31/32 = {31 / 32:.6f})", flush=True)

    mine = json.load(open(os.path.join(ours, "trainer_state.json")))["log_history"]

    def entries(log, key):
        return [(e["step"], e) for e in log if key in e]

    for key, tol, rel in (("loss", 1.01e-4, False), ("learning_rate", 1e-9, True), ("grad_norm", 1e-4, True),
                          ("eval_loss", 1e-4, True)):
        m, h = entries(mine, key), entries(hf, key)
        if [s for s, _ in m] != [s for s, _ in h]:
            report(False, key, f"logged at steps {[s for s, _ in m]} here, {[s for s, _ in h]} by the HF Trainer")
            continue
        worst, where = 0.0, None
        for (step, x), (_, y) in zip(m, h):
            d = abs(x[key] - y[key]) / (abs(y[key]) if rel and y[key] != 0 else 1.0)
            if not math.isfinite(d) or d > worst:
                worst, where = d, (step, x[key], y[key])
            if abs(x["epoch"] - y["epoch"]) > 1e-9:
                worst, where = math.inf, (step, f"epoch {x['epoch']}", f"epoch {y['epoch']}")
        detail = f"{len(m)} entries, max {'relative ' if rel else ''}diff {worst:.2e}"
        if where and worst > 0:
            detail += f" (step {where[0]}: ours {where[1]}, HF {where[2]})"
        report(worst <= tol, key, detail)

    for name, x, y in (("train_loss", json.load(open(os.path.join(ours, "train_results.json")))["train_loss"],
                        train_out.training_loss),
                       ("final-eval_loss", json.load(open(os.path.join(ours, "eval_results.json")))["eval_loss"],
                        final["eval_loss"])):
        d = abs(x - y) / abs(y)
        report(d <= 1e-4, name, f"ours {x:.6f}, HF {y:.6f}, relative diff {d:.2e}")

    ours_w = load_file(os.path.join(ours, "model.safetensors"))
    theirs_w = {k: v.detach() for k, v in trainer.model.state_dict().items()}
    missing = [k for k in ours_w if k not in theirs_w]
    worst = max((float((ours_w[k].float() - theirs_w[k].float()).abs().max()) for k in ours_w if k in theirs_w),
                default=math.inf)
    report(not missing and worst <= 1e-4, "final-weights",
           f"{len(ours_w)} tensors, max |diff| {worst:.2e}" + (f", not in HF's model: {missing[:3]}" if missing else ""))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
