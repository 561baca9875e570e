# Expected LR multipliers for schedulers_test.cpp, written from transformers' optimization.py formulas
# (HF_SEMANTICS.md §1.2) and run through torch.optim.lr_scheduler.LambdaLR / ReduceLROnPlateau (torch 1.13).
import math
import torch

def warm(s, W): return s / max(1, W)

def linear(W, T):
    return lambda s: warm(s, W) if s < W else max(0.0, (T - s) / max(1, T - W))

def cosine(W, T, c=0.5):
    def f(s):
        if s < W: return warm(s, W)
        p = (s - W) / max(1, T - W)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * c * 2.0 * p)))
    return f

def restarts(W, T, c=1.0):
    def f(s):
        if s < W: return warm(s, W)
        p = (s - W) / max(1, T - W)
        if p >= 1.0: return 0.0
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((c * p) % 1.0))))
    return f

def poly(W, T, lr0, lr_end=1e-7, power=1.0):
    def f(s):
        if s < W: return warm(s, W)
        if s > T: return lr_end / lr0
        return ((lr0 - lr_end) * (1 - (s - W) / (T - W)) ** power + lr_end) / lr0
    return f

def inv_sqrt(W, timescale=None):
    ts = timescale or (W or 10000)
    def f(s):
        if s < W: return warm(s, W)
        return 1.0 / math.sqrt((s + ts - W) / ts)
    return f

def cos_min(W, T, rate, c=0.5):
    def f(s):
        if s < W: return warm(s, W)
        p = (s - W) / max(1, T - W)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * c * 2.0 * p)) * (1 - rate) + rate)
    return f

def cos_warm_min(W, T, rate, c=0.5, warmup_rate=None):
    def f(s):
        if s < W:
            if warmup_rate is None: return (s + 1.0) / max(1.0, W)
            return warmup_rate + (1.0 - warmup_rate) * s / max(1, W - 1)
        p = (s - W + 1.0) / max(1.0, T - W)
        return max(0, 0.5 * (1.0 + math.cos(math.pi * c * 2.0 * p)) * (1 - rate) + rate)
    return f

def wsd(W, stable, decay, wt="linear", dt="cosine", r=0.0, c=0.5):
    def f(s):
        if s < W:
            p = s / max(1, W)
            x = {"linear": p, "cosine": 0.5 * (1 - math.cos(math.pi * p)), "1-sqrt": 1 - math.sqrt(1 - p)}[wt]
            return max(0.0, x * (1 - r) + r)
        if s < W + stable: return 1.0
        if s < W + stable + decay:
            p = (s - W - stable) / max(1, decay)
            x = {"linear": 1 - p, "cosine": 0.5 * (1 + math.cos(math.pi * c * 2.0 * p)), "1-sqrt": 1 - math.sqrt(p)}[dt]
            return max(0.0, x * (1 - r) + r)
        return r
    return f

def run(name, fn, steps, lr=1e-3):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sch = torch.optim.lr_scheduler.LambdaLR(opt, fn)
    out = []
    for s in range(steps + 1):
        out.append(sch.get_last_lr()[0])
        opt.step(); sch.step()
    print(name, ", ".join(repr(v) for v in out))

run("linear W3 T10", linear(3, 10), 12)
run("cosine W2 T10", cosine(2, 10), 11)
run("cosine_with_restarts W2 T12 c3", restarts(2, 12, 3.0), 13)
run("polynomial W2 T10 p2 lr_end1e-4", poly(2, 10, 1e-3, 1e-4, 2.0), 12)
run("constant_with_warmup W4", lambda s: warm(s, 4) if s < 4 else 1.0, 6)
run("inverse_sqrt W3", inv_sqrt(3), 8)
run("inverse_sqrt W0", inv_sqrt(0), 3)
run("cosine_with_min_lr W2 T10 min_lr 1e-4", cos_min(2, 10, 1e-4 / 1e-3), 11)
run("cosine_warmup_with_min_lr W3 T10 min_lr_rate 0.1", cos_warm_min(3, 10, 0.1), 11)
run("cosine_warmup_with_min_lr W3 T10 min_lr 2e-4 warmup_lr_rate 0.2", cos_warm_min(3, 10, 0.2, 0.5, 0.2), 11)
run("cosine_warmup_with_min_lr W0 T4 min_lr_rate 0", cos_warm_min(0, 4, 0.0), 5)
run("wsd W2 T12 decay4 1-sqrt/cosine r0.1", wsd(2, 12 - 2 - 4, 4, "1-sqrt", "cosine", 0.1), 13)

opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
sch = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5, cooldown=1)
out = []
for m in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.8, 0.9, 0.9]:
    sch.step(m); out.append(opt.param_groups[0]["lr"])
print("plateau", ", ".join(repr(v) for v in out))
