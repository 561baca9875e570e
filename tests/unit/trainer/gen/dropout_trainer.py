#!/usr/bin/env python3
"""Golden values for trainer_test.cpp's dropout test, from the real Hugging Face Trainer (run where transformers is
installed: scripts/libtorch2_check.sh's Debian unstable chroot has it).

A tiny GPT-2 with dropout 0.1 everywhere (embeddings, attention probabilities, residuals: GPT-2's defaults), its
weights set from a formula of each parameter's name (both sides compute it), trained for two epochs on formula
token blocks with gradient accumulation and evaluations inside both epochs. HF's global generator feeds dropout and
every DataLoader iterator's base seed, so the losses agree only where ours draws the same in the same order.
Prints each logged step's loss, grad norm and learning rate, and each evaluation's loss (4.57's: each batch's mean,
averaged), as C++ initializers; then the same with neftune_noise_alpha 5 (NEFTune's noise on the input embeddings
draws from the same generator, before each forward's dropout)."""
import math
import tempfile

import torch
import transformers
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments, default_data_collator

V, T = 64, 16


def weight_value(name, i, is_norm_weight):
    key = sum(ord(c) for c in name) % 97
    x = math.sin(0.37 * i + 0.1 * key)
    return 1.0 + 0.05 * x if is_norm_weight else 0.08 * x


def block(b, t, salt):
    return (b * 7 + t * t * 3 + (b * t) % 5 + salt) % V


def examples(n, salt):
    return [{"input_ids": torch.tensor([block(b, t, salt) for t in range(T)]),
             "labels": torch.tensor([block(b, t, salt) for t in range(T)])} for b in range(n)]


class Trainer457(Trainer):
    """4.57's eval loss (each batch's mean) where 5.x hands the eval forward a token count."""
    in_eval = False

    def prediction_step(self, *args, **kwargs):
        self.in_eval = True
        try:
            return super().prediction_step(*args, **kwargs)
        finally:
            self.in_eval = False

    def _get_num_items_in_batch(self, batch_samples, device):
        if self.in_eval:
            return None
        return super()._get_num_items_in_batch(batch_samples, device)


def run(neftune):
    config = GPT2Config(vocab_size=V, n_positions=T, n_embd=32, n_layer=2, n_head=4, resid_pdrop=0.1,
                        embd_pdrop=0.1, attn_pdrop=0.1, bos_token_id=0, eos_token_id=0)
    model = GPT2LMHeadModel(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            norm = p.dim() == 1 and name.endswith("weight")
            p.copy_(torch.tensor([weight_value(name, i, norm) for i in range(p.numel())],
                                 dtype=torch.float32).view(p.shape))
    args = TrainingArguments(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=4,
                             per_device_eval_batch_size=4, gradient_accumulation_steps=2, num_train_epochs=2,
                             learning_rate=3e-3, warmup_steps=1, lr_scheduler_type="linear", weight_decay=0.1,
                             max_grad_norm=1.0, logging_steps=1, eval_strategy="steps", eval_steps=2, seed=42,
                             save_strategy="no", report_to=[], use_cpu=True, disable_tqdm=True,
                             neftune_noise_alpha=neftune)
    trainer = Trainer457(model=model, args=args, train_dataset=examples(24, 0), eval_dataset=examples(8, 11),
                         data_collator=default_data_collator)
    trainer.train()
    log = trainer.state.log_history
    print(f"  // transformers {transformers.__version__}, torch {torch.__version__}, neftune_noise_alpha {neftune}")
    for key in ("loss", "grad_norm", "learning_rate", "eval_loss"):
        values = ", ".join(repr(e[key]) for e in log if key in e)
        steps = ", ".join(str(e["step"]) for e in log if key in e)
        print(f"  // {key} at steps {steps}\n  const std::vector<double> hf_{key} = {{{values}}};")


def main():
    run(None)
    run(5.0)


if __name__ == "__main__":
    main()
