#!/usr/bin/env python3
"""PyTorch reference for resize_token_embeddings with mean_resizing=True, restated from transformers 4.57's documented
steps (no transformers import): build the fresh nn.Embedding / nn.Linear HF builds, draw the added rows from
torch.distributions.MultivariateNormal(mean, 1e-9 * covariance) when constraints.positive_definite holds (else the
mean), the added bias entries from normal(mean, 1e-9 * std), then copy the kept rows.

usage: resize_reference.py IN.safetensors OUT.safetensors SEED NEW_NUM_TOKENS embedding|linear

IN holds "weight" (V, C) and, for linear, optionally "bias" (V). OUT receives the resized "weight" (and "bias").
Exit code 3 means torch is not importable.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import torch
    from torch.distributions import constraints
    from torch.distributions.multivariate_normal import MultivariateNormal
except ImportError:  # the C++ test skips on this code
    sys.exit(3)
from reference_models import read_safetensors, write_safetensors  # noqa: E402


def added_rows(old, added):
    w = old.to(torch.float32)
    mean = w.mean(0)
    centered = w - mean
    cov = centered.T @ centered / w.shape[0]
    if constraints.positive_definite.check(1e-9 * cov).all():
        return MultivariateNormal(mean, covariance_matrix=1e-9 * cov).sample((added,)).to(old.dtype)
    return mean[None, :].repeat(added, 1).to(old.dtype)


def main():
    src, dst, seed, new, kind = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    t = read_safetensors(src)
    old = t["weight"]
    bias = t.get("bias")
    V, C = old.shape
    torch.manual_seed(seed)
    with torch.no_grad():
        if kind == "embedding":
            fresh = torch.nn.Embedding(new, C, dtype=old.dtype)
            fresh_bias = None
        else:
            lin = torch.nn.Linear(C, new, bias=bias is not None, dtype=old.dtype)
            fresh, fresh_bias = lin, lin.bias
        weight = fresh.weight.data
        if new > V:
            weight[V:] = added_rows(old, new - V)
            if fresh_bias is not None:
                fresh_bias.data[V:].normal_(mean=torch.mean(bias, 0, dtype=torch.float32),
                                            std=1e-9 * torch.std(bias, 0).to(torch.float32))
        n = min(V, new)
        weight[:n] = old[:n]
        out = {"weight": weight.contiguous()}
        if fresh_bias is not None:
            fresh_bias.data[:n] = bias[:n]
            out["bias"] = fresh_bias.data.contiguous()
    write_safetensors(dst, out)


if __name__ == "__main__":
    main()
