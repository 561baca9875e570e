#!/usr/bin/env bash
# The GPU check of issues #5 (models), #6 (fp16/bf16 training on CUDA) and #9 (NCCL), as ONE command for a session
# that is lent a GPU machine (no network there, no apt, probably not Debian; PyTorch wheel with LibTorch, transformers,
# tokenizers, pyarrow). Prepare here first with scripts/gpu_prepare.sh (.gpu-deps/root), then on the GPU machine:
#   scripts/gpu_check.sh                 (README, "Checking on a GPU machine", has the exact device-tool call)
# Stages, each time-boxed, the whole run kept under TCPP_GPU_CHECK_BUDGET seconds (default 560):
#   env        versions: GPU, driver, Python packages, compilers
#   configure  CMake with the wheel's LibTorch (CUDA) and .gpu-deps/root (pkg-config, GTest, flatc, nlohmann_json)
#   build      only tcpp, run_clm and cuda_test, -j$(nproc)
#   unit       tests/unit/cuda (models on CUDA = CPU, autocast, GradScaler, FusedAdamW, NCCL with one rank)
#   train      run_clm on CUDA in fp32, bf16 and fp16 (GradScaler): finite losses that fall; mem-gpu: the fp32
#              run's HF *_mem_gpu_* metrics (skip_memory_metrics false)
#   interop    transformers/tokenizers/pyarrow against our files (scripts/gpu_interop.py)
#   nccl       2 ranks over NCCL on one GPU (NCCL refuses two ranks per device: recorded, not a failure), 2 ranks
#              over Gloo with CUDA tensors, and NCCL with one rank (the unit test)
# Logs and summary.txt go to $OUT (the device tool brings back at most 8 files: these 8), else build-gpucheck/out.
# --cpu runs the same logic on a CPU machine (Debian's LibTorch, /usr/bin/python3; CUDA-only stages skip with a
# note), to check the script itself. --build-dir DIR reuses a build folder (default build-gpucheck).
# --no-gpu-deps ignores .gpu-deps/root (use the system's packages); --configure-only stops after configuring.
# --torch-root DIR takes LibTorch from DIR (include/, lib/) without its TorchConfig.cmake, which is also what the
# cuda mode falls back to (the wheel's torch/ folder) when TorchConfig fails, as it does without the CUDA toolkit.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
start_s=$SECONDS

mode=cuda
build=build-gpucheck
use_gpu_deps=1
configure_only=0
torch_root=""
jobs=$(nproc 2>/dev/null || echo 4)
budget=${TCPP_GPU_CHECK_BUDGET:-560}
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu) mode=cpu ;;
    --build-dir) build=$2; shift ;;
    --jobs) jobs=$2; shift ;;
    --no-gpu-deps) use_gpu_deps=0 ;;
    --configure-only) configure_only=1 ;;
    --torch-root) torch_root=$(cd "$2" && pwd); shift ;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0 ;;
    *) echo "usage: scripts/gpu_check.sh [--cpu] [--build-dir DIR] [--jobs N] [--no-gpu-deps] [--configure-only]" \
            "[--torch-root DIR]" >&2
       exit 2 ;;
  esac
  shift
done
out=${OUT:-$repo/$build/out}
mkdir -p "$out" "$build"
build=$(cd "$build" && pwd)
work=$build/gpucheck-work
rm -rf "$work"
mkdir -p "$work"
summary=$out/summary.txt
: > "$summary"
results=()  # "STAGE<tab>STATUS<tab>detail"
tab=$'\t'

log() { echo "[gpu_check $(date -u +%H:%M:%S) +$((SECONDS - start_s))s] $*"; }
record() {  # stage status detail
  results+=("$1$tab$2$tab$3")
  log "$1: $2 — $3"
  printf '%-10s %-6s %s\n' "$1" "$2" "$3" >> "$summary"  # kept if the run is cut off; finish() rewrites it
}
left() { echo $((budget - (SECONDS - start_s))); }
# Run "$@" under a limit of min(max, time left - reserve) seconds; the status is timeout's (124 when cut off).
boxed() {  # max_seconds logfile cmd...
  local max=$1 logf=$2; shift 2
  local t; t=$(left); t=$((t - 15))
  [ "$t" -gt "$max" ] && t=$max
  if [ "$t" -lt 10 ]; then echo "(no time left in the ${budget}s budget)" >> "$logf"; return 124; fi
  echo "\$ (timeout ${t}s) $*" >> "$logf"
  timeout --kill-after=10 "$t" "$@" >> "$logf" 2>&1
}
finish() {
  {
    echo
    echo "trainer.cpp GPU check ($mode mode), $(date -u +%Y-%m-%dT%H:%M:%SZ), $((SECONDS - start_s)) s of a ${budget} s budget"
    echo "commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$repo" diff --quiet 2>/dev/null || echo ' (+ local changes)')"
    printf '%-10s %-6s %s\n' STAGE STATUS DETAIL
    for r in "${results[@]}"; do IFS=$tab read -r s st d <<< "$r"; printf '%-10s %-6s %s\n' "$s" "$st" "$d"; done
  } | tee "$summary"
  local failed=0
  for r in "${results[@]}"; do case "$r" in *"${tab}FAIL${tab}"*) failed=1 ;; esac; done
  echo "logs: $out (summary.txt env.log configure.log build.log unit.log train.log interop.log nccl.log)"
  exit $failed
}

# ---------------------------------------------------------------------------------------------------------- env
envlog=$out/env.log
: > "$envlog"
if [ "$mode" = cpu ]; then py=${PYTHON:-/usr/bin/python3}; else py=${PYTHON:-python3}; fi
{
  echo "mode=$mode jobs=$jobs budget=${budget}s build=$build"
  uname -a; cat /etc/os-release 2>/dev/null | head -2
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  for tool in cmake ninja c++ g++ nvcc; do printf '%s: ' "$tool"; ($tool --version 2>/dev/null | head -1) || echo missing; done
  "$py" - <<'EOF'
import importlib, sys
print("python", sys.version.split()[0], sys.executable)
for m in ["torch", "transformers", "tokenizers", "safetensors", "pyarrow", "datasets", "numpy"]:
    try:
        mod = importlib.import_module(m)
        print(m, getattr(mod, "__version__", "?"))
    except Exception as e:
        print(m, "MISSING", type(e).__name__)
try:
    import torch
    print("torch.cuda.is_available", torch.cuda.is_available(), "cuda", torch.version.cuda,
          "nccl", torch.cuda.nccl.version() if torch.cuda.is_available() else None)
    print("cmake_prefix_path", torch.utils.cmake_prefix_path)
except Exception as e:
    print("torch probe failed:", e)
EOF
} >> "$envlog" 2>&1
missing_tools=()
for tool in cmake ninja c++; do command -v $tool >/dev/null || missing_tools+=($tool); done
if [ ${#missing_tools[@]} -gt 0 ]; then
  record env FAIL "missing ${missing_tools[*]} (see env.log)"
  finish
fi
if [ "$mode" = cuda ] && ! "$py" -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  record env FAIL "$py has no torch with a CUDA device (use --cpu on a CPU machine)"
  finish
fi
record env PASS "$(grep -m1 '^torch ' "$envlog" | tr -d '\n'), $(grep -m1 -E '^NVIDIA [^,]+' -o "$envlog" || echo 'no GPU'), $(c++ --version | head -1)"

# ---------------------------------------------------------------------------------------------------- configure
cfglog=$out/configure.log
: > "$cfglog"
# On the GPU machine -O1 (TCPP_GPU_CHECK_OPT) rather than Release's -O3: the build is most of the time budget, and
# the check is about correctness (the GPU does the heavy work either way). --cpu keeps -O3 (an existing build folder).
opt=-O1; [ "$mode" = cpu ] && opt=-O3
cmake_args=(-S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTCPP_BUILD_TESTS=ON
  "-DCMAKE_CXX_FLAGS_RELEASE=${TCPP_GPU_CHECK_OPT:-$opt} -DNDEBUG")
prefixes=()
if [ "$mode" = cuda ]; then
  torch_prefix=$("$py" -c 'import torch;print(torch.utils.cmake_prefix_path)')
  prefixes+=("$torch_prefix")
  site=$("$py" -c 'import os,torch;print(os.path.dirname(os.path.dirname(torch.__file__)))')
  # NCCL's header comes with the wheel's nvidia-nccl package (nvidia/nccl/include or nvidia/cu*/include).
  nccl_h=$(find "$site/nvidia" -name nccl.h -path '*include*' 2>/dev/null | head -1)
  if [ -n "$nccl_h" ]; then cmake_args+=(-DTCPP_NCCL_INCLUDE_DIR="$(dirname "$nccl_h")"); fi
  echo "torch prefix: $torch_prefix; nccl.h: ${nccl_h:-not found}" >> "$cfglog"
  if command -v nvcc >/dev/null; then
    cmake_args+=(-DCMAKE_CUDA_COMPILER="$(command -v nvcc)")
    cuda_root=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")
    cmake_args+=(-DCUDAToolkit_ROOT="$cuda_root")
  fi
  # Only Hopper is there: skip torch's architecture probing.
  cmake_args+=(-DTORCH_CUDA_ARCH_LIST=9.0 -DCMAKE_CUDA_ARCHITECTURES=90)
fi
deps=$repo/.gpu-deps/root
deps_prefix=""  # set below when the unpacked Debian packages are used
if [ "$use_gpu_deps" = 1 ] && [ -d "$deps/usr" ]; then
  # The Debian packages unpacked by gpu_prepare.sh: their .pc files name /usr, rewritten to this copy.
  pcdir=$build/gpu-deps-pkgconfig
  rm -rf "$pcdir"; mkdir -p "$pcdir"
  for pc in "$deps"/usr/lib/x86_64-linux-gnu/pkgconfig/*.pc "$deps"/usr/share/pkgconfig/*.pc; do
    [ -f "$pc" ] || continue
    # (Debian's libzstd.pc says libdir=${exec_prefix}/lib: its library is in the multiarch folder.)
    sed -E -e "s#^(prefix|libdir|includedir|exec_prefix)=/usr#\1=$deps/usr#" \
      -e 's#^libdir=\$\{(exec_prefix|prefix)\}/lib$#libdir=${\1}/lib/x86_64-linux-gnu#' "$pc" > "$pcdir/$(basename "$pc")"
  done
  export PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH=$pcdir
  # Our pkgconf, with its libpkgconf (CMake would otherwise pick $deps/usr/bin/pkg-config, which needs it too).
  cat > "$build/pkg-config" <<EOF
#!/bin/sh
LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$deps/usr/bin/pkgconf" "\$@"
EOF
  chmod +x "$build/pkg-config"
  cmake_args+=(-DPKG_CONFIG_EXECUTABLE="$build/pkg-config")
  cmake_args+=(-DTCPP_FLATC="$deps/usr/bin/flatc")
  prefixes+=("$deps/usr")
  deps_prefix=$deps/usr
  echo "using .gpu-deps/root: $(head -1 "$deps/MANIFEST" 2>/dev/null)" >> "$cfglog"
elif [ "$mode" = cuda ]; then
  echo "no .gpu-deps/root: run scripts/gpu_prepare.sh on the Debian machine and carry .gpu-deps/root" >> "$cfglog"
fi
if [ ${#prefixes[@]} -gt 0 ]; then cmake_args+=(-DCMAKE_PREFIX_PATH="$(IFS=';'; echo "${prefixes[*]}")"); fi
rm -f "$build/CMakeCache.txt"  # options of an earlier mode or machine must not stick
cache_value() { grep -m1 "^$1:" "$build/CMakeCache.txt" | cut -d= -f2-; }
configured=0 torch_from="TorchConfig"
# LibTorch from its folder, without TorchConfig.cmake (cmake/TcppTorchFromRoot.cmake), with the wheel's CUDA headers.
configure_from_root() {  # torch_root
  local cuda_includes="" abi=1 a
  if [ -d "${site:-}/nvidia" ]; then
    cuda_includes=$(find "$site/nvidia" -maxdepth 3 -type d -name include 2>/dev/null | sort | paste -sd';')
  fi
  abi=$("$py" -c 'import torch;print(int(torch.compiled_with_cxx11_abi()))' 2>/dev/null || echo 1)
  local root_args=()
  for a in "${cmake_args[@]}"; do
    case "$a" in
      -DCMAKE_CUDA_*|-DCUDAToolkit_ROOT=*|-DTORCH_CUDA_ARCH_LIST=*|-DCMAKE_PREFIX_PATH=*) ;;
      *) root_args+=("$a") ;;
    esac
  done
  [ -n "$deps_prefix" ] && root_args+=(-DCMAKE_PREFIX_PATH="$deps_prefix")  # the same, less torch's config
  root_args+=(-DTCPP_TORCH_ROOT="$1" -DTCPP_TORCH_CXX11_ABI="$abi" -DTCPP_CUDA_INCLUDE_DIRS="$cuda_includes")
  rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
  boxed 120 "$cfglog" cmake "${root_args[@]}" || return 1
  cmake_args=("${root_args[@]}")  # the build stage's reconfigure without a backend reuses them
}
if [ -n "$torch_root" ]; then
  configure_from_root "$torch_root" && configured=1 torch_from="--torch-root"
elif boxed 240 "$cfglog" cmake "${cmake_args[@]}"; then configured=1
elif [ "$mode" = cuda ]; then
  # The wheel's TorchConfig insists on the CUDA toolkit (nvcc, and a host compiler that nvcc accepts), which the
  # machine may lack or have in a version that refuses its compiler; nothing of ours is compiled by nvcc.
  echo "==== TorchConfig failed: once more with TCPP_TORCH_ROOT=$site/torch (no CUDA toolkit needed)" >> "$cfglog"
  tail -40 "$build/CMakeFiles/CMakeError.log" >> "$cfglog" 2>/dev/null
  configure_from_root "$site/torch" && configured=1 torch_from="TCPP_TORCH_ROOT: TorchConfig failed (configure.log)"
fi
if [ "$configured" = 1 ]; then
  record configure PASS "LibTorch $(cache_value Torch_DIR)$(cache_value TCPP_TORCH_ROOT) by $torch_from;\
 nccl.h $(cache_value TCPP_NCCL_INCLUDE_DIR); gloo $(cache_value TCPP_GLOO_INCLUDE_DIR)"
  {
    echo "==== where the dependencies were found"
    for v in Torch_DIR TCPP_TORCH_ROOT GTest_DIR nlohmann_json_DIR FlatBuffers_DIR TCPP_FLATC PKG_CONFIG_EXECUTABLE \
             TCPP_NCCL_INCLUDE_DIR \
             TCPP_NCCL_LIBRARY TCPP_GLOO_INCLUDE_DIR TCPP_GLOO_LIBRARY; do echo "$v=$(cache_value "$v")"; done
    grep -E '^(PCRE2|UTF8PROC|XXHASH|ZSTD|SNAPPY|ZLIB|BROTLIDEC|LZ4)_(INCLUDEDIR|LIBDIR|LINK_LIBRARIES):' "$build/CMakeCache.txt"
  } >> "$cfglog"
  [ "$configure_only" = 1 ] && finish
else
  record configure FAIL "cmake failed (configure.log; CMakeFiles/CMakeError.log tail appended)"
  tail -60 "$build/CMakeFiles/CMakeError.log" >> "$cfglog" 2>/dev/null
  finish
fi

# -------------------------------------------------------------------------------------------------------- build
buildlog=$out/build.log
: > "$buildlog"
b0=$SECONDS
targets=(tcpp run_clm cuda_test)
first_errors() {  # keep the first compiler/linker errors visible at the end of the log too
  { echo "==== first errors"; grep -m20 -B2 -A6 -E 'error:|undefined reference' "$buildlog"; } > "$buildlog.tmp" 2>/dev/null
  cat "$buildlog.tmp" >> "$buildlog"; rm -f "$buildlog.tmp"
}
if boxed 420 "$buildlog" cmake --build "$build" -j"$jobs" --target "${targets[@]}"; then
  record build PASS "${targets[*]} in $((SECONDS - b0)) s with -j$jobs"
else
  first_errors
  # c10d's Gloo/NCCL headers are the least certain part of a LibTorch 2.x build (process_group.cpp alone includes
  # them): when they broke it, build once more without that backend so the other stages still run.
  off=""
  if grep -q -E "undefined reference to .*gloo|gloo/[a-z_/]+\.h.*(error|No such file)" "$buildlog"; then off=GLOO
  elif grep -q "process_group.cpp" <(grep -E 'FAILED:' "$buildlog"); then off=NCCL; fi
  if [ -n "$off" ]; then
    record build FAIL "with the $off backend after $((SECONDS - b0)) s (build.log ends with the first errors); retrying without it"
    echo "==== retry without $off" >> "$buildlog"
    boxed 60 "$buildlog" cmake "${cmake_args[@]}" -DTCPP_${off}_INCLUDE_DIR=TCPP_${off}_INCLUDE_DIR-NOTFOUND &&
      boxed 300 "$buildlog" cmake --build "$build" -j"$jobs" --target "${targets[@]}"
    if [ $? -eq 0 ]; then record build-2 PASS "${targets[*]} without $off in $((SECONDS - b0)) s"
    else first_errors; record build-2 FAIL "without $off too (build.log)"; finish; fi
  else
    record build FAIL "after $((SECONDS - b0)) s (build.log ends with the first errors)"
    finish
  fi
fi
tcpp=$build/tools/tcpp
run_clm=$build/examples/run_clm

# --------------------------------------------------------------------------------------------------------- unit
unitlog=$out/unit.log
: > "$unitlog"
if boxed 150 "$unitlog" "$build/tests/unit/cuda/cuda_test" --gtest_color=no; then
  # Per-test lines end with their time; gtest's closing list repeats the skipped names without it.
  passed=$(grep -c -E '^\[       OK \] .* \([0-9]+ ms\)$' "$unitlog")
  skipped=$(grep -c -E '^\[  SKIPPED \] .* \([0-9]+ ms\)$' "$unitlog")
  if [ "$mode" = cpu ]; then
    record unit SKIP "cuda_test: $passed passed, $skipped skipped (no CUDA device)"
  elif [ "$skipped" -gt 0 ]; then
    record unit FAIL "cuda_test: $passed passed but $skipped skipped on a GPU machine (unit.log)"
  else
    record unit PASS "cuda_test: $passed passed (models on CUDA = CPU, autocast, GradScaler, FusedAdamW, NCCL rank 1)"
  fi
else
  record unit FAIL "cuda_test: $(grep -c '^\[  FAILED  \]' "$unitlog") failed lines (unit.log)"
fi

# -------------------------------------------------------------------------------------------------------- train
trainlog=$out/train.log
: > "$trainlog"
data=$work/data
mkdir -p "$data"
# A small English corpus that travels with the repository: its own documentation, one paragraph line per line.
cat "$repo"/README.md "$repo"/docs/*.md | tr -s ' ' | grep -v '^\s*$' > "$data/all.txt"
total=$(wc -l < "$data/all.txt")
head -n $((total * 9 / 10)) "$data/all.txt" > "$data/train.txt"
tail -n +$((total * 9 / 10 + 1)) "$data/all.txt" > "$data/validation.txt"
boxed 60 "$trainlog" "$tcpp" tokenizer train --model bpe --files "$data/train.txt" --vocab_size 1024 --min_frequency 2 \
  --special_tokens '<|endoftext|>' --output "$work/tok"
tok_rc=$?
steps=60
[ "$mode" = cpu ] && steps=20
clm_common=(--model_type gpt2
  --config_overrides "n_embd=128,n_layer=2,n_head=4,n_positions=128,vocab_size=1024,bos_token_id=0,eos_token_id=0"
  --tokenizer_name "$work/tok" --train_file "$data/train.txt" --validation_file "$data/validation.txt"
  --block_size 64 --per_device_train_batch_size 16 --per_device_eval_batch_size 16 --learning_rate 3e-3
  --warmup_steps 5 --logging_steps 5 --save_strategy no --report_to none --seed 42 --disable_tqdm true
  --do_train --do_eval --max_eval_samples 64 --overwrite_output_dir)
# "first last n_finite n_logged device" from trainer_state.json and the run's log.
loss_curve() {  # output_dir run_log
  "$py" - "$1/trainer_state.json" "$2" <<'EOF'
import json, math, re, sys
state = json.load(open(sys.argv[1]))
losses = [e["loss"] for e in state["log_history"] if "loss" in e]
finite = [l for l in losses if isinstance(l, (int, float)) and math.isfinite(l)]
text = open(sys.argv[2], errors="replace").read()
m = re.findall(r"Device = (\S+)", text)
print(losses[0] if losses else "nan", losses[-1] if losses else "nan", len(finite), len(losses), m[-1] if m else "?")
EOF
}
if [ $tok_rc -ne 0 ]; then
  record train FAIL "tcpp tokenizer train failed (train.log)"
else
  precisions=(fp32 bf16 fp16)
  for prec in "${precisions[@]}"; do
    flags=()
    [ "$prec" = fp32 ] && flags=(--skip_memory_metrics false)  # HF's *_mem_gpu_* metrics (see mem-gpu below)
    [ "$prec" = bf16 ] && flags=(--bf16)
    [ "$prec" = fp16 ] && flags=(--fp16)
    o=$work/clm-$prec
    runlog=$work/clm-$prec.log
    echo "==== run_clm $prec" >> "$trainlog"
    if [ "$mode" = cpu ] && [ "$prec" = fp16 ]; then
      # fp16 needs CUDA: the CPU build must refuse it with a clear message.
      boxed 60 "$runlog" "$run_clm" "${clm_common[@]}" --max_steps 2 --output_dir "$o" "${flags[@]}"
      rc=$?
      cat "$runlog" >> "$trainlog"
      if [ $rc -ne 0 ] && grep -q "fp16 mixed precision needs a CUDA device" "$runlog"; then
        record "train-$prec" SKIP "no CUDA: refused as expected (\"fp16 mixed precision needs a CUDA device\")"
      else
        record "train-$prec" FAIL "expected the CUDA-only refusal, rc=$rc (train.log)"
      fi
      continue
    fi
    t0=$SECONDS
    boxed 120 "$runlog" "$run_clm" "${clm_common[@]}" --max_steps $steps --output_dir "$o" "${flags[@]}"
    rc=$?
    cat "$runlog" >> "$trainlog"
    if [ $rc -ne 0 ]; then
      record "train-$prec" FAIL "run_clm exited $rc after $((SECONDS - t0)) s (train.log)"
      continue
    fi
    read -r first last nfinite nlogged device < <(loss_curve "$o" "$runlog")
    want_device=cuda; [ "$mode" = cpu ] && want_device=cpu
    ok=$("$py" -c "import math,sys; f,l=float('$first'),float('$last'); print(int(math.isfinite(f) and math.isfinite(l) and l < f and $nfinite == $nlogged))")
    detail="loss $first -> $last over $steps steps ($nfinite/$nlogged logged losses finite), device $device, $((SECONDS - t0)) s"
    [ "$prec" = fp16 ] && detail+=", $(grep -c 'gradient overflow, step skipped' "$runlog") steps skipped by the loss scaler"
    if [ "$ok" = 1 ] && [[ "$device" == $want_device* ]]; then record "train-$prec" PASS "$detail"
    else record "train-$prec" FAIL "$detail"; fi
    if [ "$prec" = fp32 ]; then
      # The fp32 run measured memory: on CUDA its train_results.json has HF's GPU keys (LibTorch >= 2.9).
      mem=$("$py" -c "import json,sys; m=json.load(open(sys.argv[1])); print(' '.join(f'{k}={int(m[k])}' for k in
        ('train_mem_gpu_alloc_delta','train_mem_gpu_peaked_delta','before_init_mem_gpu') if k in m))" \
        "$o/train_results.json" 2>/dev/null)
      if [ "$mode" = cpu ]; then
        if [ -z "$mem" ]; then record mem-gpu SKIP "no CUDA: no *_mem_gpu_* keys, as HF on a CPU machine"
        else record mem-gpu FAIL "GPU memory keys without a GPU: $mem"; fi
      elif [[ "$mem" == *train_mem_gpu_peaked_delta=* ]] && [[ "$mem" == *before_init_mem_gpu=* ]]; then
        record mem-gpu PASS "$mem"
      else
        record mem-gpu FAIL "train_results.json lacks HF's GPU memory keys (got: ${mem:-none})"
      fi
    fi
  done
fi

# ------------------------------------------------------------------------------------------------------ interop
interlog=$out/interop.log
: > "$interlog"
# A saved, tokenized and grouped dataset for pyarrow (tcpp prepare, as run_clm's cache).
boxed 60 "$interlog" "$tcpp" prepare --model_type gpt2 --tokenizer_name "$work/tok" --train_file "$data/train.txt" \
  --validation_file "$data/validation.txt" --block_size 64 --output "$work/prepared"
interop_args=(--tcpp "$tcpp" --work "$work/interop" --tokenizer "$work/tok" --text "$data/validation.txt"
  --dataset "$work/prepared")
[ -d "$work/clm-bf16" ] && interop_args+=(--trained "$work/clm-bf16")
boxed 180 "$interlog" env PYTHONUNBUFFERED=1 "$py" "$repo/scripts/gpu_interop.py" "${interop_args[@]}"
irc=$?
while read -r st name rest; do
  record interop "$st" "$name: $rest"
done < <(grep -E '^(PASS|FAIL|SKIP) ' "$interlog")
if [ $irc -ne 0 ] && ! grep -q '^FAIL ' "$interlog"; then record interop FAIL "gpu_interop.py exited $irc (interop.log)"; fi

# --------------------------------------------------------------------------------------------------------- nccl
nccllog=$out/nccl.log
: > "$nccllog"
if [ "$mode" = cpu ]; then
  record nccl SKIP "no CUDA: NCCL needs a GPU (the 2-rank Gloo run below covers the launcher)"
else
  if grep -q 'NcclProcessGroupOfOneRankRunsEveryCollective' "$unitlog" && grep -q '^\[       OK \] CudaTest.NcclProcessGroupOfOneRankRunsEveryCollective' "$unitlog"; then
    record nccl-1 PASS "one rank over NCCL: all_reduce/max/async, broadcast, all_gather, bytes, padded gather, barrier (unit)"
  else
    record nccl-1 FAIL "the one-rank NCCL unit test did not pass (unit.log)"
  fi
  echo "==== 2 ranks, NCCL, one GPU" >> "$nccllog"
  boxed 90 "$nccllog" "$tcpp" launch --nproc_per_node 2 --standalone --grace_seconds 5 -- "$run_clm" "${clm_common[@]}" \
    --max_steps 10 --ddp_backend nccl --output_dir "$work/ddp-nccl"
  rc=$?
  if [ $rc -eq 0 ]; then
    record nccl-2 PASS "2 ranks over NCCL on one GPU trained 10 steps"
  elif grep -q -i -E 'duplicate GPU|same (CUDA )?device|ncclInvalidUsage' "$nccllog"; then
    record nccl-2 NOTE "NCCL refuses 2 ranks on one GPU, as expected ($(grep -m1 -i -o -E 'duplicate GPU[^.]*|ncclInvalidUsage[^.]*' "$nccllog"))"
  else
    record nccl-2 FAIL "2 ranks over NCCL exited $rc without NCCL's one-GPU refusal (nccl.log)"
  fi
fi
if grep -q 'TCPP_GLOO_INCLUDE_DIR:PATH=.*NOTFOUND' "$build/CMakeCache.txt" 2>/dev/null; then
  record gloo-2 SKIP "gloo headers not found at configure time: no Gloo backend in this build"
else
  echo "==== 2 ranks, Gloo ($mode tensors)" >> "$nccllog"
  boxed 150 "$nccllog" "$tcpp" launch --nproc_per_node 2 --standalone --grace_seconds 5 -- "$run_clm" "${clm_common[@]}" \
    --max_steps 6 --ddp_backend gloo --output_dir "$work/ddp-gloo"
  rc=$?
  if [ $rc -eq 0 ]; then record gloo-2 PASS "2 ranks over Gloo ($mode) trained 6 steps"
  else record gloo-2 FAIL "2 ranks over Gloo exited $rc (nccl.log)"; fi
fi

finish
