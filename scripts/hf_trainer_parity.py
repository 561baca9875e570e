#!/usr/bin/env python3
"""Our run_clm against the real Hugging Face Trainer, step by step, where transformers and accelerate are installed
(Debian unstable's python3-transformers / python3-accelerate: scripts/libtorch2_check.sh runs this in its chroot).

Both sides start from the same weights (`tcpp model init`; dropout off, except in the dropout runs, where HF's
global generator feeds dropout and ours must draw from it in the same order) and train on the same saved dataset
(`tcpp prepare`: tokenized, grouped into blocks), with the same TrainingArguments: AdamW with weight decay, a
cosine schedule with warmup, gradient accumulation, clipping, evaluation every few steps. The Trainer reads the
dataset through pyarrow (`datasets` is not packaged in Debian) as a plain torch Dataset. Then, entry by entry of
trainer_state.json's log_history: the same steps and epochs, learning rates equal, losses within 1e-4 (4.57 rounds
them to 4 decimals), grad norms and eval losses within 1e-4 relative; train_loss and the final evaluation
(eval_results.json) too; and the final weights within 1e-4.

Run for GPT-2 and Llama (whose RMSNorm weights the Trainer also keeps out of weight decay), and for BERT with
run_mlm: there the Trainer gets the examples as run_mlm.py makes them (transformers' tokenizer on our WordPiece
tokenizer.json, return_special_tokens_mask, group_texts per map batch of 1000 lines) and run_mlm.py's
DataCollatorForLanguageModeling (no seed: the global generator), so the masks of every batch must agree too, also
around evaluations in the middle of an epoch, which draw after the next training batch's masks (accelerate's
dataloader collates one batch ahead, and so do we). Our reference is
transformers 4.57; these changes of 5.x are bridged here, as 4.57 behaved: (1) 5.x's prediction_step passes
num_items_in_batch to the eval forward too, so the eval loss is sum(CE) / count where 4.57's (and ours) is each
batch's mean; (2) 5.x counts labels[..., 1:] for models whose loss type it recognises as causal (LlamaForCausalLM;
not GPT2LMHeadModel, whose class name it does not match), where 4.57 counted all labels (HF_SEMANTICS §3); with
blocks of L tokens, 5.x's own eval loss is (L-1)/L of 4.57's for GPT-2 (printed); (3) 5.x logs grad_norm also
when max_grad_norm is 0 (no clipping), 4.57 only when it clips; (4) 5.x also evaluates at the last step when
eval_strategy is "steps" and max_steps is not a multiple of eval_steps, 4.57 does not.

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
    ap.add_argument("--run_mlm", help="also compare run_mlm (BERT, grouped and line by line) when given")
    ap.add_argument("--model_types", default="gpt2,llama")
    ap.add_argument("--only", help="comma-separated run names (gpt2-wsd, bert, ...): run just these")
    a = ap.parse_args()

    import pyarrow as pa
    import torch
    import transformers
    from safetensors.torch import load_file
    from transformers import (AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer,
                              DataCollatorForLanguageModeling, Trainer, TrainingArguments, default_data_collator)

    v5 = int(transformers.__version__.split(".")[0]) >= 5
    print(f"transformers {transformers.__version__}, torch {torch.__version__}", flush=True)

    class Trainer457(Trainer):
        """The Trainer with 4.57's token counts (see the top of this file); unchanged before 5.x."""
        in_eval = False

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if v5:
                self._loss_shifts_labels = False

        def prediction_step(self, *args, **kwargs):
            self.in_eval = True
            try:
                return super().prediction_step(*args, **kwargs)
            finally:
                self.in_eval = False

        def _get_num_items_in_batch(self, batch_samples, device):
            if v5 and self.in_eval:
                return None
            return super()._get_num_items_in_batch(batch_samples, device)

        def _get_grad_norm(self, model, grad_norm=None):
            if v5 and grad_norm is None:
                return None  # (3): not clipped, not logged
            return super()._get_grad_norm(model, grad_norm=grad_norm)

    class NoExtraFinalEvaluation(transformers.TrainerCallback):
        """(4): 4.57 evaluates by steps only at multiples of eval_steps."""

        def on_step_end(self, args, state, control, **kwargs):
            if v5 and state.global_step >= state.max_steps and args.eval_strategy == "steps" \
                    and state.global_step % state.eval_steps != 0:
                control.should_evaluate = False

    os.makedirs(a.work, exist_ok=True)
    lines = [l for l in open(a.text, encoding="utf-8") if l.strip()]
    cut = len(lines) * 9 // 10
    train_txt, valid_txt = os.path.join(a.work, "train.txt"), os.path.join(a.work, "validation.txt")
    open(train_txt, "w", encoding="utf-8").writelines(lines[:cut])
    open(valid_txt, "w", encoding="utf-8").writelines(lines[cut:])
    tok = os.path.join(a.work, "tok")
    run([a.tcpp, "tokenizer", "train", "--model", "bpe", "--files", train_txt, "--vocab_size", "512",
         "--min_frequency", "2", "--special_tokens", "<|endoftext|>", "--output", tok])
    overrides = {
        "gpt2": "n_embd=64,n_layer=2,n_head=4,n_positions=64,resid_pdrop=0,embd_pdrop=0,attn_pdrop=0",
        "llama": "hidden_size=64,intermediate_size=128,num_hidden_layers=2,num_attention_heads=4,"
                 "num_key_value_heads=2,max_position_embeddings=64",
    }
    hp = dict(per_device_train_batch_size=4, per_device_eval_batch_size=8, gradient_accumulation_steps=2,
              learning_rate=3e-3, weight_decay=0.1, max_grad_norm=0.5, lr_scheduler_type="cosine", warmup_steps=3,
              max_steps=a.max_steps, logging_steps=1, eval_strategy="steps", eval_steps=4, seed=42,
              save_strategy="no")
    # (name, model type, changes to hp, training examples: None = all). "epochs": 2 epochs of 10 batches in
    # windows of 3 (the last window of each epoch holds 1 batch), linear decay after warmup_ratio, logging every 2
    # steps, evaluation per epoch, no clipping. "poly"/"restarts": other schedules, data_seed.
    clm_cases = [(t, t, {}, None) for t in a.model_types.split(",") if t]
    if "llama" in a.model_types.split(","):
        clm_cases.append(("llama-neftune", "llama", dict(neftune_noise_alpha=5.0), None))
        # Adafactor as the Trainer makes it, on a model without biases (see gpt2-rmsprop below on GPT-2), whole and
        # resumed both ways (its optimizer.pt as transformers' Adafactor keeps its state).
        clm_cases += [
            ("llama-adafactor", "llama", dict(optim="adafactor"), None),
            ("llama-adafactor-resume-in-hf", "llama", dict(optim="adafactor", _resume_ours_at=4,
                                                           save_strategy="steps", save_steps=4), None),
            ("llama-adafactor-resume-from-hf", "llama", dict(optim="adafactor", _resume_hf_at=4,
                                                             save_strategy="steps", save_steps=4), None),
        ]
    if "gpt2" in a.model_types.split(","):
        clm_cases += [
            ("gpt2-epochs", "gpt2", dict(max_steps=-1, num_train_epochs=2, gradient_accumulation_steps=3,
                                         lr_scheduler_type="linear", warmup_steps=0, warmup_ratio=0.2,
                                         logging_steps=2, eval_strategy="epoch", max_grad_norm=0.0), 40),
            ("gpt2-poly", "gpt2", dict(lr_scheduler_type="polynomial", warmup_steps=2, data_seed=7,
                                       weight_decay=0.0, max_grad_norm=1.0), None),
            ("gpt2-restarts", "gpt2", dict(lr_scheduler_type="cosine_with_restarts", warmup_steps=1,
                                           per_device_train_batch_size=3, gradient_accumulation_steps=1,
                                           eval_steps=5), None),
        ]
        clm_cases += [
            ("gpt2-sgd", "gpt2", dict(optim="sgd", learning_rate=0.3, lr_scheduler_type="constant_with_warmup",
                                      **(dict(optim_args="momentum=0.9,nesterov=true") if v5 else {})), None),
            # torch.optim.Adagrad and RMSprop (centered, with momentum) over the Trainer's weight-decay groups.
            ("gpt2-adagrad", "gpt2", dict(optim="adagrad", learning_rate=2e-2,
                                          **(dict(optim_args="lr_decay=0.01,eps=1e-8") if v5 else {})), None),
            ("gpt2-rmsprop", "gpt2", dict(optim="rmsprop", learning_rate=1e-3,
                                          **(dict(optim_args="momentum=0.5,alpha=0.95,centered=true") if v5 else {})),
             None),
            # Not adafactor: its update is the sign of every gradient element whose second moment is tiny (eps1 is
            # 1e-30), so elements whose gradient is float noise (the attention key bias: exactly 0 in theory) move
            # by +-lr either way, and whole runs part at rounding level; optimizer_test.cpp checks our Adafactor
            # against transformers' own step for step instead (gen/adafactor.py).
            # The best checkpoint by the highest eval loss: the first, so load_best_model_at_end has to go back to
            # it, and save_total_limit 1 keeps it besides the last.
            ("gpt2-best", "gpt2", dict(save_strategy="steps", save_steps=4, load_best_model_at_end=True,
                                       save_total_limit=1, metric_for_best_model="loss", greater_is_better=True),
             None),
        ]
        clm_cases += [
            # reduce_lr_on_plateau steps on each evaluation's loss: an improvement under its relative threshold of
            # 3% counts as none, so the rate halves at some evaluations and not at others while training stays
            # smooth (a rate high enough to make the loss bounce instead amplified float rounding into 1e-3
            # differences on some texts); an evaluation before the first step; the first step logged; other Adam
            # constants.
            ("gpt2-plateau", "gpt2", dict(lr_scheduler_type="reduce_lr_on_plateau",
                                          lr_scheduler_kwargs={"patience": 0, "factor": 0.5, "threshold": 0.03},
                                          eval_steps=2, eval_on_start=True, logging_steps=1, logging_first_step=True,
                                          adam_beta2=0.98, adam_epsilon=1e-6, learning_rate=6e-3), None),
            # 1.5 epochs of 5 steps (ceil: 8 steps, stopping mid-epoch), gradient checkpointing, tokens seen.
            ("gpt2-fraction", "gpt2", dict(max_steps=-1, num_train_epochs=1.5, gradient_checkpointing=True,
                                           include_num_input_tokens_seen=True, eval_steps=3), 40),
        ]
        if v5:  # v5's spelling, which we accept too
            clm_cases.append(("gpt2-sequential", "gpt2", dict(train_sampling_strategy="sequential"), None))
        clm_cases += [
            # Warmup-stable-decay with a 1-sqrt decay to a floor; HF's memory metrics (the keys: the figures are
            # each process's own), and 4.57's train_tokens_per_second (gone in 5.x).
            ("gpt2-wsd", "gpt2", dict(lr_scheduler_type="warmup_stable_decay", skip_memory_metrics=False,
                                      lr_scheduler_kwargs={"num_decay_steps": 5, "decay_type": "1-sqrt",
                                                           "min_lr_ratio": 0.1},
                                      **({} if v5 else dict(include_tokens_per_second=True))), None),
            # Three epochs of 3 steps, evaluated per epoch after a fractional eval_delay (first at epoch 2), under
            # cosine_warmup_with_min_lr, whose warmup and decay run one step ahead of the others'.
            ("gpt2-delay", "gpt2", dict(max_steps=-1, num_train_epochs=3, lr_scheduler_type="cosine_warmup_with_min_lr",
                                        lr_scheduler_kwargs={"min_lr_rate": 0.1}, eval_strategy="epoch",
                                        eval_delay=1.5, logging_steps=2), 24),
            # Persistent dataloader workers with dropout: the training and evaluation DataLoaders take a base seed
            # from the global generator at their first iterator only (three epochs, four evaluations).
            ("gpt2-persistent-workers", "gpt2", dict(max_steps=-1, num_train_epochs=3, _dropout=0.1,
                                                     dataloader_num_workers=2, dataloader_persistent_workers=True,
                                                     eval_steps=2), 24),
        ]
        clm_cases += [
            # Dropout on (0.1 on embeddings, attention probabilities and residuals, GPT-2's defaults): HF's global
            # generator feeds dropout after each DataLoader iterator's base seed (every epoch and evaluation), so
            # the masks of every step agree only if ours draws the same in the same order: evaluations in the
            # middle of the epoch, then two epochs in windows of 3 with per-epoch evaluations.
            ("gpt2-dropout", "gpt2", dict(_dropout=0.1), None),
            ("gpt2-dropout-epochs", "gpt2", dict(_dropout=0.1, max_steps=-1, num_train_epochs=2,
                                                 gradient_accumulation_steps=3, logging_steps=2,
                                                 eval_strategy="epoch"), 40),
            # NEFTune: uniform noise on the input embeddings in training (HF's forward hook), drawn from the same
            # generator before each forward's dropout.
            ("gpt2-neftune", "gpt2", dict(_dropout=0.1, neftune_noise_alpha=5.0), None),
            # A run begun in Python and resumed here from its checkpoint-4 (optimizer.pt, scheduler.pt and
            # rng_state.pth as the Trainer pickles them), with dropout: steps 5 to 12 as the Python run's.
            ("gpt2-resume-from-hf", "gpt2", dict(_dropout=0.1, _resume_hf_at=4, save_strategy="steps",
                                                 save_steps=4), None),
            # The other way: our checkpoint-4 (optimizer.pt, scheduler.pt, rng_state.pth in the Trainer's formats,
            # beside ours) resumed by Python's Trainer, whose steps 5 to 12 must be our run's.
            ("gpt2-resume-in-hf", "gpt2", dict(_dropout=0.1, _resume_ours_at=4, save_strategy="steps", save_steps=4),
             None),
            ("gpt2-sgd-resume-in-hf", "gpt2", dict(_resume_ours_at=6, save_strategy="steps", save_steps=6, optim="sgd",
                                                   learning_rate=0.3, lr_scheduler_type="constant_with_warmup",
                                                   **(dict(optim_args="momentum=0.9,nesterov=true") if v5 else {})),
             None),
            # Adagrad and RMSprop states as torch.optim pickles, both ways.
            # (eps 1e-8 as in gpt2-adagrad: at torch's 1e-10 the attention key bias, whose gradient is float noise,
            # moves by whole steps either way, as for Adafactor below.)
            ("gpt2-adagrad-resume-from-hf", "gpt2", dict(
                _resume_hf_at=4, save_strategy="steps", save_steps=4, optim="adagrad", learning_rate=2e-2,
                **(dict(optim_args="lr_decay=0.01,eps=1e-8") if v5 else {})), None),
            ("gpt2-rmsprop-resume-in-hf", "gpt2", dict(
                _resume_ours_at=6, save_strategy="steps", save_steps=6, optim="rmsprop", learning_rate=1e-3,
                **(dict(optim_args="momentum=0.5,alpha=0.95,centered=true") if v5 else {})), None),
        ]

    def as_flags(params):
        out = []
        for k, v in params.items():
            out += [f"--{k}", json.dumps(v) if isinstance(v, dict) else str(v)]
        return out

    def train_hf(trainer):
        train_out = trainer.train()
        hf = list(trainer.state.log_history)  # what the scripts' save_state() writes: before the final evaluation
        return train_out, hf, trainer.evaluate()

    wanted = set(a.only.split(",")) if a.only else None
    for name, model_type, changes, n_train in clm_cases:
        if wanted and name not in wanted:
            continue
        work = os.path.join(a.work, name)
        init, prepared, ours = (os.path.join(work, d) for d in ("init", "prepared", "ours"))
        case_hp = dict(hp, **changes)
        dropout = case_hp.pop("_dropout", 0)
        resume_hf_at = case_hp.pop("_resume_hf_at", None)  # ours resumes the HF run's checkpoint of that step
        resume_ours_at = case_hp.pop("_resume_ours_at", None)  # HF's Trainer resumes our checkpoint of that step
        model_overrides = overrides[model_type].replace("pdrop=0", f"pdrop={dropout}")
        run([a.tcpp, "model", "init", "--model_type", model_type, "--seed", "7", "--output", init,
             "--config_overrides", model_overrides + ",vocab_size=512,bos_token_id=0,eos_token_id=0"])
        run([a.tcpp, "prepare", "--model_name_or_path", init, "--tokenizer_name", tok, "--train_file", train_txt,
             "--validation_file", valid_txt, "--block_size", "32", "--output", prepared])
        limit = ["--max_train_samples", str(n_train)] if n_train else []
        theirs = os.path.join(work, "theirs")

        def run_ours(extra=()):
            run([a.run_clm, "--model_name_or_path", init, "--tokenizer_name", tok, "--train_file", prepared,
                 "--do_train", "--do_eval", "--output_dir", ours, "--overwrite_output_dir", "--report_to", "none",
                 "--disable_tqdm", "true"] + limit + as_flags(case_hp) + list(extra))

        if not resume_hf_at:
            run_ours()

        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_pretrained(init)
        args = TrainingArguments(output_dir=theirs, report_to=[], disable_tqdm=True, use_cpu=True, **case_hp)
        trainer = Trainer457(model=model, args=args, train_dataset=Blocks(prepared, "train", n_train),
                             eval_dataset=Blocks(prepared, "validation"), data_collator=default_data_collator,
                             callbacks=[NoExtraFinalEvaluation()])
        if resume_ours_at:
            # Our checkpoint, resumed by Python's Trainer: its steps after it must be our uninterrupted run's.
            train_out = trainer.train(resume_from_checkpoint=os.path.join(ours, f"checkpoint-{resume_ours_at}"))
            hf, final = list(trainer.state.log_history), trainer.evaluate()
        else:
            train_out, hf, final = train_hf(trainer)
        if v5 and name == model_type:
            native = Trainer(model=trainer.model, args=args, eval_dataset=Blocks(prepared, "validation"),
                             data_collator=default_data_collator).evaluate()["eval_loss"]
            print(f"{name}: transformers {transformers.__version__}'s own eval loss {native:.6f} = 4.57's "
                  f"{final['eval_loss']:.6f} x {native / final['eval_loss']:.6f}", flush=True)
        if resume_hf_at:
            # The Python run's checkpoint, resumed here: the steps after it, the evaluations and the final weights
            # must be the Python run's own (its train_loss counts only the steps a run trains itself, so not that).
            run_ours(["--resume_from_checkpoint", os.path.join(theirs, f"checkpoint-{resume_hf_at}"),
                      "--save_strategy", "no"])
        compare(name, ours, hf, train_out, final, trainer, load_file, train_loss=not (resume_hf_at or resume_ours_at))
        if not case_hp.get("skip_memory_metrics", True) or case_hp.get("include_tokens_per_second"):
            compare_metric_keys(name, ours, train_out.metrics)
        if case_hp["save_strategy"] != "no" and not (resume_hf_at or resume_ours_at):
            compare_checkpoints(name, ours, theirs, trainer.state)

    if not a.run_mlm:
        return 0 if all(results) else 1
    wp = os.path.join(a.work, "wordpiece")
    run([a.tcpp, "tokenizer", "train", "--model", "wordpiece", "--files", train_txt, "--vocab_size", "512",
         "--min_frequency", "2", "--output", wp])
    wordpiece_tokenizer = AutoTokenizer.from_pretrained(wp)

    def mlm_examples(path, line_by_line, tokenizer, block=32):
        """run_mlm.py's examples. Grouped: every line of the text builder, tokenized with the special-tokens mask,
        concatenated and cut into blocks per map batch of 1000 lines (a short batch keeps its one block).
        line_by_line: the non-blank lines, truncated to the block, padded by the collator."""
        lines = open(path, encoding="utf-8").read().splitlines()
        if line_by_line:
            lines = [l for l in lines if len(l) > 0 and not l.isspace()]
            enc = tokenizer(lines, truncation=True, max_length=block, return_special_tokens_mask=True)
            return [{k: enc[k][i] for k in enc.keys()} for i in range(len(lines))]
        out = []
        for i in range(0, len(lines), 1000):
            enc = tokenizer(lines[i:i + 1000], return_special_tokens_mask=True)
            cat = {k: sum(enc[k], []) for k in enc.keys()}
            total = len(cat["input_ids"])
            if total >= block:
                total = total // block * block
            out += [{k: v[j:j + block] for k, v in cat.items()} for j in range(0, total, block)]
        return out

    def masked_lm_loss(outputs, labels, num_items_in_batch=None):
        """ForMaskedLMLoss: sum / num_items_in_batch in training, the mean otherwise. BertForMaskedLM declares
        **kwargs but drops num_items_in_batch (transformers#47688), so the Trainer skips its / GA and trains on a
        loss GA times too large; handed this, it normalises as it means to (and as we do)."""
        logits = outputs.logits.float().view(-1, outputs.logits.size(-1))
        if num_items_in_batch is None:
            return torch.nn.functional.cross_entropy(logits, labels.view(-1), ignore_index=-100)
        total = torch.nn.functional.cross_entropy(logits, labels.view(-1), ignore_index=-100, reduction="sum")
        return total / num_items_in_batch

    # One whole epoch each, evaluated at its end (the mid-epoch runs aside): 96 blocks / (4 x 2) = 12 steps;
    # line_by_line: 64 lines of different lengths, padded per batch, 8 steps; the same grouped by length over two
    # epochs (HF's LengthGroupedSampler draws from the global generator, which nothing else draws from here between
    # the epochs; HF also groups the evaluation by length in a random order, so its final eval loss is not compared).
    # RoBERTa: a byte-level BPE tokenizer with RoBERTa's specials and post-processor, made and saved by the real
    # tokenizers / transformers (so our loading of their files is checked too); padded batches, whose position ids
    # count from padding_idx + 1 past the padding.
    from tokenizers import ByteLevelBPETokenizer
    from tokenizers.processors import RobertaProcessing
    from transformers import PreTrainedTokenizerFast
    rb = os.path.join(a.work, "roberta-bpe")
    bpe = ByteLevelBPETokenizer()
    bpe.train([train_txt], vocab_size=512, min_frequency=2, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe._tokenizer.post_processor = RobertaProcessing(("</s>", bpe.token_to_id("</s>")),
                                                      ("<s>", bpe.token_to_id("<s>")))
    PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                            sep_token="</s>", cls_token="<s>", pad_token="<pad>",
                            mask_token="<mask>").save_pretrained(rb)
    roberta_tokenizer = AutoTokenizer.from_pretrained(rb)

    mlm_cases = [("bert", False, 96, 12, {}), ("bert-line_by_line", True, 64, 8, {})]
    # Grouped by length over two epochs of 8 steps, evaluated every 5 (in the middle of both epochs): HF groups the
    # evaluations by length too, drawing from the same global generator as the epochs' samplers.
    grouping = dict(train_sampling_strategy="group_by_length") if v5 else dict(group_by_length=True)
    mlm_cases.append(("bert-group_by_length", True, 64, 16, dict(grouping, eval_strategy="steps", eval_steps=5)))
    mlm_cases.append(("roberta-line_by_line", True, 64, 8, {}))
    # Evaluations in the middle of the epoch, and training stopped mid-epoch before the final evaluation: the
    # masks of each evaluation come after those of the next training batch, collated ahead (accelerate's
    # dataloader), and those after it follow.
    mlm_cases.append(("bert-mid-epoch", False, 96, 10, dict(eval_strategy="steps", eval_steps=3)))
    mlm_cases.append(("bert-line_by_line-mid-epoch", True, 64, 6, dict(eval_strategy="steps", eval_steps=2,
                                                                        gradient_accumulation_steps=3)))
    # Dropout with the masks drawn from the same global generator (run_mlm.py's unseeded collator): every batch's
    # masks, and the epochs' length-grouped orders, come after the dropout of the steps before.
    mlm_cases.append(("bert-dropout", False, 96, 10, dict(_dropout=0.1, eval_strategy="steps", eval_steps=3)))
    mlm_cases.append(("bert-group_by_length-dropout", True, 64, 16,
                      dict(grouping, _dropout=0.1, eval_strategy="steps", eval_steps=5)))
    mlm_cases.append(("bert-neftune", False, 96, 8, dict(_dropout=0.1, neftune_noise_alpha=5.0, eval_strategy="steps",
                                                          eval_steps=3)))
    # --streaming: the examples read in file order (HF: a torch IterableDataset over the same examples, which
    # accelerate's dispatcher fetches one batch ahead), masks unseeded, dropout, evaluations mid-pass.
    mlm_cases.append(("bert-streaming-dropout", False, 96, 10, dict(_dropout=0.1, _streaming=True,
                                                                     eval_strategy="steps", eval_steps=3)))
    # Two dataloader workers: HF's worker processes collate, each masking from a generator of its own (seeded from
    # the iterator's base seed; for training, reseeded by seed_worker), while dropout draws from the global one;
    # evaluations mid-epoch have workers of their own.
    mlm_cases.append(("bert-workers-dropout", False, 96, 10, dict(_dropout=0.1, dataloader_num_workers=2,
                                                                   eval_strategy="steps", eval_steps=3)))
    # The same with persistent workers over four epochs: each worker's generator goes on from epoch to epoch and from
    # evaluation to evaluation, and no new base seed is drawn after each DataLoader's first iterator.
    mlm_cases.append(("bert-persistent-workers", False, 24, 10, dict(_dropout=0.1, dataloader_num_workers=2,
                                                                     dataloader_persistent_workers=True,
                                                                     eval_strategy="steps", eval_steps=3)))
    for name, line_by_line, n_train, steps, changes in mlm_cases:
        if wanted and name not in wanted:
            continue
        work = os.path.join(a.work, name)
        init, ours = (os.path.join(work, d) for d in ("init", "ours"))
        roberta = name.startswith("roberta")
        tok_dir, tokenizer = (rb, roberta_tokenizer) if roberta else (wp, wordpiece_tokenizer)
        dropout = changes.get("_dropout", 0)
        family = ("roberta,max_position_embeddings=40,pad_token_id=1,bos_token_id=0,eos_token_id=2" if roberta
                  else "bert,max_position_embeddings=64").split(",", 1)
        run([a.tcpp, "model", "init", "--model_type", family[0], "--seed", "7", "--output", init, "--config_overrides",
             f"vocab_size={len(tokenizer)},hidden_size=64,num_hidden_layers=2,num_attention_heads=4,"
             f"intermediate_size=128,hidden_dropout_prob={dropout},attention_probs_dropout_prob={dropout},"
             f"{family[1]}"])
        mlm_hp = dict(dict(hp, eval_strategy="no", max_steps=steps), **changes)
        mlm_hp.pop("_dropout", None)
        streaming = mlm_hp.pop("_streaming", False)
        run([a.run_mlm, "--model_name_or_path", init, "--tokenizer_name", tok_dir, "--train_file", train_txt,
             "--validation_file", valid_txt, "--max_seq_length", "32", "--max_train_samples", str(n_train),
             "--line_by_line", str(line_by_line).lower(), "--do_train", "--do_eval", "--output_dir", ours,
             "--overwrite_output_dir", "--report_to", "none", "--disable_tqdm", "true"] + as_flags(mlm_hp) +
            (["--streaming", "true"] if streaming else []))
        torch.manual_seed(0)
        model = AutoModelForMaskedLM.from_pretrained(init)
        train_examples = mlm_examples(train_txt, line_by_line, tokenizer)[:n_train]
        if streaming:
            class Stream(torch.utils.data.IterableDataset):
                def __init__(self, examples):
                    self.examples = examples

                def __iter__(self):
                    return iter(self.examples)
            train_examples = Stream(train_examples)
        args = TrainingArguments(output_dir=os.path.join(work, "theirs"), report_to=[], disable_tqdm=True,
                                 use_cpu=True, **mlm_hp)
        collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)  # as run_mlm.py: no seed
        trainer = Trainer457(model=model, args=args,
                             train_dataset=train_examples,
                             eval_dataset=mlm_examples(valid_txt, line_by_line, tokenizer), data_collator=collator,
                             compute_loss_func=masked_lm_loss, callbacks=[NoExtraFinalEvaluation()])
        train_out, hf, final = train_hf(trainer)
        compare(name, ours, hf, train_out, final, trainer, load_file)
    return 0 if all(results) else 1


class Blocks:
    """A prepared split's rows (tcpp prepare's save_to_disk folder), a map-style dataset; at module level, so
    dataloader worker processes (Python 3.14 starts them with forkserver, which pickles the dataset) can take it."""

    def __init__(self, prepared, split, n=None):
        import pyarrow as pa
        tables = []
        for f in sorted(glob.glob(os.path.join(prepared, split, "*.arrow"))):
            with pa.memory_map(f) as src:
                tables.append(pa.ipc.open_stream(src).read_all())
        self.rows = pa.concat_tables(tables).to_pylist()[:n]

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i]


def compare_metric_keys(name, ours, hf_metrics):
    """The same train metric names (run_clm's train_samples aside), and, where both count tokens, the same count."""
    mine = json.load(open(os.path.join(ours, "train_results.json")))
    # With disable_tqdm, HF's PrinterCallback pops total_flos from the dict it is handed to log, which is train()'s
    # metrics dict itself (so run_clm.py's train_results.json then lacks it); ours keeps it.
    keys = sorted(k for k in mine if k not in ("train_samples", "total_flos"))
    hf_keys = sorted(k for k in hf_metrics if k != "total_flos")
    report(keys == hf_keys, f"{name}:train-metric-names", f"ours {keys}, HF {hf_keys}")
    if "train_tokens_per_second" in mine and "train_tokens_per_second" in hf_metrics:
        x = mine["train_tokens_per_second"] * mine["train_runtime"]
        y = hf_metrics["train_tokens_per_second"] * hf_metrics["train_runtime"]
        report(abs(x - y) <= 0.01 * y, f"{name}:train-tokens", f"ours ~{x:.0f} tokens, HF ~{y:.0f}")


def compare_checkpoints(name, ours, theirs, hf_state):
    """The checkpoint folders left (save_total_limit), and which one was best, by name, with its metric."""
    def left(d):
        return sorted(os.path.basename(p) for p in glob.glob(os.path.join(d, "checkpoint-*")))
    report(left(ours) == left(theirs), f"{name}:checkpoints", f"ours {left(ours)}, HF {left(theirs)}")
    mine = json.load(open(os.path.join(ours, "trainer_state.json")))
    ours_best = os.path.basename(mine.get("best_model_checkpoint") or "")
    hf_best = os.path.basename(hf_state.best_model_checkpoint or "")
    same_metric = mine.get("best_metric") is not None and hf_state.best_metric is not None and \
        abs(mine["best_metric"] - hf_state.best_metric) <= 1e-4 * abs(hf_state.best_metric)
    report(ours_best == hf_best and same_metric, f"{name}:best_model_checkpoint",
           f"ours {ours_best} ({mine.get('best_metric')}), HF {hf_best} ({hf_state.best_metric})")


def compare(model_type, ours, hf, train_out, final, trainer, load_file, final_eval=True, train_loss=True):
    mine = json.load(open(os.path.join(ours, "trainer_state.json")))["log_history"]

    def entries(log, key):
        return [(e["step"], e) for e in log if key in e]

    for key, tol, rel in (("loss", 1.01e-4, False), ("learning_rate", 1e-9, True), ("grad_norm", 1e-4, True),
                          ("eval_loss", 1e-4, True), ("num_input_tokens_seen", 0, False)):
        name = f"{model_type}:{key}"
        m, h = entries(mine, key), entries(hf, key)
        if not m and not h:
            continue
        if [s for s, _ in m] != [s for s, _ in h]:
            report(False, name, f"logged at steps {[s for s, _ in m]} here, {[s for s, _ in h]} by the HF Trainer")
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
        report(worst <= tol, name, detail)

    pairs = []
    if train_loss:
        pairs.append(("train_loss", json.load(open(os.path.join(ours, "train_results.json")))["train_loss"],
                      train_out.training_loss))
    if final_eval:
        pairs.append(("final-eval_loss", json.load(open(os.path.join(ours, "eval_results.json")))["eval_loss"],
                      final["eval_loss"]))
    for key, x, y in pairs:
        d = abs(x - y) / abs(y)
        report(d <= 1e-4, f"{model_type}:{key}", f"ours {x:.6f}, HF {y:.6f}, relative diff {d:.2e}")

    ours_w = load_file(os.path.join(ours, "model.safetensors"))
    theirs_w = {k: v.detach() for k, v in trainer.model.state_dict().items()}
    missing = [k for k in ours_w if k not in theirs_w]
    diffs = sorted((float((ours_w[k].float() - theirs_w[k].float()).abs().max()), k) for k in ours_w if k in theirs_w)
    worst = diffs[-1][0] if diffs else math.inf
    detail = f"{len(ours_w)} tensors, max |diff| {worst:.2e}" + (f" ({diffs[-1][1]})" if worst > 0 else "")
    report(not missing and worst <= 1e-4, f"{model_type}:final-weights",
           detail + (f", not in HF's model: {missing[:3]}" if missing else ""))


if __name__ == "__main__":
    sys.exit(main())
