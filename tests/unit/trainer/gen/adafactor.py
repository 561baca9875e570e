#!/usr/bin/env python3
"""Golden values for optimizer_test.cpp's Adafactor test, from transformers' own Adafactor (run where transformers is
installed: scripts/libtorch2_check.sh's Debian unstable chroot has it). Three parameters (a matrix, a vector, a 3-D
tensor), deterministic values and gradients, four steps with changing learning rates; two settings: the Trainer's
(scale_parameter=False, relative_step=False, lr given, weight decay on the first group) and the defaults with beta1
(relative step, parameter scaling, first moment). Prints the parameters after the last step as C++ initializers."""
import math

import torch
from transformers.optimization import Adafactor


def params():
    shapes = [(3, 4), (5,), (2, 3, 4)]
    out = []
    for k, shape in enumerate(shapes):
        n = math.prod(shape)
        out.append(torch.nn.Parameter(torch.tensor([math.sin(0.7 * i + k) for i in range(n)],
                                                   dtype=torch.float32).reshape(shape)))
    return out


def grads(step, shapes):
    out = []
    for k, shape in enumerate(shapes):
        n = math.prod(shape)
        out.append(torch.tensor([math.cos(0.3 * i * (step + 1) + k) * (0.5 + 0.1 * step) for i in range(n)],
                                dtype=torch.float32).reshape(shape))
    return out


def run(trainer_like):
    ps = params()
    if trainer_like:
        opt = Adafactor([{"params": [ps[0], ps[2]], "weight_decay": 0.1}, {"params": [ps[1]], "weight_decay": 0.0}],
                        lr=1e-2, scale_parameter=False, relative_step=False)
    else:
        opt = Adafactor(ps, lr=None, beta1=0.9)
    for step in range(4):
        if trainer_like:
            for g in opt.param_groups:
                g["lr"] = 1e-2 * (1 + step) / 4
        for p, g in zip(ps, grads(step, [p.shape for p in ps])):
            p.grad = g
        opt.step()
    return ps


for name, trainer_like in (("kTrainerLike", True), ("kDefaultsWithBeta1", False)):
    ps = run(trainer_like)
    print(f"const std::vector<std::vector<double>> {name} = {{")
    for p in ps:
        print("    {" + ", ".join(repr(float(v)) for v in p.detach().reshape(-1)) + "},")
    print("};")
