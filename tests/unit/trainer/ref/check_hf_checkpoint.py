#!/usr/bin/env python3
"""Loads the Trainer files that hf_checkpoint_test.cpp wrote in OURS as transformers' Trainer loads them
(torch.load(weights_only=True) from torch 2 on, optimizer.load_state_dict, scheduler.load_state_dict, then
random/numpy/torch set_state) and checks them against write_hf_checkpoint.py's files in REF: the optimizer's third
step from our optimizer.pt gives REF's expected.bin, the scheduler's rate follows, and the generators draw what a
fresh seed(42) draws. usage: check_hf_checkpoint.py REF OURS; exit 0 when all hold, 1 (with a message) otherwise,
3 without torch."""
import json
import math
import os
import random
import sys

try:
    import numpy as np
    import torch
except ImportError:
    sys.exit(3)

SHAPES = [(3, 4), (5,), (2, 2)]
# The Trainer loads with weights_only=True (transformers needs torch >= 2); torch 1.13's first weights-only unpickler
# did not read floats (BINFLOAT), even those its own torch.save writes.
SAFE = {"weights_only": True} if int(torch.__version__.split(".")[0]) >= 2 else {}


def grad(step, k, shape):
    n = math.prod(shape)
    return torch.tensor([math.cos(0.3 * i * (step + 1) + k) for i in range(n)], dtype=torch.float32).reshape(shape)


def check_optimizer(ref, ours, name, make, base_lr):
    saved = torch.load(os.path.join(ref, name, "params.bin"))
    ps = [torch.nn.Parameter(saved[str(k)].clone()) for k in range(3)]
    opt = make([{"params": [ps[0], ps[2]], "weight_decay": 0.5}, {"params": [ps[1]], "weight_decay": 0.5}])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 2))
    opt.load_state_dict(torch.load(os.path.join(ours, name, "optimizer.pt"), **SAFE))
    sched.load_state_dict(torch.load(os.path.join(ours, name, "scheduler.pt"), **SAFE))
    assert sched.last_epoch == 2, sched.last_epoch
    for k, p in enumerate(ps):
        p.grad = grad(2, k, SHAPES[k])
    opt.step()
    sched.step()
    expected = torch.load(os.path.join(ref, name, "expected.bin"))
    for k, p in enumerate(ps):
        d = float((p.detach() - expected[str(k)]).abs().max())
        assert d <= 1e-7, f"{name} parameter {k}: {d}"
    assert sched.get_last_lr() == [base_lr, base_lr], f"{name} scheduler: {sched.get_last_lr()}"


def check_adafactor(ref, ours):
    """Our Adafactor pickle as transformers' Adafactor keeps its state: "step" a Python int, "RMS" a 0-d tensor, eps a
    pair, beta1 None or a number; where transformers is installed (and wrote REF's adafactor files), its third step."""
    saved = torch.load(os.path.join(ours, "adafactor", "optimizer.pt"), **SAFE)
    group, state = saved["param_groups"][0], saved["state"]
    assert group["eps"] == (1e-30, 1e-3) and group["beta1"] is None, f"adafactor group: {group}"
    assert isinstance(state[0]["step"], int) and state[0]["step"] == 2, f"adafactor step: {state[0]['step']}"
    assert state[0]["RMS"].dim() == 0 and state[0]["exp_avg_sq_row"].shape == (3,), f"adafactor state: {state[0]}"
    # Numbered across the groups: 0 and 1 the first group's matrices, 2 the vector.
    assert state[2]["exp_avg_sq"].shape == (5,) and "exp_avg_sq_row" not in state[2], f"adafactor state: {state[2]}"
    try:
        from transformers.optimization import Adafactor
    except ImportError:
        return
    # Other hyperparameters than the files' here too.
    check_optimizer(ref, ours, "adafactor", lambda g: Adafactor(g, lr=0.5, beta1=0.5, relative_step=False), 0.01)
    check_optimizer(ref, ours, "adafactor_beta1", lambda g: Adafactor(g, lr=0.5, relative_step=False), 0.01)


def main():
    ref, ours = sys.argv[1], sys.argv[2]
    # Other hyperparameters than the files': those loaded must win.
    check_optimizer(ref, ours, "adamw", lambda g: torch.optim.AdamW(g, lr=0.5, betas=(0.5, 0.5), eps=1.0), 0.01)
    check_optimizer(ref, ours, "sgd", lambda g: torch.optim.SGD(g, lr=0.5, momentum=0.1), 0.1)
    check_optimizer(ref, ours, "adagrad", lambda g: torch.optim.Adagrad(g, lr=0.5), 0.1)
    check_optimizer(ref, ours, "rmsprop", lambda g: torch.optim.RMSprop(g, lr=0.5, momentum=0.1, centered=True), 0.01)
    state = torch.load(os.path.join(ours, "rng_state.pth"), **SAFE)
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.random.set_rng_state(state["cpu"])
    got = (random.random(), float(np.random.rand()), torch.rand(5).tolist())
    random.seed(42)
    np.random.seed(42)
    expected_torch = json.load(open(os.path.join(ref, "rng.json")))["next"]
    want = (random.random(), float(np.random.rand()), expected_torch)
    assert got[0] == want[0] and got[1] == want[1], f"python/numpy states: {got[:2]} != {want[:2]}"
    assert got[2] == want[2], f"torch state: {got[2]} != {want[2]}"
    check_adafactor(ref, ours)


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"check_hf_checkpoint.py: {e}", file=sys.stderr)
        sys.exit(1)
