#!/usr/bin/env python3
"""PyTorch eager peer of bench/train_step_bench.cpp: the same GPT-2 shapes (HF's GPT2LMHeadModel equations: Conv1D
as addmm, gelu_new, causal masked softmax attention, tied lm_head), AdamW (foreach when available), grad clipping.
Prints one JSON line; with --sgemm also the measured fp32 matmul peak of this process (GFLOP/s). --bf16 1 runs the
forward and loss under torch.autocast("cpu", bfloat16), fp32 master weights, as HF's Trainer with --bf16."""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, C, H):
        super().__init__()
        self.H = H
        self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.c_attn_w, self.c_attn_b = nn.Parameter(torch.randn(C, 3 * C) * 0.02), nn.Parameter(torch.zeros(3 * C))
        self.c_proj_w, self.c_proj_b = nn.Parameter(torch.randn(C, C) * 0.02), nn.Parameter(torch.zeros(C))
        self.fc_w, self.fc_b = nn.Parameter(torch.randn(C, 4 * C) * 0.02), nn.Parameter(torch.zeros(4 * C))
        self.mp_w, self.mp_b = nn.Parameter(torch.randn(4 * C, C) * 0.02), nn.Parameter(torch.zeros(C))

    def forward(self, x, causal):
        B, T, C = x.shape
        h = self.ln_1(x)
        qkv = torch.addmm(self.c_attn_b, h.view(-1, C), self.c_attn_w).view(B, T, 3 * C)
        q, k, v = (t.view(B, T, self.H, C // self.H).transpose(1, 2) for t in qkv.split(C, 2))
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(C // self.H)
        w = torch.where(causal[:T, :T], w, torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype))
        y = torch.matmul(F.softmax(w, dim=-1), v).transpose(1, 2).reshape(B, T, C)
        x = x + torch.addmm(self.c_proj_b, y.view(-1, C), self.c_proj_w).view(B, T, C)
        h = self.ln_2(x)
        h = torch.addmm(self.fc_b, h.view(-1, C), self.fc_w)
        h = 0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * torch.pow(h, 3.0))))
        return x + torch.addmm(self.mp_b, h, self.mp_w).view(B, T, C)


class GPT2(nn.Module):
    def __init__(self, V, P, C, L, H):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(P, C)
        nn.init.normal_(self.wte.weight, std=0.02)
        nn.init.normal_(self.wpe.weight, std=0.01)
        self.h = nn.ModuleList(Block(C, H) for _ in range(L))
        self.ln_f = nn.LayerNorm(C)
        self.register_buffer("causal", torch.tril(torch.ones(P, P, dtype=torch.bool)))

    def forward(self, ids):
        T = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(T).unsqueeze(0))
        for b in self.h:
            x = b(x, self.causal)
        logits = F.linear(self.ln_f(x), self.wte.weight)
        return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).float(), ids[:, 1:].reshape(-1))


def sgemm_peak():
    """fp32 matmul GFLOP/s of this process: (per wall second, per CPU second)."""
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    torch.mm(a, b)
    start, cpu, n = time.perf_counter(), time.process_time(), 10
    for _ in range(n):
        torch.mm(a, b)
    flops = 2 * 2048 ** 3 * n / 1e9
    return flops / (time.perf_counter() - start), flops / (time.process_time() - cpu)


def main():
    ap = argparse.ArgumentParser()
    for k, v in dict(n_layer=4, n_embd=256, n_head=4, vocab=8192, block=256, batch=8, steps=20, warmup=3).items():
        ap.add_argument("--" + k, type=int, default=v)
    ap.add_argument("--sgemm", action="store_true")
    ap.add_argument("--bf16", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(0)
    model = GPT2(a.vocab, a.block, a.n_embd, a.n_layer, a.n_head).train()
    decay = [p for n, p in model.named_parameters() if n.endswith("_w") or n.endswith("weight") and "ln" not in n]
    rest = [p for p in model.parameters() if all(p is not d for d in decay)]
    kw = {"foreach": True} if "foreach" in torch.optim.AdamW.__init__.__code__.co_varnames else {}
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}],
                            lr=1e-4, **kw)
    ids = torch.randint(a.vocab, (a.batch, a.block))
    params = list(model.parameters())

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(a.bf16)):
            loss = model(ids)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(a.steps):
        loss = step()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    out = {"impl": "pytorch-eager " + torch.__version__, "threads": torch.get_num_threads(),
           "params": sum(p.numel() for p in params), "ms_per_step": round(1000 * seconds / a.steps, 2),
           "tokens_per_s": round(a.batch * a.block * a.steps / seconds, 1),
           "tokens_per_cpu_s": round(a.batch * a.block * a.steps / cpu, 1), "last_loss": round(loss, 4),
           "dtype": "bf16" if a.bf16 else "fp32",
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    if a.sgemm:
        wall, cpu = sgemm_peak()
        out["sgemm_gflops"], out["sgemm_gflops_per_cpu_s"] = round(wall, 1), round(cpu, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
