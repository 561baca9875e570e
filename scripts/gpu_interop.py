#!/usr/bin/env python3
"""Interop checks against the real Python stack, run by scripts/gpu_check.sh (on the GPU machine, whose image has
transformers, tokenizers, safetensors and pyarrow; `datasets` is not in it).

  models-ours->hf   `tcpp model init` folders (GPT-2, BERT, RoBERTa, Llama) load in transformers, whose logits equal
                    `tcpp model forward`'s (max abs diff <= 1e-4 over the attended positions)
  models-hf->ours   transformers' save_pretrained folders load in `tcpp model forward` with transformers' logits
  trained-model     run_clm's output folder (model + tokenizer) loads in transformers with the same ids and logits
  tokenizer         tokenizers' Tokenizer.from_file and transformers' AutoTokenizer encode like `tcpp tokenize`
  schedules         transformers' get_scheduler gives `tcpp schedule`'s learning rate at every step, for every
                    lr_scheduler_type but reduce_lr_on_plateau (which moves with eval metrics only)
  dataset           pyarrow reads the Arrow files of a saved dataset (`tcpp prepare`) with `tcpp dataset show`'s rows;
                    datasets.load_from_disk too when `datasets` is installed
  temporal          a table of dates, times, timestamps (naive and with timezones) and durations written by pyarrow
                    as an Arrow stream and as parquet: `tcpp dataset show` gives pyarrow's types and values (ISO text,
                    UTC for timezone-aware instants); `tcpp dataset convert` of the stream is read back by pyarrow
                    unchanged

Prints one line per check, 'PASS|FAIL|SKIP <name> <detail>', then exits 1 if any check failed. A missing Python
package is a SKIP naming it."""
import argparse
import glob
import importlib
import json
import os
import subprocess
import sys
import traceback

TOL = 1e-4
results = []


def report(status, name, detail):
    results.append(status)
    print(f"{status} {name} {detail}", flush=True)


def need(*modules):
    """The named modules, or None (and the missing one's name) when one is not installed."""
    loaded = []
    for m in modules:
        try:
            loaded.append(importlib.import_module(m))
        except Exception as e:  # ImportError, or a broken install
            return None, f"{m} ({type(e).__name__}: {e})"
    return loaded, None


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... exited {p.returncode}: {p.stderr.strip()[-800:]}")
    return p.stdout


def matrix(rows):
    return ";".join(",".join(str(v) for v in r) for r in rows)


def tcpp_logits(tcpp, model_dir, ids, mask):
    out = run([tcpp, "model", "forward", "--model", model_dir, "--input_ids", matrix(ids), "--attention_mask", matrix(mask)])
    return json.loads(out)["logits"]


def compare_logits(torch, ours, theirs, mask):
    """Max abs diff over attended positions, and the largest logit magnitude there (for scale)."""
    a = torch.tensor(ours, dtype=torch.float64)
    b = theirs.detach().to(torch.float64)
    if a.shape != b.shape:
        raise RuntimeError(f"logits shapes differ: ours {tuple(a.shape)}, transformers {tuple(b.shape)}")
    keep = torch.tensor(mask, dtype=torch.bool)
    return (a[keep] - b[keep]).abs().max().item(), b[keep].abs().max().item()


FAMILIES = {
    # model_type: (our --config_overrides, transformers config kwargs, pad id)
    "gpt2": ("vocab_size=64,n_positions=32,n_embd=32,n_layer=2,n_head=2,resid_pdrop=0,embd_pdrop=0,attn_pdrop=0",
             dict(vocab_size=64, n_positions=32, n_embd=32, n_layer=2, n_head=2, resid_pdrop=0.0, embd_pdrop=0.0,
                  attn_pdrop=0.0), 0),
    "bert": ("vocab_size=64,hidden_size=32,num_hidden_layers=2,num_attention_heads=2,intermediate_size=48,"
             "max_position_embeddings=40,hidden_dropout_prob=0,attention_probs_dropout_prob=0",
             dict(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=48,
                  max_position_embeddings=40, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0), 0),
    "roberta": ("vocab_size=64,hidden_size=32,num_hidden_layers=2,num_attention_heads=2,intermediate_size=48,"
                "max_position_embeddings=40,hidden_dropout_prob=0,attention_probs_dropout_prob=0",
                dict(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=48,
                     max_position_embeddings=40, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                     pad_token_id=1), 1),
    "llama": ("vocab_size=64,hidden_size=32,intermediate_size=48,num_hidden_layers=2,num_attention_heads=4,"
              "num_key_value_heads=2,max_position_embeddings=64",
              dict(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=2, max_position_embeddings=64), 0),
}
HF_CLASSES = {"gpt2": ("GPT2Config", "GPT2LMHeadModel"), "bert": ("BertConfig", "BertForMaskedLM"),
              "roberta": ("RobertaConfig", "RobertaForMaskedLM"), "llama": ("LlamaConfig", "LlamaForCausalLM")}


def batch(pad):
    ids = [[5, 9, 13, 2, 44, 7, 31, 3], [3, 17, 8, 26, pad, pad, pad, pad]]
    mask = [[1] * 8, [1, 1, 1, 1, 0, 0, 0, 0]]
    return ids, mask


def hf_load(transformers, torch, model_dir):
    config = transformers.AutoConfig.from_pretrained(model_dir)
    cls = getattr(transformers, config.architectures[0])
    try:
        model = cls.from_pretrained(model_dir, attn_implementation="eager")
    except (TypeError, ValueError):
        model = cls.from_pretrained(model_dir)
    return model.float().eval()


def hf_logits(torch, model, ids, mask):
    with torch.no_grad():
        return model(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask)).logits


def check_models(a):
    mods, missing = need("torch", "transformers")
    if not mods:
        report("SKIP", "models", f"needs {missing}")
        return
    torch, transformers = mods
    for family, (overrides, hf_kwargs, pad) in FAMILIES.items():
        ids, mask = batch(pad)
        # ours -> transformers
        try:
            d = os.path.join(a.work, f"ours-{family}")
            run([a.tcpp, "model", "init", "--model_type", family, "--config_overrides", overrides, "--seed", "3",
                 "--output", d])
            model = hf_load(transformers, torch, d)
            diff, scale = compare_logits(torch, tcpp_logits(a.tcpp, d, ids, mask), hf_logits(torch, model, ids, mask), mask)
            report("PASS" if diff <= TOL else "FAIL", f"models-ours->hf:{family}",
                   f"{type(model).__name__} from our save_pretrained: max |logit diff| {diff:.2e} (logits up to {scale:.2f})")
        except Exception as e:
            report("FAIL", f"models-ours->hf:{family}", f"{type(e).__name__}: {e}".replace("\n", " | ")[:600])
            traceback.print_exc()
        # transformers -> ours
        try:
            d = os.path.join(a.work, f"hf-{family}")
            config_cls, model_cls = HF_CLASSES[family]
            config = getattr(transformers, config_cls)(**hf_kwargs)
            torch.manual_seed(0)
            model = getattr(transformers, model_cls)(config).float().eval()
            with torch.no_grad():  # spread the weights so a wrong name or layout changes the logits visibly
                for name, p in model.named_parameters():
                    norm = p.dim() == 1 and name.endswith("weight")
                    p.normal_(1.0 if norm else 0.0, 0.3)
            model.save_pretrained(d)
            diff, scale = compare_logits(torch, tcpp_logits(a.tcpp, d, ids, mask), hf_logits(torch, model, ids, mask), mask)
            report("PASS" if diff <= TOL else "FAIL", f"models-hf->ours:{family}",
                   f"{model_cls}.save_pretrained read by tcpp: max |logit diff| {diff:.2e} (logits up to {scale:.2f})")
        except Exception as e:
            report("FAIL", f"models-hf->ours:{family}", f"{type(e).__name__}: {e}".replace("\n", " | ")[:600])
            traceback.print_exc()


def our_encodings(a, tokenizer, lines):
    path = os.path.join(a.work, "lines.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    out = run([a.tcpp, "tokenize", "--tokenizer", tokenizer, "--input", path])
    return [json.loads(l)["input_ids"] for l in out.splitlines() if l.strip()]


def text_lines(a, n=300):
    with open(a.text, encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f if l.strip()][:n]


def check_tokenizer(a):
    if not a.tokenizer:
        report("SKIP", "tokenizer", "no --tokenizer folder")
        return
    lines = text_lines(a)
    try:
        ours = our_encodings(a, a.tokenizer, lines)
    except Exception as e:
        report("FAIL", "tokenizer", f"tcpp tokenize: {e}")
        return
    mods, missing = need("tokenizers")
    if mods:
        tk = mods[0].Tokenizer.from_file(os.path.join(a.tokenizer, "tokenizer.json"))
        theirs = [e.ids for e in tk.encode_batch(lines)]
        bad = [i for i, (x, y) in enumerate(zip(ours, theirs)) if x != y]
        ok = not bad and len(ours) == len(theirs)
        report("PASS" if ok else "FAIL", "tokenizer:tokenizers",
               f"Tokenizer.from_file: {len(lines) - len(bad)}/{len(lines)} lines identical"
               + (f"; first difference line {bad[0]}: {lines[bad[0]][:80]!r}" if bad else ""))
    else:
        report("SKIP", "tokenizer:tokenizers", f"needs {missing}")
    mods, missing = need("transformers")
    if mods:
        try:
            tok = mods[0].AutoTokenizer.from_pretrained(a.tokenizer)
            theirs = [tok(l)["input_ids"] for l in lines]
            bad = [i for i, (x, y) in enumerate(zip(ours, theirs)) if x != y]
            report("PASS" if not bad else "FAIL", "tokenizer:AutoTokenizer",
                   f"{type(tok).__name__}: {len(lines) - len(bad)}/{len(lines)} lines identical")
        except Exception as e:
            report("FAIL", "tokenizer:AutoTokenizer", f"{type(e).__name__}: {e}"[:600])
    else:
        report("SKIP", "tokenizer:AutoTokenizer", f"needs {missing}")


def check_trained(a):
    if not a.trained:
        report("SKIP", "trained-model", "no --trained folder (run_clm did not produce one)")
        return
    mods, missing = need("torch", "transformers")
    if not mods:
        report("SKIP", "trained-model", f"needs {missing}")
        return
    torch, transformers = mods
    try:
        lines = text_lines(a, 2)
        ours = our_encodings(a, a.trained, lines)
        tok = transformers.AutoTokenizer.from_pretrained(a.trained)
        theirs = [tok(l)["input_ids"] for l in lines]
        n = min(32, len(ours[0]), len(ours[1]))
        ids = [ours[0][:n], ours[1][:n]]
        mask = [[1] * n, [1] * n]
        model = hf_load(transformers, torch, a.trained)
        diff, scale = compare_logits(torch, tcpp_logits(a.tcpp, a.trained, ids, mask), hf_logits(torch, model, ids, mask), mask)
        same_ids = ours == theirs
        report("PASS" if diff <= TOL and same_ids else "FAIL", "trained-model",
               f"run_clm output in transformers: ids {'identical' if same_ids else 'DIFFER'}, max |logit diff| "
               f"{diff:.2e} (logits up to {scale:.2f})")
    except Exception as e:
        report("FAIL", "trained-model", f"{type(e).__name__}: {e}".replace("\n", " | ")[:600])
        traceback.print_exc()


def check_dataset(a):
    if not a.dataset or not os.path.isdir(a.dataset):
        report("SKIP", "dataset", "no saved dataset (tcpp prepare failed?)")
        return
    splits = sorted(d for d in os.listdir(a.dataset) if os.path.isdir(os.path.join(a.dataset, d)))
    mods, missing = need("pyarrow", "pyarrow.ipc")
    if mods:
        pa = mods[0]
        for split in splits:
            try:
                files = sorted(glob.glob(os.path.join(a.dataset, split, "*.arrow")))
                tables = []
                for f in files:
                    with pa.memory_map(f) as source:
                        tables.append(mods[1].open_stream(source).read_all())
                table = pa.concat_tables(tables)
                ours = [json.loads(l) for l in run([a.tcpp, "dataset", "show", os.path.join(a.dataset, split), "--rows",
                                                    "all", "--format", "jsonl"]).splitlines() if l.strip()]
                theirs = table.to_pylist()
                same = len(ours) == len(theirs) and all(
                    {k: r[k] for k in table.column_names} == {k: o.get(k) for k in table.column_names}
                    for r, o in zip(theirs, ours))
                report("PASS" if same else "FAIL", f"dataset:pyarrow:{split}",
                       f"{len(files)} Arrow file(s), {table.num_rows} rows, columns {table.column_names}, schema "
                       f"{'; '.join(str(f.type) for f in table.schema)}: rows {'equal' if same else 'DIFFER from'} tcpp's")
            except Exception as e:
                report("FAIL", f"dataset:pyarrow:{split}", f"{type(e).__name__}: {e}"[:600])
                traceback.print_exc()
    else:
        report("SKIP", "dataset:pyarrow", f"needs {missing}")
    mods, missing = need("datasets")
    if mods:
        try:
            dd = mods[0].load_from_disk(a.dataset)
            report("PASS", "dataset:datasets", f"load_from_disk: {dd}".replace("\n", " ")[:400])
        except Exception as e:
            report("FAIL", "dataset:datasets", f"load_from_disk: {type(e).__name__}: {e}"[:600])
    else:
        report("SKIP", "dataset:datasets", f"needs {missing} (not in the GPU machine's image; pyarrow above reads the files)")

def check_temporal(a):
    mods, missing = need("pyarrow", "pyarrow.ipc", "pyarrow.parquet")
    if not mods:
        report("SKIP", "temporal", f"needs {missing}")
        return
    pa, ipc, pq = mods
    import datetime as dt
    utc = dt.timezone.utc
    work = os.path.join(a.work, "temporal")
    os.makedirs(work, exist_ok=True)
    # Seconds since the epoch -> a value of each type (nanosecond timestamps are left to the apache-arrow test: their
    # Python values need pandas).
    secs = [0, 1700000000, -1, 86399, 951782400, None, -2208988800]
    frac_us = [0, 250000, 999999, 1, 0, None, 500000]
    naive = [None if s is None else dt.datetime(1970, 1, 1) + dt.timedelta(seconds=s, microseconds=f)
             for s, f in zip(secs, frac_us)]
    aware = [None if d is None else d.replace(tzinfo=utc) for d in naive]
    ms = [None if d is None else d.replace(microsecond=d.microsecond // 1000 * 1000) for d in naive]
    columns = {
        "text": (pa.string(), [f"row {i}" for i in range(len(secs))]),
        "d32": (pa.date32(), [None if d is None else d.date() for d in naive]),
        "d64": (pa.date64(), [None if d is None else d.date() for d in naive]),
        "t32s": (pa.time32("s"), [None if d is None else d.time().replace(microsecond=0) for d in naive]),
        "t32ms": (pa.time32("ms"), [None if d is None else d.time() for d in ms]),
        "t64us": (pa.time64("us"), [None if d is None else d.time() for d in naive]),
        "ts_s": (pa.timestamp("s"), [None if d is None else d.replace(microsecond=0) for d in naive]),
        "ts_ms_paris": (pa.timestamp("ms", tz="Europe/Paris"),
                        [None if d is None else d.replace(tzinfo=utc) for d in ms]),
        "ts_us_utc": (pa.timestamp("us", tz="UTC"), aware),
        "ts_us": (pa.timestamp("us"), naive),
        "dur_s": (pa.duration("s"), [None if s is None else dt.timedelta(seconds=s) for s in secs]),
    }
    table = pa.table({k: pa.array(v, type=t) for k, (t, v) in columns.items()})

    def text(v, arrow_type):  # what tcpp's rows give: Python's isoformat, fraction digits by the unit, UTC instants
        if v is None:
            return None
        if isinstance(v, dt.timedelta):
            return int(v.total_seconds())
        if isinstance(v, dt.datetime):
            if v.tzinfo is not None:
                v = v.astimezone(utc)
            digits = {"ms": "milliseconds", "us": "microseconds"}.get(getattr(arrow_type, "unit", "s"))
            return v.isoformat(timespec=digits) if v.microsecond and digits else v.replace(microsecond=0).isoformat()
        if isinstance(v, dt.time):
            digits = {"ms": "milliseconds", "us": "microseconds"}.get(getattr(arrow_type, "unit", "s"))
            return v.isoformat(timespec=digits) if v.microsecond and digits else v.replace(microsecond=0).isoformat()
        if isinstance(v, dt.date):
            return v.isoformat()
        return v

    want = [{k: text(v, table.schema.field(k).type) for k, v in row.items()} for row in table.to_pylist()]
    stream = os.path.join(work, "pyarrow.arrow")
    with ipc.new_stream(stream, table.schema) as w:
        w.write_table(table)
    parquet = os.path.join(work, "pyarrow.parquet")
    pq.write_table(table, parquet)
    for name, path in (("stream", stream), ("parquet", parquet)):
        try:
            if name == "parquet":
                out = os.path.join(work, "from_parquet")
                run([a.tcpp, "dataset", "convert", "--data_files", path, "--output", out, "--cache_dir",
                     os.path.join(work, "cache")])
                path = out
            ours = [json.loads(l) for l in run([a.tcpp, "dataset", "show", path, "--rows", "all", "--format",
                                                "jsonl"]).splitlines() if l.strip()]
            bad = [(i, k, o.get(k), w[k]) for i, (o, w) in enumerate(zip(ours, want)) for k in w if o.get(k) != w[k]]
            # The schema `tcpp dataset show` prints ("name: type" lines before the rows) against pyarrow's types.
            shown = run([a.tcpp, "dataset", "show", path, "--rows", "0"]).splitlines()
            types = dict(l.split(": ", 1) for l in shown if ": " in l and l.split(": ", 1)[0] in table.column_names)
            bad_types = [(f.name, types.get(f.name), str(f.type)) for f in table.schema
                         if types.get(f.name) != str(f.type)]
            ok = len(ours) == len(want) and not bad and not bad_types
            report("PASS" if ok else "FAIL", f"temporal:pyarrow-{name}->tcpp",
                   f"{len(ours)} rows x {len(want[0])} columns ({', '.join(str(f.type) for f in table.schema)}): "
                   + ("every type and value is pyarrow's" if ok else
                      f"differences (row, column, ours, pyarrow's): {bad[:3]}; types (column, ours, pyarrow's): "
                      f"{bad_types[:4]}"))
        except Exception as e:
            report("FAIL", f"temporal:pyarrow-{name}->tcpp", f"{type(e).__name__}: {e}"[:600])
    try:
        saved = os.path.join(work, "saved")
        run([a.tcpp, "dataset", "convert", "--builder", "arrow", "--data_files", stream, "--output", saved])
        files = sorted(glob.glob(os.path.join(saved, "*.arrow")))
        with pa.memory_map(files[0]) as source:
            back = ipc.open_stream(source).read_all()
        same_types = [f.type for f in back.schema] == [f.type for f in table.schema]
        ok = same_types and back.select(table.column_names).equals(table)
        report("PASS" if ok else "FAIL", "temporal:tcpp->pyarrow",
               "save_to_disk of the stream read by pyarrow: types "
               f"{'equal' if same_types else 'DIFFER: ' + str(back.schema)}, values {'equal' if ok else 'differ'}")
    except Exception as e:
        report("FAIL", "temporal:tcpp->pyarrow", f"{type(e).__name__}: {e}"[:600])


# (lr_scheduler_type, warmup, max_steps, lr_scheduler_kwargs); warmup: an int of steps, a float for warmup_ratio, or
# ("v5", x): v5's warmup_steps given as a float ratio (skipped on a transformers that wants an int there)
SCHEDULES = [
    ("linear", 3, 10, {}),
    ("linear", 0.25, 13, {}),
    ("linear", ("v5", 0.35), 11, {}),
    ("cosine", 2, 12, {"num_cycles": 0.7}),
    ("cosine_with_restarts", 2, 13, {"num_cycles": 3}),
    ("polynomial", 2, 10, {"lr_end": 1e-5, "power": 2.0}),
    ("constant", 0, 5, {}),
    ("constant_with_warmup", 4, 8, {}),
    ("inverse_sqrt", 3, 10, {}),
    ("inverse_sqrt", 0, 6, {"timescale": 7}),
    ("cosine_with_min_lr", 2, 10, {"min_lr": 1e-4}),
    ("cosine_with_min_lr", 0.3, 9, {"min_lr_rate": 0.2, "num_cycles": 0.4}),
    ("cosine_warmup_with_min_lr", 3, 10, {"min_lr_rate": 0.1}),
    ("cosine_warmup_with_min_lr", 3, 10, {"min_lr": 2e-4, "warmup_lr_rate": 0.2}),
    ("cosine_warmup_with_min_lr", 0, 4, {"min_lr_rate": 0.0}),
    ("warmup_stable_decay", 2, 12, {"num_decay_steps": 4, "warmup_type": "1-sqrt", "decay_type": "cosine",
                                    "min_lr_ratio": 0.1}),
    ("warmup_stable_decay", 3, 14, {"num_decay_steps": 5, "num_stable_steps": 2, "warmup_type": "cosine",
                                    "decay_type": "1-sqrt"}),
    ("warmup_stable_decay", 1, 9, {"num_decay_steps": 3, "warmup_type": "linear", "decay_type": "linear"}),
]


def check_schedules(a):
    mods, missing = need("torch", "transformers")
    if not mods:
        report("SKIP", "schedules", f"needs {missing}")
        return
    torch, transformers = mods
    lr = 1e-3
    bad = []
    checked = 0
    for name, warmup, steps, kwargs in SCHEDULES:
        flags = ["--max_steps", str(steps), "--learning_rate", str(lr), "--lr_scheduler_type", name,
                 "--lr_scheduler_kwargs", json.dumps(kwargs)]
        if isinstance(warmup, float):
            flags += ["--warmup_ratio", str(warmup)]
            w = transformers.TrainingArguments(output_dir=a.work, warmup_ratio=warmup, max_steps=steps,
                                               report_to=[]).get_warmup_steps(steps)
        elif isinstance(warmup, tuple):
            flags += ["--warmup_steps", str(warmup[1])]
            try:
                w = transformers.TrainingArguments(output_dir=a.work, warmup_steps=warmup[1], max_steps=steps,
                                                   report_to=[]).get_warmup_steps(steps)
            except Exception as e:  # 4.x: warmup_steps must be an int
                print(f"  (schedules: {name} with warmup_steps {warmup[1]} skipped: {type(e).__name__})")
                continue
        else:
            flags += ["--warmup_steps", str(warmup)]
            w = warmup
        ours = json.loads(run([a.tcpp, "schedule"] + flags))
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
        sched = transformers.get_scheduler(name, opt, num_warmup_steps=w, num_training_steps=steps,
                                           scheduler_specific_kwargs=dict(kwargs))
        theirs = []
        for _ in range(steps):
            theirs.append(sched.get_last_lr()[0])
            opt.step()
            sched.step()
        checked += 1
        diff = max(abs(x - y) / max(abs(y), 1e-300) if y else abs(x) for x, y in zip(ours["learning_rate"], theirs))
        if ours["num_warmup_steps"] != w or len(ours["learning_rate"]) != len(theirs) or diff > 1e-12:
            bad.append(f"{name} {kwargs} warmup {warmup} (ours W={ours['num_warmup_steps']}, HF W={w}): "
                       f"ours {ours['learning_rate']} HF {theirs}")
    report("PASS" if not bad else "FAIL", "schedules",
           f"{checked - len(bad)}/{checked} schedules equal transformers.get_scheduler "
           f"({transformers.__version__}) at every step" + ("; " + "; ".join(bad) if bad else "")[:3000])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tcpp", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--tokenizer")
    p.add_argument("--text", required=True, help="a text file, one text per line")
    p.add_argument("--dataset")
    p.add_argument("--trained")
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    for check in (check_models, check_tokenizer, check_trained, check_dataset, check_temporal, check_schedules):
        try:
            check(a)
        except Exception as e:
            report("FAIL", check.__name__, f"{type(e).__name__}: {e}"[:600])
            traceback.print_exc()
    print(f"{results.count('PASS')} passed, {results.count('FAIL')} failed, {results.count('SKIP')} skipped", flush=True)
    return 1 if "FAIL" in results else 0


if __name__ == "__main__":
    sys.exit(main())
