#!/usr/bin/env python3
"""Writes pytorch_model.bin files with torch.save, for trainer.cpp's .bin reader tests.

usage: write_pytorch_bin.py fixtures OUT_DIR
         OUT_DIR/sd.bin (OrderedDict, protocol 2, as state_dict()), sd_p4.bin (protocol 4), params.bin
         (keep_vars=True: nn.Parameter objects), legacy.bin (pre-1.6 format), not_tensor.bin (an int value),
         module.bin (a whole nn.Module), expected.safetensors with every tensor as float64 (0-dim ones flattened) and
         order.json with the names and dtypes in order.
       write_pytorch_bin.py convert MODEL_DIR OUT_DIR
         MODEL_DIR/model.safetensors as OUT_DIR/pytorch_model.bin, and as two shards + pytorch_model.bin.index.json
         in OUT_DIR/sharded.
       write_pytorch_bin.py check BIN EXPECTED_SAFETENSORS
         torch.load(BIN, weights_only=True), as transformers loads a .bin: an OrderedDict whose names (in order),
         dtypes, shapes and values equal EXPECTED_SAFETENSORS'; exit 1 with the first difference otherwise.
Exit code 3 means torch is not importable.
"""
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import torch
except ImportError:  # the C++ test skips on this code
    sys.exit(3)
from reference_models import read_safetensors, write_safetensors  # noqa: E402


def fixtures(out):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4), torch.nn.BatchNorm1d(4))
    sd = model.state_dict()  # OrderedDict with _metadata; BatchNorm adds a 0-dim int64 num_batches_tracked
    base = torch.arange(24, dtype=torch.float32)
    sd["extra.half"] = torch.randn(2, 3).half()
    sd["extra.bf16"] = torch.randn(5).bfloat16()
    sd["extra.f64"] = torch.randn(3, dtype=torch.float64)
    sd["extra.i64"] = torch.arange(6).view(2, 3)
    sd["extra.i32"] = torch.tensor([-7, 2**31 - 1], dtype=torch.int32)
    sd["extra.bool"] = torch.tensor([True, False, True])
    sd["extra.u8"] = torch.tensor([0, 255], dtype=torch.uint8)
    sd["extra.view"] = base[5:17].view(3, 4)      # offset into a storage shared with the next two
    sd["extra.transposed"] = base.view(4, 6).t()  # strided
    sd["extra.shared"] = base
    sd["extra.empty"] = torch.empty(0, 4)
    torch.save(sd, f"{out}/sd.bin")
    torch.save(sd, f"{out}/sd_p4.bin", pickle_protocol=4)
    torch.save(model.state_dict(keep_vars=True), f"{out}/params.bin")
    torch.save(sd, f"{out}/legacy.bin", _use_new_zipfile_serialization=False)
    torch.save({"weight": torch.ones(2), "step": 3}, f"{out}/not_tensor.bin")
    torch.save(torch.nn.Linear(2, 2), f"{out}/module.bin")
    # Every value as float64 (exact for these dtypes; one element size keeps the file aligned), the dtypes by name.
    write_safetensors(f"{out}/expected.safetensors",
                      {k: (v.reshape(-1) if v.dim() == 0 else v).to(torch.float64) for k, v in sd.items()})
    names = {torch.float64: "Double", torch.float32: "Float", torch.float16: "Half", torch.bfloat16: "BFloat16",
             torch.int64: "Long", torch.int32: "Int", torch.uint8: "Byte", torch.bool: "Bool"}
    with open(f"{out}/order.json", "w") as f:
        json.dump({"names": list(sd.keys()), "dtypes": [names[v.dtype] for v in sd.values()]}, f)


def convert(model_dir, out):
    tensors = read_safetensors(f"{model_dir}/model.safetensors")
    sd = collections.OrderedDict(sorted(tensors.items()))
    torch.save(sd, f"{out}/pytorch_model.bin")
    os.makedirs(f"{out}/sharded", exist_ok=True)
    names = list(sd)
    half = len(names) // 2
    weight_map = {}
    for i, part in enumerate([names[:half], names[half:]]):
        file = f"pytorch_model-{i + 1:05d}-of-00002.bin"
        torch.save(collections.OrderedDict((n, sd[n]) for n in part), f"{out}/sharded/{file}")
        weight_map.update({n: file for n in part})
    with open(f"{out}/sharded/pytorch_model.bin.index.json", "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f)


def check(path, expected_path):
    sd = torch.load(path, map_location="cpu", weights_only=True)
    expected = read_safetensors(expected_path)
    if not isinstance(sd, collections.OrderedDict):
        sys.exit(f"{path}: a {type(sd).__name__}, not an OrderedDict")
    if list(sd) != list(expected):
        sys.exit(f"{path}: names {list(sd)}, expected {list(expected)}")
    for name, want in expected.items():
        got = sd[name]
        if got.dtype != want.dtype or got.shape != want.shape or not torch.equal(got, want):
            sys.exit(f"{path}: {name} is {got.dtype} {tuple(got.shape)} {got}, expected {want.dtype} "
                     f"{tuple(want.shape)} {want}")


if __name__ == "__main__":
    if sys.argv[1] == "fixtures":
        fixtures(sys.argv[2])
    elif sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    else:
        convert(sys.argv[2], sys.argv[3])
