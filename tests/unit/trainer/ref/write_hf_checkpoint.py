#!/usr/bin/env python3
"""Files as transformers' Trainer pickles them into a checkpoint, for hf_checkpoint_test.cpp (exit 3 without torch).

For AdamW, SGD with momentum, Adagrad and RMSprop (centered, with momentum), and where transformers is installed its
Adafactor (as the Trainer makes it, and with a first moment and parameter scaling): three parameters in two groups
(weight decay on the first, as the Trainer groups them), two steps with formula gradients, then optimizer.pt
(optimizer.state_dict()) and scheduler.pt (a LambdaLR's state_dict(), with a linear warmup) under OUT/<optim>/, the
parameters after the two steps (params.bin), and after a third step (expected.bin), as torch.save'd dicts.
rng_state.pth as _save_rng_state writes it (python, numpy and cpu states) and the next torch.rand(5) (rng.json).
"""
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


def params():
    return [torch.nn.Parameter(torch.tensor([math.sin(0.5 * i + k) for i in range(math.prod(s))],
                                            dtype=torch.float32).reshape(s)) for k, s in enumerate(SHAPES)]


def grad(step, k, shape):
    n = math.prod(shape)
    return torch.tensor([math.cos(0.3 * i * (step + 1) + k) for i in range(n)], dtype=torch.float32).reshape(shape)


def step_once(ps, opt, sched, step):
    for k, p in enumerate(ps):
        p.grad = grad(step, k, SHAPES[k])
    opt.step()
    sched.step()


def write(out, name, make):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    ps = params()
    groups = [{"params": [ps[0], ps[2]], "weight_decay": 0.1}, {"params": [ps[1]], "weight_decay": 0.0}]
    opt = make(groups)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 2))
    for step in range(2):
        step_once(ps, opt, sched, step)
    torch.save(opt.state_dict(), os.path.join(d, "optimizer.pt"))
    torch.save(sched.state_dict(), os.path.join(d, "scheduler.pt"))
    torch.save({str(k): p.detach().clone() for k, p in enumerate(ps)}, os.path.join(d, "params.bin"))
    step_once(ps, opt, sched, 2)
    torch.save({str(k): p.detach().clone() for k, p in enumerate(ps)}, os.path.join(d, "expected.bin"))


def main():
    out = sys.argv[1]
    write(out, "adamw", lambda g: torch.optim.AdamW(g, lr=1e-2, betas=(0.8, 0.95), eps=1e-6))
    write(out, "sgd", lambda g: torch.optim.SGD(g, lr=1e-1, momentum=0.9, nesterov=True))
    write(out, "adagrad", lambda g: torch.optim.Adagrad(g, lr=1e-1, lr_decay=0.01, eps=1e-8))
    write(out, "rmsprop", lambda g: torch.optim.RMSprop(g, lr=1e-2, alpha=0.9, momentum=0.5, centered=True))
    try:
        from transformers.optimization import Adafactor
    except ImportError:  # Debian's python3 has no transformers: hf_checkpoint_test.cpp skips these
        Adafactor = None
    if Adafactor is not None:
        write(out, "adafactor", lambda g: Adafactor(g, lr=1e-2, scale_parameter=False, relative_step=False))
        write(out, "adafactor_beta1", lambda g: Adafactor(g, lr=1e-2, beta1=0.9, clip_threshold=0.5,
                                                          scale_parameter=True, relative_step=False))
    random.seed(42)
    np.random.seed(42)
    torch.manual_seed(42)
    torch.rand(7)
    torch.save({"python": random.getstate(), "numpy": np.random.get_state(), "cpu": torch.random.get_rng_state()},
               os.path.join(out, "rng_state.pth"))
    json.dump({"next": torch.rand(5).tolist()}, open(os.path.join(out, "rng.json"), "w"))


if __name__ == "__main__":
    main()
