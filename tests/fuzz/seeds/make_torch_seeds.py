#!/usr/bin/env python3
"""Writes the committed seeds of the tensor-file fuzz targets with Debian's PyTorch (python3-torch):
safetensors/*.safetensors (as transformers' save_pretrained lays them out) and pytorch_bin/* (torch.save'd state
dicts, whole, and cut into the target's "data.pkl + records" form, see tests/fuzz/pytorch_bin_fuzzer.cpp).
usage: /usr/bin/python3 tests/fuzz/seeds/make_torch_seeds.py   (from the repository root)
"""
import collections
import io
import os
import sys
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "unit", "models", "ref"))
from reference_models import write_safetensors  # noqa: E402

torch.manual_seed(0)
st = os.path.join(HERE, "safetensors")
write_safetensors(f"{st}/small_model.safetensors", {
    "transformer.wte.weight": torch.randn(6, 4), "transformer.h.0.ln_1.bias": torch.zeros(4),
    "lm_head.weight": torch.randn(6, 4).half(), "step": torch.tensor([3], dtype=torch.int64)})
write_safetensors(f"{st}/dtypes.safetensors", {
    "bf16": torch.randn(3).bfloat16(), "f64": torch.randn(2, dtype=torch.float64), "i32": torch.tensor([1, -2], dtype=torch.int32),
    "i16": torch.tensor([7], dtype=torch.int16), "i8": torch.tensor([-1], dtype=torch.int8), "u8": torch.tensor([255], dtype=torch.uint8),
    "bool": torch.tensor([True, False]), "empty": torch.empty(0, 3)})

pb = os.path.join(HERE, "pytorch_bin")
base = torch.arange(12, dtype=torch.float32)
sd = collections.OrderedDict([("w", torch.randn(2, 3)), ("b", torch.zeros(3).half()), ("view", base[2:10].view(2, 4)),
                              ("t", base.view(3, 4).t()), ("n", torch.tensor(5)), ("empty", torch.empty(0))])
for name, proto in (("sd_p2", 2), ("sd_p4", 4)):
    buf = io.BytesIO()
    torch.save(sd, buf, pickle_protocol=proto)
    raw = buf.getvalue()
    with open(f"{pb}/{name}.bin", "wb") as f:
        f.write(raw)
    # The same archive as data.pkl followed by its storages data/0, data/1, ... (the target rebuilds the zip).
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        names = z.namelist()
        pkl = z.read(next(n for n in names if n.endswith("/data.pkl")))
        records = {int(n.rsplit("/", 1)[1]): z.read(n) for n in names if "/data/" in n}
    with open(f"{pb}/{name}.split", "wb") as f:
        f.write(b"\n--record--\n".join([pkl] + [records[k] for k in range(len(records))]))
buf = io.BytesIO()
torch.save(torch.nn.Linear(2, 2).state_dict(keep_vars=True), buf)  # nn.Parameter objects
with open(f"{pb}/params.bin", "wb") as f:
    f.write(buf.getvalue())

# transformers' Trainer checkpoint pickles (read by load_torch_pickle, which the same target runs): an AdamW
# optimizer.state_dict() with a LambdaLR's state, and rng_state.pth with Python's and numpy's generator states.
import random  # noqa: E402

import numpy as np  # noqa: E402

p = torch.nn.Parameter(torch.randn(2, 3))
opt = torch.optim.AdamW([{"params": [p], "weight_decay": 0.1}], lr=1e-3)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
p.grad = torch.ones(2, 3)
opt.step()
sched.step()
for name, obj in (("hf_optimizer", opt.state_dict()), ("hf_scheduler", sched.state_dict()),
                  ("hf_rng_state", {"python": random.getstate(), "numpy": np.random.get_state(),
                                    "cpu": torch.random.get_rng_state()})):
    buf = io.BytesIO()
    torch.save(obj, buf)
    with open(f"{pb}/{name}.bin", "wb") as f:
        f.write(buf.getvalue())
