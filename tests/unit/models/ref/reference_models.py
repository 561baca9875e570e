#!/usr/bin/env python3
"""Independent PyTorch reference for trainer.cpp's models: GPT-2, BERT, RoBERTa and Llama written directly from their
equations (no transformers), reading HF-layout checkpoints with a small safetensors reader of its own.

usage: reference_models.py MODEL_DIR INPUTS.safetensors OUT.safetensors [--grads]

MODEL_DIR holds config.json + model.safetensors (as save_pretrained writes them). INPUTS holds input_ids and optionally
attention_mask, token_type_ids, labels (int64). OUT receives "logits", "loss" (when labels are given) and, with
--grads, "grad.<parameter name>" for every tensor of the checkpoint. Exit code 3 means torch is not importable.
"""
import json
import math
import struct
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the C++ test skips on this code
    sys.exit(3)

DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
          "BOOL": torch.bool}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = DTYPES[info["dtype"]]
        raw = bytearray(data[base + begin:base + end])
        t = torch.frombuffer(raw, dtype=dtype) if len(raw) else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info["shape"]).clone()
    return out


def write_safetensors(path, tensors):
    names = {v: k for k, v in DTYPES.items()}
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def act(name):
    if name == "gelu":
        return lambda x: 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))
    if name == "relu":
        return torch.relu
    if name in ("silu", "swish"):
        return lambda x: x * torch.sigmoid(x)
    raise ValueError(name)


def attend(q, k, v, allowed, scale):
    """q (B,H,T,D), k/v (B,H,S,D), allowed (B,1,T,S) bool."""
    w = torch.einsum("bhtd,bhsd->bhts", q, k) * scale
    w = w.masked_fill(~allowed, torch.finfo(w.dtype).min)
    return torch.einsum("bhts,bhsd->bhtd", torch.softmax(w, dim=-1), v)


def split_heads(x, H):
    B, T, C = x.shape
    return x.reshape(B, T, H, C // H).permute(0, 2, 1, 3)


def merge_heads(x):
    B, H, T, D = x.shape
    return x.permute(0, 2, 1, 3).reshape(B, T, H * D)


def allowed_mask(mask, T, causal):
    allowed = mask[:, None, None, :].bool().expand(-1, 1, T, -1)
    if causal:
        allowed = allowed & torch.ones(T, T, dtype=torch.bool).tril()[None, None]
    return allowed


def gpt2(p, c, ids, mask):
    B, T = ids.shape
    C, H = c["n_embd"], c["n_head"]
    eps = c.get("layer_norm_epsilon", 1e-5)
    f = act(c.get("activation_function", "gelu_new"))
    x = p["transformer.wte.weight"][ids] + p["transformer.wpe.weight"][torch.arange(T)][None]
    allowed = allowed_mask(mask, T, causal=True)
    for i in range(c["n_layer"]):
        g = lambda n: p[f"transformer.h.{i}.{n}"]
        h = F.layer_norm(x, (C,), g("ln_1.weight"), g("ln_1.bias"), eps)
        qkv = h @ g("attn.c_attn.weight") + g("attn.c_attn.bias")
        q, k, v = (split_heads(t, H) for t in qkv.split(C, dim=-1))
        y = merge_heads(attend(q, k, v, allowed, 1.0 / math.sqrt(C // H)))
        x = x + y @ g("attn.c_proj.weight") + g("attn.c_proj.bias")
        h = F.layer_norm(x, (C,), g("ln_2.weight"), g("ln_2.bias"), eps)
        x = x + f(h @ g("mlp.c_fc.weight") + g("mlp.c_fc.bias")) @ g("mlp.c_proj.weight") + g("mlp.c_proj.bias")
    x = F.layer_norm(x, (C,), p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], eps)
    return x @ p.get("lm_head.weight", p["transformer.wte.weight"]).t()


def bert_encoder(p, c, prefix, ids, mask, position_ids, token_type_ids):
    B, T = ids.shape
    C, H = c["hidden_size"], c["num_attention_heads"]
    eps = c["layer_norm_eps"]
    f = act(c["hidden_act"])
    e = lambda n: p[f"{prefix}.embeddings.{n}"]
    x = e("word_embeddings.weight")[ids] + e("position_embeddings.weight")[position_ids] + \
        e("token_type_embeddings.weight")[token_type_ids]
    x = F.layer_norm(x, (C,), e("LayerNorm.weight"), e("LayerNorm.bias"), eps)
    allowed = allowed_mask(mask, T, causal=False)
    lin = lambda h, n: h @ p[n + ".weight"].t() + p[n + ".bias"]
    for i in range(c["num_hidden_layers"]):
        L = f"{prefix}.encoder.layer.{i}"
        q, k, v = (split_heads(lin(x, f"{L}.attention.self.{n}"), H) for n in ("query", "key", "value"))
        y = merge_heads(attend(q, k, v, allowed, 1.0 / math.sqrt(C // H)))
        a = F.layer_norm(lin(y, f"{L}.attention.output.dense") + x, (C,), p[f"{L}.attention.output.LayerNorm.weight"],
                         p[f"{L}.attention.output.LayerNorm.bias"], eps)
        m = f(lin(a, f"{L}.intermediate.dense"))
        x = F.layer_norm(lin(m, f"{L}.output.dense") + a, (C,), p[f"{L}.output.LayerNorm.weight"],
                         p[f"{L}.output.LayerNorm.bias"], eps)
    return x


def bert(p, c, ids, mask, token_type_ids):
    T = ids.shape[1]
    pos = torch.arange(T)[None].expand_as(ids)
    x = bert_encoder(p, c, "bert", ids, mask, pos, token_type_ids)
    C = c["hidden_size"]
    h = act(c["hidden_act"])(x @ p["cls.predictions.transform.dense.weight"].t() +
                             p["cls.predictions.transform.dense.bias"])
    h = F.layer_norm(h, (C,), p["cls.predictions.transform.LayerNorm.weight"],
                     p["cls.predictions.transform.LayerNorm.bias"], c["layer_norm_eps"])
    w = p.get("cls.predictions.decoder.weight", p["bert.embeddings.word_embeddings.weight"])
    return h @ w.t() + p["cls.predictions.bias"]


def roberta(p, c, ids, mask, token_type_ids):
    pad = c["pad_token_id"]
    not_pad = (ids != pad).long()
    pos = torch.cumsum(not_pad, dim=1) * not_pad + pad  # RoBERTa: positions start at pad + 1
    x = bert_encoder(p, c, "roberta", ids, mask, pos, token_type_ids)
    C = c["hidden_size"]
    h = act("gelu")(x @ p["lm_head.dense.weight"].t() + p["lm_head.dense.bias"])
    h = F.layer_norm(h, (C,), p["lm_head.layer_norm.weight"], p["lm_head.layer_norm.bias"], c["layer_norm_eps"])
    w = p.get("lm_head.decoder.weight", p["roberta.embeddings.word_embeddings.weight"])
    return h @ w.t() + p["lm_head.bias"]


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt((x * x).mean(dim=-1, keepdim=True) + eps))


def llama(p, c, ids, mask):
    B, T = ids.shape
    C, H = c["hidden_size"], c["num_attention_heads"]
    Hkv = c.get("num_key_value_heads") or H
    D = c.get("head_dim") or C // H
    eps, theta = c["rms_norm_eps"], c.get("rope_theta", 10000.0)
    f = act(c["hidden_act"])
    inv_freq = 1.0 / (theta ** (torch.arange(0, D, 2).float() / D))        # (D/2)
    angle = torch.arange(T).float()[:, None] * inv_freq[None, :]            # (T, D/2)
    cos, sin = angle.cos()[None, None], angle.sin()[None, None]

    def rope(x):  # rotate the pairs (x_i, x_{i + D/2}) by angle_i
        x1, x2 = x[..., : D // 2], x[..., D // 2:]
        return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)

    x = p["model.embed_tokens.weight"][ids]
    allowed = allowed_mask(mask, T, causal=True)
    for i in range(c["num_hidden_layers"]):
        g = lambda n: p[f"model.layers.{i}.{n}"]
        h = rms_norm(x, g("input_layernorm.weight"), eps)
        q = rope(split_heads(h @ g("self_attn.q_proj.weight").t(), H))
        k = rope(split_heads(h @ g("self_attn.k_proj.weight").t(), Hkv)).repeat_interleave(H // Hkv, dim=1)
        v = split_heads(h @ g("self_attn.v_proj.weight").t(), Hkv).repeat_interleave(H // Hkv, dim=1)
        x = x + merge_heads(attend(q, k, v, allowed, 1.0 / math.sqrt(D))) @ g("self_attn.o_proj.weight").t()
        h = rms_norm(x, g("post_attention_layernorm.weight"), eps)
        x = x + (f(h @ g("mlp.gate_proj.weight").t()) * (h @ g("mlp.up_proj.weight").t())) @ g("mlp.down_proj.weight").t()
    x = rms_norm(x, p["model.norm.weight"], eps)
    return x @ p.get("lm_head.weight", p["model.embed_tokens.weight"]).t()


def main():
    model_dir, inputs_path, out_path = sys.argv[1:4]
    grads = "--grads" in sys.argv[4:]
    torch.manual_seed(0)
    with open(f"{model_dir}/config.json") as f:
        c = json.load(f)
    params = read_safetensors(f"{model_dir}/model.safetensors")
    for t in params.values():
        t.requires_grad_(grads)
    inputs = read_safetensors(inputs_path)
    ids = inputs["input_ids"]
    mask = inputs.get("attention_mask", torch.ones_like(ids))
    tt = inputs.get("token_type_ids", torch.zeros_like(ids))
    kind = c["model_type"]
    if kind == "gpt2":
        logits = gpt2(params, c, ids, mask)
    elif kind == "bert":
        logits = bert(params, c, ids, mask, tt)
    elif kind == "roberta":
        logits = roberta(params, c, ids, mask, tt)
    elif kind == "llama":
        logits = llama(params, c, ids, mask)
    else:
        raise ValueError(kind)
    out = {"logits": logits}
    if "labels" in inputs:
        labels = inputs["labels"]
        V = logits.shape[-1]
        if kind in ("gpt2", "llama"):  # causal: position t predicts token t + 1
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)
        else:
            loss = F.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index=-100)
        out["loss"] = loss.reshape(1)
        if grads:
            loss.backward()
            for name, t in params.items():
                out["grad." + name] = t.grad if t.grad is not None else torch.zeros_like(t)
    write_safetensors(out_path, out)


if __name__ == "__main__":
    main()
