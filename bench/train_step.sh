#!/usr/bin/env bash
# Training-step throughput of trainer.cpp's GPT-2 vs the same model in PyTorch eager (Debian's python3-torch, same
# libtorch kernels), measured alternately in this run, plus the fp32 sgemm peak of this machine. Two pairings:
#   tuned:      both sides with the best environment we know for PyTorch (OPENBLAS_CORETYPE for the CPU,
#               ATEN_CPU_CAPABILITY=avx512, OMP_NUM_THREADS=#cpus, jemalloc with decay off so freed pages are reused)
#   out of box: nothing set by the user (trainer.cpp picks its kernel/threads/allocator itself; PyTorch does not)
#   bf16 (--bf16): both sides tuned, forward + loss under CPU autocast at bfloat16 (fp32 master weights)
# Prints a table of medians: tokens/s, tokens per CPU-second (robust when the machine is busy), MFU, peak RSS.
#   bench/train_step.sh [--repeats 3] [--shape small|124m] [--bf16] [--no_out_of_box]
#                       [shape flags: --n_layer 6 --n_embd 384 --n_head 6 --vocab 50257 --block 256 --batch 8
#                        --steps 6 --warmup 3]
# Shapes of issue #8: small (the default: 6 layers, 384 wide, block 256, batch 8) and 124m (GPT-2 124M: 12 layers,
# 768 wide, block 1024, batch 1; 2 warm-up steps: the first optimizer step creates AdamW's state, so the second step
# is the first with the full working set, and both implementations map and fault fresh memory in it). Shape flags
# after these override single values.
# Needs a build with -DTCPP_BUILD_BENCHMARKS=ON (BUILD=build by default).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD:-build}"
repeats=3
bf16=0
out_of_box=1
shape=(--n_layer 6 --n_embd 384 --n_head 6 --vocab 50257 --block 256 --batch 8 --steps 6 --warmup 3)
while [ $# -gt 0 ]; do
  case "$1" in
    --repeats) repeats=$2; shift 2 ;;
    --bf16) bf16=1; shift ;;
    --no_out_of_box) out_of_box=0; shift ;;
    --shape)
      case "$2" in
        small) ;;
        124m) shape=(--n_layer 12 --n_embd 768 --n_head 12 --vocab 50257 --block 1024 --batch 1 --steps 3 --warmup 2) ;;
        *) echo "train_step.sh: --shape must be small or 124m, got '$2'" >&2; exit 2 ;;
      esac
      shift 2 ;;
    *) break ;;
  esac
done
shape+=("$@")
cores=$(nproc)
coretype=$(scripts/detect_openblas_coretype.sh)
jemalloc=$(ls /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 2>/dev/null || true)
clean_env=(env -u OPENBLAS_CORETYPE -u ATEN_CPU_CAPABILITY -u OMP_NUM_THREADS -u LD_PRELOAD -u MALLOC_CONF
           -u TCPP_CPU_ALLOCATOR -u TCPP_NUM_THREADS -u TCPP_NO_CPU_TUNING -u TCPP_OPENBLAS_CORETYPE_CHOSEN)
tuned_env=("${clean_env[@]}" OMP_NUM_THREADS="$cores")
[ -n "$coretype" ] && tuned_env+=(OPENBLAS_CORETYPE="$coretype")
grep -q avx512f /proc/cpuinfo && tuned_env+=(ATEN_CPU_CAPABILITY=avx512)
[ -n "$jemalloc" ] && tuned_env+=(LD_PRELOAD="$jemalloc" MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1)

out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 0; r < repeats; ++r)); do  # alternate the four runs so drifting load hits all of them alike
  echo "{\"run\": \"ours tuned\", \"r\": $("${tuned_env[@]}" "$build/bench/train_step_bench" "${shape[@]}")}" >> "$out"
  echo "{\"run\": \"pytorch tuned\", \"r\": $("${tuned_env[@]}" /usr/bin/python3 bench/train_step_torch.py --sgemm "${shape[@]}")}" >> "$out"
  if [ "$bf16" = 1 ]; then
    echo "{\"run\": \"ours tuned bf16\", \"r\": $("${tuned_env[@]}" "$build/bench/train_step_bench" --bf16 1 "${shape[@]}")}" >> "$out"
    echo "{\"run\": \"pytorch tuned bf16\", \"r\": $("${tuned_env[@]}" /usr/bin/python3 bench/train_step_torch.py --bf16 1 "${shape[@]}")}" >> "$out"
  fi
  if [ "$out_of_box" = 1 ]; then
    echo "{\"run\": \"ours out of box\", \"r\": $("${clean_env[@]}" "$build/bench/train_step_bench" "${shape[@]}")}" >> "$out"
    echo "{\"run\": \"pytorch out of box\", \"r\": $("${clean_env[@]}" /usr/bin/python3 bench/train_step_torch.py --sgemm "${shape[@]}")}" >> "$out"
  fi
done
/usr/bin/python3 - "$out" "$(uptime)" "${shape[@]}" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
shape = dict(zip(sys.argv[3::2], sys.argv[4::2]))
L, C, T = int(shape["--n_layer"]), int(shape["--n_embd"]), int(shape["--block"])
def med(run, key):
    vals = [x["r"][key] for x in rows if x["run"] == run and key in x["r"]]
    return statistics.median(vals) if vals else None
params = rows[0]["r"]["params"]
flops_per_token = 6 * params + 12 * L * T * C  # matmuls forward + backward, attention's T x T products included
print(f"shape {' '.join(k + ' ' + v for k, v in shape.items())}: {params / 1e6:.1f}M parameters, {flops_per_token / 1e6:.0f} MFLOP/token")
print(f"load while measuring: {sys.argv[2].split('load average:')[-1].strip()} (1/5/15 min)")
print(f"{'run':<20}{'threads':>8}{'tokens/s':>10}{'tok/CPU-s':>11}{'MFU':>7}{'peak RSS MB':>13}")
peak = {k: med("pytorch " + k, "sgemm_gflops") for k in ("tuned", "out of box")}
runs = [x["run"] for x in rows]
for run in sorted(set(runs), key=runs.index):
    tps, tpc, rss = med(run, "tokens_per_s"), med(run, "tokens_per_cpu_s"), med(run, "peak_rss_mb")
    threads = rows[[x["run"] for x in rows].index(run)]["r"]["threads"]
    mfu = flops_per_token * tps / (peak["tuned"] * 1e9)  # against the tuned sgemm peak: what the machine can do
    print(f"{run:<20}{threads:>8}{tps:>10.0f}{tpc:>11.0f}{100 * mfu:>6.0f}%{rss:>13.0f}")
r = lambda a, b, k: med(a, k) / med(b, k)
oob = f", out of box {peak['out of box']:.0f} GFLOP/s" if peak["out of box"] else ""
print(f"sgemm peak: tuned {peak['tuned']:.0f} GFLOP/s{oob} "
      f"(2048^3, per CPU-second tuned {med('pytorch tuned', 'sgemm_gflops_per_cpu_s'):.0f})")
line = (f"ratios: tuned {r('ours tuned', 'pytorch tuned', 'tokens_per_s'):.2f}x tokens/s "
        f"({r('ours tuned', 'pytorch tuned', 'tokens_per_cpu_s'):.2f}x per CPU-second), "
        f"peak RSS {r('ours tuned', 'pytorch tuned', 'peak_rss_mb'):.2f}x")
if "ours tuned bf16" in runs:
    line += (f"; bf16 {r('ours tuned bf16', 'pytorch tuned bf16', 'tokens_per_s'):.2f}x tokens/s "
             f"({r('ours tuned bf16', 'pytorch tuned bf16', 'tokens_per_cpu_s'):.2f}x per CPU-second)")
if "ours out of box" in runs:
    line += f"; out of box {r('ours out of box', 'pytorch out of box', 'tokens_per_s'):.2f}x tokens/s"
print(line)
PY
